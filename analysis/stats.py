"""Group statistics across participants (scipy), as documented on the book's methods page.

- paired comparisons (model A vs model B, per region or per vertex): two-sided Wilcoxon
  signed-rank test across participants;
- maps against zero: one-sample Wilcoxon signed-rank test across participants (one-sided,
  score > 0, by default), corrected over vertices by Benjamini–Hochberg FDR;
- bars: percentile bootstrap confidence interval of the mean over participants;
- stars: ``****`` p < 1e-4, ``***`` < 1e-3, ``**`` < 1e-2, ``*`` < 0.05, else ``n.s.``.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

# Tied targets (vertices) tested per call of scipy's Wilcoxon test. Where any target of a
# call has tied or zero values, scipy computes the p-value of every target of the call by a
# permutation test over all 2^n sign flips, holding arrays of shape (2^n, 2, targets): 12
# participants and 20,484 vertices in one call took 23.7 GB and killed Figure 4's kernel
# (demo world, seed 1).
TARGETS_PER_TEST = 512


def _wilcoxon(x: np.ndarray, alternative: str) -> np.ndarray:
    """scipy's Wilcoxon signed-rank p-values of ``x`` against 0 along axis 0: for a 2-D
    ``x``, the targets without ties or zeros in one call (the exact test), those with ties
    :data:`TARGETS_PER_TEST` at a time (the same p-values, bounded memory)."""
    def test(values):
        return stats.wilcoxon(values, axis=0, alternative=alternative,
                              nan_policy="omit").pvalue

    if x.ndim < 2:
        return test(x)
    size = np.sort(np.abs(x), axis=0)  # NaN last: never equal to a neighbour
    tied = (np.diff(size, axis=0) == 0).any(axis=0) | (size[0] == 0)
    p = np.empty(x.shape[1])
    if (~tied).any():
        p[~tied] = test(x[:, ~tied])
    columns = np.flatnonzero(tied)
    for start in range(0, len(columns), TARGETS_PER_TEST):
        chunk = columns[start:start + TARGETS_PER_TEST]
        p[chunk] = test(x[:, chunk])
    return p


def paired_test(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sided Wilcoxon signed-rank p-values of ``a`` vs ``b`` across participants.

    Parameters
    ----------
    a, b : arrays of shape (n_participants,) or (n_participants, n_targets)

    Returns
    -------
    p-value, a float or an array of shape (n_targets,)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_test: shapes {a.shape} and {b.shape} differ.")
    return _wilcoxon(a - b, "two-sided")


def one_sample_test(x: np.ndarray, alternative: str = "greater") -> np.ndarray:
    """Wilcoxon signed-rank p-values of ``x`` against 0 across participants (axis 0)."""
    return _wilcoxon(np.asarray(x, dtype=float), alternative)


def fdr(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (scipy's ``false_discovery_control``) of any
    shape; NaN entries stay NaN and do not count as tests."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = stats.false_discovery_control(p[finite], method="bh")
    return out


def bootstrap_ci(x: np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (shape (n_participants,))."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (float("nan"), float("nan"))
    result = stats.bootstrap((x,), np.mean, confidence_level=confidence,
                             n_resamples=n_resamples, method="percentile",
                             random_state=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def stars(p: float) -> str:
    """Significance label of a p-value."""
    if not np.isfinite(p):
        return "n.s."
    for threshold, label in ((1e-4, "****"), (1e-3, "***"), (1e-2, "**"), (0.05, "*")):
        if p < threshold:
            return label
    return "n.s."
