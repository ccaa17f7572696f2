"""Group summaries of brain scores for the figures: layer choice, each region's layer profile,
each vertex's best layer and the share of each region each layer wins, region means with
bootstrap intervals and paired tests, thresholded maps, and the map of most specific contrasts
(the table of the paper's numbers beside this run's is :func:`analysis.figures.comparison_table`).

Statistics follow :mod:`analysis.stats` (documented on the methods page): paired two-sided
Wilcoxon signed-rank tests across participants for model comparisons, one-sided Wilcoxon
tests against zero corrected by Benjamini–Hochberg FDR over vertices for maps, percentile
bootstrap intervals of the mean over participants for bars.

With few participants the exact Wilcoxon test cannot reach small p-values at all (3
participants: the smallest one-sided p is 1/8); :func:`min_attainable_p` says so, and the
notebooks print it rather than letting an empty map pass for a negative result.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from analysis import stats
from analysis.pipeline import LayerScores

log = logging.getLogger(__name__)

# The paper's numbers (read off its figures, about ±0.002; docs/paper.md).
PAPER_FIG2 = {
    "B": {"A1+A2": {"random": 0.087, "trained": 0.10}, "STG": {"random": 0.044, "trained": 0.059},
          "STS": {"random": 0.028, "trained": 0.042}, "IFG": {"random": 0.021, "trained": 0.033}},
    "C": {"untrained": 0.023, "supervised": 0.031, "self-supervised": 0.033},
    "C_p": {"untrained vs supervised": "<1e-46", "supervised vs self-supervised": "<1e-6"},
}
PAPER_FIG4 = {
    "A": {"native": 0.61, "non-native": 0.56},
    "B": {"native": 0.85, "non-native": 0.84, "non-speech": 0.73, "random": 0.55},
    "C": {"A1+A2": {"native": 0.187, "non-native": 0.185, "non-speech": 0.176, "random": 0.157},
          "STS": {"native": 0.069, "non-native": 0.065, "non-speech": 0.059, "random": 0.046},
          "IFG": {"native": 0.039, "non-native": 0.037, "non-speech": 0.034, "random": 0.026},
          "motor": {"native": 0.020, "non-native": 0.019, "non-speech": 0.018,
                    "random": 0.015}},
}

PAPER_FIG3 = {
    "B": {"peak_layer": 13, "peak_mean_r": 0.0265, "convolutional": (0.011, 0.018),
          "transformer": (0.018, 0.027)},
    # modal best layer of each region and its share of the region's voxels (%)
    "C": {"A1+A2": (7, 67), "STG": (13, 38), "STS": (13, 54), "IFG": (13, 34)},
}

# Figure 4D: (label, more specific model, less specific model); None means "against zero".
CONTRASTS: tuple[tuple[str, str, str | None], ...] = (
    ("language-specific", "native", "non-native"),
    ("speech-specific", "non-native", "non-speech"),
    ("sound-generic", "non-speech", "random"),
    ("random > 0", "random", None),
)


def resolve_conditions(conditions: dict[str, str], language: str,
                       profile: str | None = None) -> dict[str, str]:
    """The model name of each panel's condition, checked before anything is computed.

    Parameters
    ----------
    conditions : panel label -> condition (``"native"``, ``"non-native"``, ``"random"``...)
        or model name (registry entry, local folder, hub id)
    language : the listeners' (or stimuli's) language, for ``native`` / ``non-native``
    profile : the profile's name; its ``model_family`` maps conditions to models

    Raises
    ------
    ValueError
        naming the panel and the condition that does not resolve to a usable model, and why.
    """
    from analysis import models
    from analysis.config import get_profile

    family = get_profile(profile).model_family if profile else "public"
    out = {}
    for label, condition in conditions.items():
        try:
            name = models.resolve_condition(condition, language, family)
            models.resolve(name)
            models.load_config(name)  # a hub model unavailable offline fails here, at once
        except (ValueError, OSError, models.ModelUnavailableError) as exc:
            raise ValueError(f"conditions[{label!r}]={condition!r} does not resolve to a usable "
                             f"model for language {language!r} under profile {profile!r}: "
                             f"{exc}") from exc
        out[label] = name
    return out


def layer_profiles(result: LayerScores, masks: dict[str, np.ndarray]) -> dict[str, dict]:
    """How well, and how deep, each region is fit: its layer curve, the score of its best
    layer, and the mean best layer of its vertices (which should deepen from A1+A2 to IFG).

    Parameters
    ----------
    result : :func:`analysis.pipeline.layer_scores`'s output; ``scores`` of shape
        (n_participants, n_layers, n_vertices)
    masks : region name -> boolean array of shape (n_vertices,)
        (:func:`analysis.regions.region_masks`)

    Returns
    -------
    dict region -> dict with

    - ``mean_r_per_layer`` (n_layers,): r averaged over the region's vertices and the
      participants, per layer;
    - ``mean_r``: the largest of those (the region's score at its best layer);
    - ``best_layer``: that layer (index as in ``result.layers``);
    - ``mean_best_layer``: each vertex's best layer (per participant), averaged over the
      region's vertices and the participants;
    - ``n_vertices``: vertices in the region.
    """
    scores = np.asarray(result.scores)
    if scores.ndim != 3:
        raise ValueError(f"result.scores has shape {scores.shape}; expected (n_participants, "
                         "n_layers, n_vertices).")
    layers = np.asarray(result.layers)
    out = {}
    for name, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (scores.shape[2],):
            raise ValueError(f"masks[{name!r}] has shape {mask.shape}; expected "
                             f"({scores.shape[2]},).")
        if not mask.any():
            raise ValueError(f"masks[{name!r}] selects no vertex.")
        region = scores[:, :, mask]  # (n_participants, n_layers, n_region)
        curve = np.nanmean(region, axis=(0, 2))
        best = int(np.nanargmax(curve))
        fitted = np.isfinite(region).any(axis=1)  # (n_participants, n_region)
        best_per_vertex = layers[np.nanargmax(np.where(np.isfinite(region), region, -np.inf),
                                              axis=1)]
        out[name] = {"mean_r_per_layer": curve, "mean_r": float(curve[best]),
                     "best_layer": int(layers[best]),
                     "mean_best_layer": float(best_per_vertex[fitted].mean()),
                     "n_vertices": int(mask.sum())}
    return out


def qualitative_pattern(profiles: dict[str, dict[str, dict]]) -> list[dict]:
    """Whether the paper's qualitative pattern holds, aim by aim, with the numbers.

    Parameters
    ----------
    profiles : condition (``"native"``, ``"non-native"``, ``"non-speech"``, ``"random"``) ->
        :func:`layer_profiles` output for the same listeners; an aim is checked only when its
        conditions and regions are there

    Returns
    -------
    list of dicts with ``aim`` (text), ``holds`` (bool) and ``numbers`` (text)
    """
    def mean_r(condition, region):
        return profiles[condition][region]["mean_r"]

    aims = []
    if {"native", "random"} <= set(profiles):
        regions = [r for r in profiles["native"] if r in profiles["random"]]
        aims.append({"aim": "trained (native) > random in every region",
                     "holds": all(mean_r("native", r) > mean_r("random", r) for r in regions),
                     "numbers": ", ".join(f"{r} {mean_r('native', r):.3f} vs "
                                          f"{mean_r('random', r):.3f}" for r in regions)})
    if "native" in profiles and {"A1+A2", "IFG"} <= set(profiles["native"]):
        depth = {r: v["mean_best_layer"] for r, v in profiles["native"].items()}
        aims.append({"aim": "the native model's best layer is deeper in IFG than in A1+A2",
                     "holds": depth["IFG"] > depth["A1+A2"],
                     "numbers": "mean best layer " + ", ".join(f"{r} {d:.2f}"
                                                               for r, d in depth.items())})
    order = ["native", "non-native", "non-speech", "random"]
    if set(order) <= set(profiles):
        for region in ("STS", "IFG"):
            if all(region in profiles[c] for c in order):
                values = [mean_r(c, region) for c in order]
                aims.append({"aim": f"native > non-native > non-speech > random in {region}",
                             "holds": all(a > b for a, b in zip(values, values[1:])),
                             "numbers": ", ".join(f"{c} {v:.4f}"
                                                  for c, v in zip(order, values))})
    return aims


def choose_layer(result: LayerScores, layer: int | str = "best") -> int:
    """Index (into ``result.layers``) of the layer a figure shows.

    Parameters
    ----------
    layer : ``"best"`` (the layer with the highest score averaged over vertices and
        participants) or a layer number in the paper's numbering (0..6 convolutional, 7..
        transformer)
    """
    if layer == "best":
        mean = np.nanmean(result.scores, axis=(0, 2))
        return int(np.nanargmax(mean))
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool) \
            and layer in result.layers:
        return result.layers.index(int(layer))
    raise ValueError(f"layer={layer!r} must be 'best' or one of the scored layers "
                     f"{result.layers}.")


def layer_map(result: LayerScores, layer: int | str = "best") -> tuple[int, np.ndarray]:
    """The scores of one layer: ``(layer number, array of shape (n_participants,
    n_vertices))``."""
    index = choose_layer(result, layer)
    return result.layers[index], result.scores[:, index]


def best_layer_map(result: LayerScores, percentile: float = 99.0) -> tuple[np.ndarray, float]:
    """Each vertex's best layer (Figure 3A): the layer whose score, averaged over
    participants, is highest there, kept where that highest score exceeds the ``percentile``
    of the same maximum over layers computed on the null scores (regressors shifted in time).

    Returns
    -------
    best : array of shape (n_vertices,), layer numbers (as in ``result.layers``); NaN where
        not kept
    threshold : the null percentile the highest score had to exceed
    """
    def peak(scores):  # participant means (n_layers, n_vertices) -> best index, best value
        mean = np.asarray(scores, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # vertices never fitted
            mean = np.nanmean(mean, axis=0)
        mean = np.where(np.isfinite(mean), mean, -np.inf)
        index = mean.argmax(axis=0)
        return index, np.take_along_axis(mean, index[None], axis=0)[0]

    index, top = peak(result.scores)
    _, null_top = peak(result.null_scores)
    threshold = float(np.percentile(null_top[np.isfinite(null_top)], percentile))
    best = np.asarray(result.layers, dtype=float)[index]
    best[~(top > threshold)] = np.nan
    return best, threshold


def layer_shares(best: np.ndarray, masks: dict[str, np.ndarray],
                 layers: list[int]) -> pd.DataFrame:
    """Share of each region's kept vertices whose best layer is each layer (Figure 3C).

    Parameters
    ----------
    best : array of shape (n_vertices,), from :func:`best_layer_map` (NaN: not kept)
    masks : region name -> boolean array of shape (n_vertices,)
    layers : every layer number, the columns of the result

    Returns
    -------
    DataFrame indexed by region: one column per layer (percent of the region's kept
    vertices; NaN where none is kept) and ``n_vertices``, the kept vertices counted
    """
    rows = {}
    for name, mask in masks.items():
        if np.shape(mask) != np.shape(best):
            raise ValueError(f"masks[{name!r}] has shape {np.shape(mask)}; best has "
                             f"{np.shape(best)}.")
        kept = best[np.asarray(mask, dtype=bool) & np.isfinite(best)]
        counts = np.array([(kept == layer).sum() for layer in layers], dtype=float)
        shares = 100 * counts / len(kept) if len(kept) else np.full(len(layers), np.nan)
        rows[name] = {**dict(zip(layers, shares)), "n_vertices": len(kept)}
    return pd.DataFrame.from_dict(rows, orient="index")


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


def min_attainable_p(n: int, alternative: str = "greater") -> float:
    """Smallest p-value an exact Wilcoxon signed-rank test can give with ``n`` participants
    (no zero differences): ``2**-n`` one-sided, ``2**(1-n)`` two-sided."""
    if n < 1:
        return float("nan")
    return float(2.0 ** -n if alternative != "two-sided" else 2.0 ** (1 - n))


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


def contrast_map(maps: dict[str, np.ndarray], alpha: float = 0.05,
                 contrasts=CONTRASTS) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
    codes : int array of shape (n_vertices,): index into ``contrasts``, -1 where none holds
    q : contrast label -> array of shape (n_vertices,) of adjusted p-values
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
    return codes, q
