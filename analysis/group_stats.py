"""Group statistics for the figures: region means with bootstrap intervals and paired tests,
maps thresholded by FDR, and the map of most specific contrasts (Figure 4D).

Statistics follow :mod:`analysis.stats` (documented on the methods page): paired two-sided
Wilcoxon signed-rank tests across participants for model comparisons, one-sided Wilcoxon
tests against zero corrected by Benjamini–Hochberg FDR over vertices for maps, percentile
bootstrap intervals of the mean over participants for bars.

With few participants the exact Wilcoxon test cannot reach small p-values at all (3
participants: the smallest one-sided p is 1/8); :func:`min_attainable_p` says so, and the
notebooks print it rather than letting an empty map pass for a negative result.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import stats

# Figure 4D: (label, more specific model, less specific model); None means "against zero".
CONTRASTS: tuple[tuple[str, str, str | None], ...] = (
    ("language-specific", "native", "non-native"),
    ("speech-specific", "non-native", "non-speech"),
    ("sound-generic", "non-speech", "random"),
    ("random > 0", "random", None),
)
CONTRAST_LABELS = tuple(label for label, _, _ in CONTRASTS)

def region_means(scores: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mean score of each region for each participant.

    Parameters
    ----------
    scores : array of shape (n_participants, n_vertices)
    masks : region name -> boolean array of shape (n_vertices,)

    Returns
    -------
    region name -> array of shape (n_participants,)
    """
    scores = np.asarray(scores, dtype=float)
    out = {}
    for name, mask in masks.items():
        if mask.shape != scores.shape[1:]:
            raise ValueError(f"masks[{name!r}] has shape {mask.shape}; the scores have "
                             f"{scores.shape[1]} vertices.")
        if not mask.any():
            raise ValueError(f"masks[{name!r}] selects no vertex.")
        out[name] = np.nanmean(scores[:, mask], axis=1)
    return out


def summarize_regions(maps: dict[str, np.ndarray], masks: dict[str, np.ndarray],
                      comparisons: list[tuple[str, str]], seed: int = 0) -> tuple[
                          pd.DataFrame, pd.DataFrame]:
    """Bars and stars: per-region means with bootstrap intervals, and paired tests.

    Parameters
    ----------
    maps : model label -> array of shape (n_participants, n_vertices), the same
        participants in the same order for every model
    masks : region name -> boolean array of shape (n_vertices,); ``"whole brain"`` may be
        one of them
    comparisons : pairs of model labels to test in every region
    seed : seed of the bootstrap

    Returns
    -------
    bars : DataFrame with columns ``region, model, mean, ci_low, ci_high, n``
    tests : DataFrame with columns ``region, a, b, mean_a, mean_b, p, stars``
    """
    shapes = {label: np.shape(m) for label, m in maps.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"maps: every model needs the same participants and vertices; got "
                         f"shapes {shapes}.")
    for a, b in comparisons:
        for label in (a, b):
            if label not in maps:
                raise ValueError(f"comparisons: {label!r} is not among the models "
                                 f"{list(maps)}.")
    per_model = {label: region_means(m, masks) for label, m in maps.items()}
    bars, tests = [], []
    for region in masks:
        for label, values in per_model.items():
            low, high = stats.bootstrap_ci(values[region], seed=seed)
            bars.append({"region": region, "model": label,
                         "mean": float(np.nanmean(values[region])), "ci_low": low,
                         "ci_high": high, "n": int(np.isfinite(values[region]).sum())})
        for a, b in comparisons:
            x, y = per_model[a][region], per_model[b][region]
            p = float(stats.paired_test(x, y)) if len(x) > 1 else float("nan")
            tests.append({"region": region, "a": a, "b": b, "mean_a": float(np.nanmean(x)),
                          "mean_b": float(np.nanmean(y)), "p": p, "stars": stats.stars(p)})
    return pd.DataFrame(bars), pd.DataFrame(tests)


def successive(order) -> list[tuple[str, str]]:
    """Each model against the next one of ``order``: ``[(order[0], order[1]), ...]``, the
    comparisons of Figure 4's bars."""
    order = list(order)
    return list(zip(order[:-1], order[1:]))


def summarize_contrasts(by_contrast: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame,
                                                                             pd.DataFrame]:
    """Bars and stars of ABX accuracies (Figure 4B), the contrasts taking the place of
    participants: mean over contrasts with a bootstrap interval over contrasts, and paired
    tests across contrasts of each condition against the next.

    Parameters
    ----------
    by_contrast : DataFrame of shape (n_contrasts, n_conditions), one column per condition
        in the order compared (:func:`analysis.abx.accuracy_by_contrast`)
    seed : seed of the bootstrap

    Returns
    -------
    bars, tests : as :func:`summarize_regions`, with one region, ``"ABX"``
    """
    order = list(by_contrast.columns)
    return summarize_regions({c: by_contrast[[c]].to_numpy() for c in order},
                             {"ABX": np.array([True])}, successive(order), seed=seed)


def records(bars: pd.DataFrame, tests: pd.DataFrame) -> dict[str, list[dict]]:
    """``{"bars": [...], "tests": [...]}``: the rows of :func:`summarize_regions`'s tables,
    as a figure's JSON records them."""
    return {"bars": bars.to_dict("records"), "tests": tests.to_dict("records")}


def min_attainable_p(n: int, alternative: str = "greater") -> float:
    """Smallest p-value an exact Wilcoxon signed-rank test can give with ``n`` participants
    (no zero differences): ``2**-n`` one-sided, ``2**(1-n)`` two-sided."""
    if n < 1:
        return float("nan")
    return float(2.0 ** -n if alternative != "two-sided" else 2.0 ** (1 - n))


def can_reach(n: int, alpha: float) -> bool:
    """Whether ``n`` participants can give a one-sided Wilcoxon p-value below ``alpha``."""
    return min_attainable_p(n) < alpha


def map_status(q: np.ndarray, n: int, alpha: float) -> str:
    """What a thresholded map shows: how many vertices pass FDR ``alpha``, or why none can
    with ``n`` participants."""
    if not can_reach(n, alpha):
        return (f"with {n} participants the smallest p-value a Wilcoxon test can give is "
                f"{min_attainable_p(n):.3g} (one-sided): no vertex can pass, so the map is "
                "shown unthresholded, and every star is 'n.s.'")
    return f"{int((q < alpha).sum())} of {len(q)} vertices significant (FDR q < {alpha})"


def region_table(scores: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean score over all vertices and over each region's, participants pooled.

    Parameters
    ----------
    scores : array of shape (n_participants, n_vertices)
    masks : region name -> boolean array of shape (n_vertices,)

    Returns
    -------
    ``{"all vertices": mean, region: mean, ...}``
    """
    return {"all vertices": float(np.nanmean(scores)),
            **{name: float(np.nanmean(scores[:, mask])) for name, mask in masks.items()}}


BESIDE_SCORE = "score (each participant's layer)"  # beside_ceiling's column of model scores


def beside_ceiling(scores: np.ndarray, ceilings: np.ndarray,
                   masks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Each region's mean score beside its noise ceiling (Figure 3's table).

    Parameters
    ----------
    scores : array of shape (n_participants, n_vertices), each participant's score at its
        layer (:func:`analysis.layers.layer_map`)
    ceilings : array of shape (n_participants, n_vertices), from
        :func:`analysis.scores.noise_ceilings`
    masks : region name -> boolean array of shape (n_vertices,)

    Returns
    -------
    DataFrame indexed by ``"all vertices"`` then each region, with columns
    :data:`BESIDE_SCORE` and ``"noise ceiling"`` (means as :func:`region_table`)
    """
    return pd.DataFrame({BESIDE_SCORE: region_table(scores, masks),
                         "noise ceiling": region_table(ceilings, masks)})


def significant_map(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean map over participants and its FDR-corrected one-sided test against zero.

    Parameters
    ----------
    scores : array of shape (n_participants, n_vertices)

    Returns
    -------
    mean : array of shape (n_vertices,)
    q : array of shape (n_vertices,), Benjamini–Hochberg adjusted p-values (NaN where a
        vertex has no score)
    """
    scores = np.asarray(scores, dtype=float)
    mean = np.nanmean(scores, axis=0)
    p = np.full(scores.shape[1], np.nan)
    fitted = np.isfinite(scores).all(axis=0)
    if len(scores) > 1 and fitted.any():
        with warnings.catch_warnings():  # a vertex with all-zero differences gives NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            p[fitted] = stats.one_sample_test(scores[:, fitted])
    return mean, stats.fdr(p)


@dataclass(frozen=True)
class ThresholdedMap:
    """A mean map over participants, tested against zero and thresholded at FDR ``alpha``
    (Figure 2A).

    Attributes
    ----------
    mean, q : arrays of shape (n_vertices,), from :func:`significant_map`
    alpha : FDR level
    n : number of participants
    """

    mean: np.ndarray
    q: np.ndarray
    alpha: float
    n: int

    @property
    def testable(self) -> bool:
        """Whether ``n`` participants can reach ``alpha`` at all (:func:`can_reach`)."""
        return can_reach(self.n, self.alpha)

    @property
    def shown(self) -> np.ndarray:
        """What the map shows, shape (n_vertices,): the mean where ``q < alpha`` (NaN
        elsewhere), or the whole mean when no vertex can pass."""
        return np.where(self.q < self.alpha, self.mean, np.nan) if self.testable else self.mean

    @property
    def label(self) -> str:
        """How the map is thresholded, for its title."""
        if self.testable:
            return f"FDR q < {self.alpha}; grey: not significant"
        return f"unthresholded: {self.n} participants cannot reach p < {self.alpha}"

    @property
    def n_significant(self) -> int:
        """Vertices with ``q < alpha``."""
        return int((self.q < self.alpha).sum())


def threshold_map(scores: np.ndarray, alpha: float = 0.05) -> ThresholdedMap:
    """Mean map of ``scores`` (shape (n_participants, n_vertices)), its FDR-corrected test
    against zero, and what the figure shows of it at level ``alpha``."""
    mean, q = significant_map(scores)
    return ThresholdedMap(mean, q, alpha, len(scores))


@dataclass(frozen=True)
class ContrastMap:
    """Each vertex's most specific significant contrast (Figure 4D).

    Attributes
    ----------
    codes : int array of shape (n_vertices,): index into ``labels``, -1 where none holds
    q : contrast label -> array of shape (n_vertices,) of adjusted p-values
    labels : the contrasts' labels, most specific first
    alpha : FDR level
    n : number of participants
    """

    codes: np.ndarray
    q: dict[str, np.ndarray]
    labels: tuple[str, ...]
    alpha: float
    n: int

    @property
    def label(self) -> str:
        """The test behind the map, and why it is empty when no vertex can pass."""
        return f"FDR q < {self.alpha}" + ("" if can_reach(self.n, self.alpha) else
                                          f"; none can pass with {self.n} participants")

    def status(self) -> str:
        """What the map shows: the vertices each contrast colours (its most specific
        significant one), or why none can pass (:func:`map_status`)."""
        if not can_reach(self.n, self.alpha):
            return map_status(self.q[self.labels[0]], self.n, self.alpha)
        counts = ", ".join(f"{label} {int((self.codes == i).sum())}"
                           for i, label in enumerate(self.labels))
        return (f"vertices coloured by each contrast (FDR q < {self.alpha}): {counts}, of "
                f"{len(self.codes)}")

    @property
    def share(self) -> dict[str, float]:
        """Share of all vertices (0-1) whose most specific contrast is each label."""
        return {label: float((self.codes == i).mean()) for i, label in enumerate(self.labels)}

    def numbers(self) -> dict:
        """The map as the figure's JSON records it."""
        return {"labels": list(self.labels), "code_per_vertex": self.codes, "share": self.share,
                "q_per_vertex": self.q}


def contrast_map(maps: dict[str, np.ndarray], alpha: float = 0.05,
                 contrasts=CONTRASTS) -> ContrastMap:
    """Each vertex's most specific significant contrast (Figure 4D).

    Every contrast ``(label, a, b)`` is a one-sided Wilcoxon test across participants of
    ``a > b`` (``b`` None: ``a > 0``), FDR-corrected over vertices; a vertex gets the first
    contrast of ``contrasts`` (most specific first) that is significant there.

    Parameters
    ----------
    maps : condition -> array of shape (n_participants, n_vertices), with every condition
        the contrasts name
    alpha : FDR level

    Returns
    -------
    ContrastMap : the code of each vertex (index into ``contrasts``, -1 where none holds),
        each contrast's adjusted p-values, and the share of vertices each claims
    """
    needed = {name for _, a, b in contrasts for name in (a, b) if name is not None}
    missing = sorted(needed - set(maps))
    if missing:
        raise ValueError(f"maps lacks the conditions {missing} that the contrasts compare.")
    n_vertices = np.shape(next(iter(maps.values())))[1]
    codes = np.full(n_vertices, -1)
    q = {}
    for i, (label, a, b) in enumerate(contrasts):
        diff = np.asarray(maps[a], dtype=float) - (0.0 if b is None else np.asarray(maps[b]))
        _, q[label] = significant_map(diff)
        codes[(codes == -1) & (q[label] < alpha)] = i
    return ContrastMap(codes, q, tuple(label for label, _, _ in contrasts), alpha,
                       int(np.shape(next(iter(maps.values())))[0]))
