"""The paper's claims on the demo world: was each one planted, and does the pipeline detect it?

A claim compares two of the paper's model conditions (``native``, ``non-native``,
``non-speech``, ``random``) in some regions, or the depth of the native model's best layer
between two regions. Whether a world *planted* a claim is read from what the world was built
with (its levels, their regions, whether they are language-specific: :func:`planted`), never
from the scores. Whether the pipeline *detects* it is a test across the world's listeners
(:func:`evaluate`):

- each listener's score of a condition in a region is the mean, over the region's planted
  core (``truth["<L>_region"]``), of the brain scores of the layer that is best for the
  *other* listeners (leave-one-listener-out, so that no listener's layer is chosen on their
  own scores);
- the depth of a region is the peak of each listener's layer curve there (the mean score
  over the core per layer);
- the claim is detected when the two-sided Wilcoxon signed-rank test of the per-listener
  differences gives ``p < ALPHA`` and their mean has the claimed sign.

Every claim is fitted on the cores of the five regions only, all listeners of one language at
once (:func:`analysis.scores.region_layer_scores`, one fit per model: the listeners heard the
same stimulus, so they share its designs), so that many listeners and the control worlds cost
little beside the full-surface fits of the figures.

The same comparison on the planted signal without its noise, at each region's example vertex
(:func:`noise_free_scores`), hints whether a missed claim is lost to the models or to the
noise and the number of scans.

What model-free designs (the spectrum, the phone transcript) reach on the same listeners is
in :mod:`analysis.demo.references`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from analysis import encoding, scores
from analysis.cache import Cache, array_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset
from analysis.designs import designs_for
from analysis.demo import world
from analysis.demo.listeners import SOUND_LEVELS
from analysis.demo.oracle import truth_rows

log = logging.getLogger(__name__)

ALPHA = 0.05  # two-sided Wilcoxon across listeners
CONDITIONS = ("native", "non-native", "non-speech", "random")
SPEECH_REGIONS = ("STG", "STS", "IFG")
# Where non-speech > random is tested: the region beyond A1+A2 given the most pitch, a
# property of sound in general (:data:`analysis.demo.listeners.SOUND_LEVELS`).
SOUND_REGIONS = ("STG",)
NOISE_FREE_SCORES = "noise_free_scores"  # cache stage of the fits on the planted signal


@dataclass(frozen=True)
class Claim:
    """One claim of the paper.

    Attributes
    ----------
    name : how the page names it
    better, worse : conditions compared (``worse`` is None for a depth claim)
    regions : regions averaged (a depth claim: the deeper region first, then the shallower)
    kind : ``"contrast"`` (``better`` scores above ``worse``) or ``"depth"`` (``better``'s best
        layer is deeper in ``regions[0]`` than in ``regions[1]``)
    """

    name: str
    better: str
    worse: str | None
    regions: tuple[str, ...]
    kind: str = "contrast"


CLAIMS = (
    *(Claim(f"trained > random in {r}", "native", "random", (r,)) for r in SPEECH_REGIONS),
    Claim("best layer deeper in IFG than A1+A2", "native", None, ("IFG", "A1+A2"), "depth"),
    *(Claim(f"native > non-native in {r}", "native", "non-native", (r,))
      for r in ("STS", "IFG")),
    Claim("non-native > non-speech", "non-native", "non-speech", SPEECH_REGIONS),
    Claim("non-speech > random", "non-speech", "random", SOUND_REGIONS),
)


def planted(claim: Claim, truth: dict) -> tuple[bool, str]:
    """Whether a world planted ``claim``, and why, from what it was built with.

    - trained > random: a level above acoustics (orthogonal to the spectrum, which a random
      network's features already carry) drives the regions;
    - non-speech > random: such a level is a property of sound in general (pitch,
      :data:`analysis.demo.listeners.SOUND_LEVELS`), learnable without speech;
    - non-native > non-speech: a level above acoustics that is specific to speech (phones
      and up) drives the regions;
    - native > non-native: such a speech level uses the listener's own language
      (``language_specific``);
    - the depth claim: the levels of the first region are deeper on average (share-weighted
      level index) than those of the second.

    Parameters
    ----------
    truth : :func:`analysis.demo.world.load_truth`'s output
    """
    levels = [str(level) for level in truth["levels"]]
    regions = [str(region) for region in truth["regions"]]
    share = truth["region_level_share"]  # (n_regions, n_levels)
    above = [i for i, level in enumerate(levels) if level != "acoustic"]

    def above_acoustics(names):
        return [levels[i] for i in above
                if any(share[regions.index(r), i] > 0 for r in names)]

    if claim.kind == "depth":
        depth = {r: float(share[regions.index(r)] @ np.arange(len(levels))
                          / share[regions.index(r)].sum()) for r in claim.regions}
        deeper, shallower = claim.regions
        return (depth[deeper] > depth[shallower],
                f"mean planted level {depth[deeper]:.2f} in {deeper}, "
                f"{depth[shallower]:.2f} in {shallower}")
    where = " and ".join(claim.regions)
    found = above_acoustics(claim.regions)
    sound = [level for level in found if level in SOUND_LEVELS]
    speech = [level for level in found if level not in SOUND_LEVELS]
    if not found:
        return False, f"only acoustics drives {where}"
    if {claim.better, claim.worse} == {"non-speech", "random"}:
        if not sound:
            return False, f"no level of sound in general beyond the spectrum drives {where}"
        return True, f"{', '.join(sound)} (sound in general) in {where}"
    if claim.better == "native" and claim.worse == "random":
        return True, f"{', '.join(found)} in {where}"
    if not speech:
        return False, f"no level specific to speech drives {where}"
    if {claim.better, claim.worse} == {"native", "non-native"}:
        if not bool(truth["language_specific"]):
            return False, "no level uses the listener's own language"
        return True, f"{', '.join(speech)} (the listener's language) in {where}"
    return True, f"{', '.join(speech)} in {where}"


def core_scores(dataset: Dataset, profile: Profile, model: str, language: str,
                core: np.ndarray) -> np.ndarray:
    """Brain scores of every layer of ``model`` on the ``core`` vertices of every listener of
    ``language``, the listeners fitted together (:func:`analysis.scores.region_layer_scores`,
    cached there).

    Parameters
    ----------
    model : a resolved model name
    core : boolean array of shape (20484,)

    Returns
    -------
    array of shape (n_layers, n_participants, n_core), float32
    """
    fitted = scores.region_layer_scores(dataset, profile, model, language, core)
    return np.moveaxis(fitted.scores[:, :, core], 0, 1)


def listener_values(layer_scores: np.ndarray, in_region: np.ndarray) -> np.ndarray:
    """Each listener's score in a region at the layer best for the other listeners.

    Parameters
    ----------
    layer_scores : array of shape (n_layers, n_participants, n_core)
    in_region : boolean array of shape (n_core,)

    Returns
    -------
    array of shape (n_participants,)
    """
    curves = np.nanmean(layer_scores[:, :, in_region], axis=2)  # (n_layers, n_participants)
    n = curves.shape[1]
    if n < 2:
        raise ValueError("a leave-one-listener-out layer choice needs at least 2 listeners.")
    others = (curves.sum(axis=1, keepdims=True) - curves) / (n - 1)
    return curves[others.argmax(axis=0), np.arange(n)]


def listener_depths(layer_scores: np.ndarray, in_region: np.ndarray) -> np.ndarray:
    """Each listener's best layer in a region: the peak of their layer curve, the mean score
    over the region's vertices per layer (a vertex-wise best layer would drift to the middle
    layers wherever noise dominates, since the peak of a flat curve is anywhere).

    Returns
    -------
    array of shape (n_participants,), float
    """
    return np.nanmean(layer_scores[:, :, in_region], axis=2).argmax(axis=0).astype(float)


def test(better: np.ndarray, worse: np.ndarray) -> dict:
    """Two-sided Wilcoxon signed-rank test of ``better - worse`` (arrays of shape
    (n_participants,)): ``statistic``, ``p``, ``mean_difference`` and ``detected``
    (``p < ALPHA`` and a positive mean difference)."""
    difference = np.asarray(better, float) - np.asarray(worse, float)
    if np.allclose(difference, 0):
        statistic, p = np.nan, 1.0
    else:
        result = wilcoxon(difference, alternative="two-sided")
        statistic, p = float(result.statistic), float(result.pvalue)
    return {"statistic": statistic, "p": p, "mean_difference": float(difference.mean()),
            "detected": bool(p < ALPHA and difference.mean() > 0)}


def evaluate(dataset: Dataset, profile: Profile, models: dict[str, str],
             language: str = "en") -> list[dict]:
    """Every claim of :data:`CLAIMS` on one world's listeners of ``language``.

    Parameters
    ----------
    models : condition of :data:`CONDITIONS` -> resolved model name

    Returns
    -------
    list (one per claim) of dicts: ``claim``, ``planted``, ``why`` (what was planted, or why
    nothing was), ``detected``, ``statistic`` (Wilcoxon W), ``p``, ``mean_difference``,
    ``better``, ``worse`` (the two means across listeners; for the depth claim, the mean
    best layer of each region), ``n`` (listeners) and ``noise_free_difference`` (the same
    comparison on the planted signal without noise at each region's example vertex,
    :func:`noise_free_scores`)
    """
    missing = [c for c in CONDITIONS if c not in models]
    if missing:
        raise ValueError(f"models: give a model for each of {CONDITIONS}; {missing} missing.")
    truth = world.load_truth(dataset)
    regions = [str(region) for region in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    fitted = {c: core_scores(dataset, profile, models[c], language, core) for c in CONDITIONS}
    in_region = {r: region[core] == regions.index(r) for r in regions}
    clean = {c: noise_free_scores(dataset, profile, models[c], language) for c in CONDITIONS}
    at_example = {r: np.arange(len(regions)) == i for i, r in enumerate(regions)}
    out = []
    for claim in CLAIMS:
        values = claim_values(claim, fitted, in_region)
        without_noise = claim_values(claim, clean, at_example)
        was_planted, why = planted(claim, truth)
        out.append({"claim": claim.name, "planted": was_planted, "why": why,
                    **test(*values), "better": float(values[0].mean()),
                    "worse": float(values[1].mean()), "n": len(values[0]),
                    "noise_free_difference": float((without_noise[0]
                                                    - without_noise[1]).mean())})
    return out


def layer_curves(dataset: Dataset, profile: Profile, models: dict[str, str],
                 language: str = "en") -> dict[str, dict[str, dict[str, list[float]]]]:
    """Each condition's score per layer in each region, mean over listeners, on the BOLD (the
    mean over the region's core) and on the planted signal without noise (at the region's
    example vertex): the fits of :func:`evaluate`, cached.

    Parameters
    ----------
    models : condition -> resolved model name

    Returns
    -------
    dict ``"bold"`` / ``"noise-free"`` -> region -> condition -> list of n_layers floats
    """
    truth = world.load_truth(dataset)
    regions = [str(region) for region in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    out = {"bold": {name: {} for name in regions}, "noise-free": {name: {} for name in regions}}
    for condition, model in models.items():
        fitted = core_scores(dataset, profile, model, language, core)
        clean = noise_free_scores(dataset, profile, model, language)
        for i, name in enumerate(regions):
            inside = fitted[:, :, region[core] == i]
            out["bold"][name][condition] = np.nanmean(inside, axis=(1, 2)).round(5).tolist()
            out["noise-free"][name][condition] = clean[:, :, i].mean(axis=1).round(5).tolist()
    return out


def claim_values(claim: Claim, fitted: dict[str, np.ndarray], in_region: dict[str, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The two sides of a claim, per listener: each condition's score (the mean over the
    claim's regions of :func:`listener_values`) or, for a depth claim, the best layer of the
    deeper and of the shallower region (:func:`listener_depths`).

    Parameters
    ----------
    fitted : condition -> array of shape (n_layers, n_participants, n_targets)
    in_region : region -> boolean array of shape (n_targets,)

    Returns
    -------
    (better, worse), arrays of shape (n_participants,)
    """
    if claim.kind == "depth":
        deeper, shallower = (listener_depths(fitted[claim.better], in_region[r])
                             for r in claim.regions)
        return deeper, shallower
    better, worse = (np.mean([listener_values(fitted[c], in_region[r]) for r in claim.regions],
                             axis=0) for c in (claim.better, claim.worse))
    return better, worse


def noise_free_scores(dataset: Dataset, profile: Profile, model: str, language: str
                      ) -> np.ndarray:
    """Brain scores of every layer of ``model`` on the planted signal itself, the BOLD without
    its noise, at each region's example vertex of every listener of ``language`` (cached).

    The same designs, folds and penalties as the BOLD's fits: what a claim's comparison would
    give at those vertices if the listeners had no noise. A claim missed on the BOLD whose
    noise-free difference has the claimed sign points to the noise and the number of scans;
    one whose noise-free difference does not points to the models. It is one vertex per
    region and listener (each mixing its region's levels with its own weights), so a hint, not
    a measure over the region.

    Parameters
    ----------
    model : a resolved model name

    Returns
    -------
    array of shape (n_layers, n_participants, n_regions), float32
    """
    truth = world.load_truth(dataset)
    group = dataset.participants_of(language)
    signal = truth[f"{language}_example_signal"][truth_rows(group)]
    # signal: (n_participants, n_scans, n_regions)
    n_participants, n_scans, n_regions = signal.shape
    designs = designs_for(dataset, model, language)
    if designs.n_scans != n_scans:
        raise ValueError(f"{language}: the planted signal has {n_scans} scans but {model}'s "
                         f"designs {designs.n_scans}; load every section of the world.")
    key = {"stage": NOISE_FREE_SCORES, "code": source_digest(encoding, encoding.ridge),
           "designs": designs.digest,
           "signal": array_digest(signal),
           "cumulative": profile.cumulative, **scores.fit_parameters(profile)}

    def compute():
        Y = signal.transpose(1, 0, 2).reshape(n_scans, -1).astype(np.float32)
        fitted = encoding.score_layers([designs.layer(k) for k in range(designs.n_layers)], Y,
                                       cumulative=profile.cumulative, progress=False,
                                       **scores.fit_parameters(profile))
        return {"scores": fitted.reshape(designs.n_layers, n_participants, n_regions)}

    return Cache(cache_dir()).get(NOISE_FREE_SCORES, key, compute)["scores"]


def level_capture(dataset: Dataset, profile: Profile, models: dict[str, str],
                  language: str = "en") -> dict[str, dict[str, dict]]:
    """How well each model's layers carry each planted level: the planted regressors of a
    level (``truth["<L>_regressors_<level>"]``) predicted from a layer's regressors by the
    same encoding model as the BOLD (cross-validated r, mean over the level's components),
    each layer alone whatever ``profile.cumulative`` says: a description of the layers.

    Parameters
    ----------
    models : condition -> resolved model name

    Returns
    -------
    dict condition -> level -> {``r``: the best layer's r, ``layer``: that layer,
    ``per_layer``: list of r per layer}
    """
    truth = world.load_truth(dataset)
    planted_levels = [str(level) for level in truth["planted_levels"]]
    targets = [truth[f"{language}_regressors_{level}"] for level in planted_levels]
    Y = np.hstack(targets).astype(np.float32)
    owner = np.repeat(np.arange(len(targets)), [t.shape[1] for t in targets])
    out = {}
    for condition, model in models.items():
        designs = designs_for(dataset, model, language)
        if designs.n_scans != len(Y):
            raise ValueError(f"{language}: the planted regressors have {len(Y)} scans but "
                             f"{model}'s designs {designs.n_scans}; load every section.")
        fitted = encoding.score_layers([designs.layer(k) for k in range(designs.n_layers)],
                                       Y, progress=False, **scores.fit_parameters(profile))
        out[condition] = {}
        for i, level in enumerate(planted_levels):
            per_layer = fitted[:, owner == i].mean(axis=1)
            best = int(per_layer.argmax())
            out[condition][level] = {"r": float(per_layer[best]), "layer": best,
                                     "per_layer": per_layer.round(4).tolist()}
    return out


def table(results: dict[str, list[dict]]) -> pd.DataFrame:
    """The claims of several worlds side by side.

    Parameters
    ----------
    results : world name -> :func:`evaluate`'s output

    Returns
    -------
    DataFrame indexed by claim, with columns (world, ``planted`` / ``detected`` /
    ``difference`` / ``p`` / ``noise-free``), the last the difference on the planted signal
    without noise
    """
    frames = {name: pd.DataFrame(rows).set_index("claim")[
        ["planted", "detected", "mean_difference", "p", "noise_free_difference"]].rename(
            columns={"mean_difference": "difference", "noise_free_difference": "noise-free"})
        for name, rows in results.items()}
    return pd.concat(frames, axis=1)


def verdicts(results: dict[str, list[dict]]) -> list[str]:
    """One sentence per world: how many planted claims were detected, which were missed, and
    which claims were detected without being planted, with their numbers and the same
    difference on the planted signal without noise at the example vertices
    (:func:`noise_free_scores`)."""
    def described(row):
        return (f"{row['claim']} (difference {row['mean_difference']:+.4f}, p = "
                f"{row['p']:.3g}; without noise at the example vertices "
                f"{row['noise_free_difference']:+.4f})")

    lines = []
    for name, rows in results.items():
        planted_rows = [r for r in rows if r["planted"]]
        found = [r for r in planted_rows if r["detected"]]
        missed = [r for r in planted_rows if not r["detected"]]
        false = [r for r in rows if r["detected"] and not r["planted"]]
        text = (f"{name} world ({rows[0]['n']} listeners): {len(found)} of "
                f"{len(planted_rows)} planted claims detected")
        if missed:
            text += "; missed: " + "; ".join(described(r) for r in missed)
        text += "; detected without being planted: " + (
            "; ".join(described(r) for r in false) if false else "none") + "."
        lines.append(text)
    return lines
