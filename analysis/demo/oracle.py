"""The oracle check: does the pipeline recover what was planted in the demo world?

The planted regressors themselves (:func:`analysis.demo.listeners.level_regressors`, saved
in the world's ``truth.npz``: those of the levels planted in that world, and the envelope)
are the design matrix of the pipeline's own encoding model
(:func:`analysis.encoding.brain_score`, with the profile's folds, penalties and alpha
selection). An encoding model cannot do better than the planted signal, whose correlation
with the BOLD is the vertex's noise ceiling; with the true regressors it should come close.
``oracle_ratio``, the mean score over the region vertices divided by their mean ceiling,
measures how close; on noise-only vertices the mean score should be 0.
"""
from __future__ import annotations

import logging
import sys

import numpy as np

from analysis import encoding
from analysis.cache import Cache, array_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset
from analysis.demo.listeners import LEVELS
from analysis.demo.world import load_truth
from analysis.scores import fit_parameters

log = logging.getLogger(__name__)

ORACLE_SCORES = "oracle_scores"  # cache stage


def oracle_scores(dataset: Dataset, profile: Profile, language: str,
                  truth: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the planted regressors for the participants of ``language`` (cached).

    Returns
    -------
    scores : array of shape (n_participants, 20484), Pearson r (cross-validated)
    ceilings : array of shape (n_participants, 20484), the planted noise ceilings
    """
    truth = load_truth(dataset) if truth is None else truth
    group = dataset.participants_of(language)
    if not group:
        raise ValueError(f"language={language!r}: the {dataset.name} data set has no "
                         "participant of that language.")
    planted = [str(level) for level in truth.get("planted_levels", LEVELS)]
    X = np.hstack([truth[f"{language}_regressors_{name}"] for name in (*planted, "envelope")])
    X = X[_scans_of(dataset.stimuli[language], truth[f"{language}_section_lengths"])]
    fit = fit_parameters(profile, group[0].corpus)
    key = {"stage": ORACLE_SCORES,
           "code": source_digest(sys.modules[__name__], encoding, encoding.ridge),
           "design": array_digest(X),
           "participants": [p.digest() for p in group], **fit}

    def compute():
        Y = np.hstack([p.bold() for p in group])
        if len(Y) != len(X):
            raise ValueError(f"{language}: the BOLD has {len(Y)} scans but the planted "
                             f"regressors of its sections {len(X)}; is the world complete?")
        return {"scores": encoding.brain_score(X, Y, **fit).reshape(len(group), -1)}

    fitted = Cache(cache_dir()).get(ORACLE_SCORES, key, compute)["scores"]
    return fitted, truth[f"{language}_ceiling"][truth_rows(group)]


def truth_rows(group: list) -> list[int]:
    """The rows of the truth's per-listener arrays of these participants: ``sub-<L><NN>`` is
    row ``NN - 1``."""
    return [int(p.id[-2:]) - 1 for p in group]


def _scans_of(stimuli, section_lengths: np.ndarray) -> np.ndarray:
    """Rows of the planted regressors (all sections stacked) that the loaded sections hold."""
    starts = np.concatenate([[0], np.cumsum(section_lengths)])
    return np.concatenate([np.arange(starts[s.section - 1], starts[s.section])
                           for s in stimuli])


def summarize(scores: np.ndarray, ceilings: np.ndarray, region: np.ndarray,
              amplitude: np.ndarray, region_names) -> dict:
    """Oracle numbers from scores and ceilings of shape (n_participants, n_vertices).

    Parameters
    ----------
    region : array of shape (n_vertices,), region index per vertex (-1: outside)
    amplitude : array of shape (n_participants, n_vertices), planted amplitudes (0: noise)

    Returns
    -------
    dict with ``oracle_ratio`` (mean score / mean ceiling over region vertices),
    ``noise_mean_r`` (mean score over noise-only vertices), ``mean_r``, ``mean_ceiling``,
    ``n_noise_vertices``, and ``regions``: per region ``mean_r``, ``mean_ceiling``, ``ratio``
    """
    inside = np.broadcast_to(region >= 0, scores.shape)
    noise = amplitude == 0
    per_region = {}
    for r, name in enumerate(region_names):
        mask = np.broadcast_to(region == r, scores.shape)
        mean_r, mean_c = float(np.nanmean(scores[mask])), float(np.mean(ceilings[mask]))
        per_region[str(name)] = {"mean_r": mean_r, "mean_ceiling": mean_c,
                                 "ratio": mean_r / mean_c}
    mean_r, mean_c = float(np.nanmean(scores[inside])), float(np.mean(ceilings[inside]))
    return {"oracle_ratio": mean_r / mean_c, "noise_mean_r": float(np.nanmean(scores[noise])),
            "mean_r": mean_r, "mean_ceiling": mean_c, "n_noise_vertices": int(noise.sum()),
            "regions": per_region}


def oracle_check(dataset: Dataset, profile: Profile, return_scores: bool = False):
    """The oracle numbers over every participant of every language of ``dataset``, and per
    language (``"languages"``), as :func:`summarize` gives them.

    With ``return_scores``, also a dict language -> (scores, ceilings), each of shape
    (n_participants, 20484)."""
    truth = load_truth(dataset)
    names = truth["regions"]
    all_scores, all_ceilings, all_amp, regions, out, arrays = [], [], [], [], {}, {}
    for language in dataset.stimuli:
        scores, ceilings = oracle_scores(dataset, profile, language, truth)
        amplitude = truth[f"{language}_amplitude"][truth_rows(dataset.participants_of(language))]
        region = truth[f"{language}_region"]
        out[language] = summarize(scores, ceilings, region, amplitude, names)
        log.info("oracle %s: ratio %.3f, noise mean r %.4f", language,
                 out[language]["oracle_ratio"], out[language]["noise_mean_r"])
        arrays[language] = (scores, ceilings)
        all_scores.append(scores)
        all_ceilings.append(ceilings)
        all_amp.append(amplitude)
        regions.append(np.broadcast_to(region, scores.shape))
    overall = summarize(np.vstack(all_scores), np.vstack(all_ceilings), np.vstack(regions),
                        np.vstack(all_amp), names)
    summary = {**overall, "languages": out}
    return (summary, arrays) if return_scores else summary
