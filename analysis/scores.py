"""Brain scores: each participant's encoding fits under one model, every layer and vertex,
cached per participant.

:func:`layer_scores` (the public entry point) scores the listeners of one language: the
designs of the model (:func:`analysis.designs.designs_for`), then one cached product per
participant, the same one that :mod:`analysis.jobs` writes (so a notebook assembles what the
jobs computed). The null scores (the regressors circularly shifted in time) are a separate
product, computed only when asked for, so a figure that needs no null reuses the scores of
one that did.

A participant's fit loads its BOLD once (array of shape (n_scans, n_vertices)) and reads each
layer's regressors from its memory-mapped file only while that layer is fitted, so it never
holds more than one layer's regressors per fitting process (``n_jobs``) on top of the
responses.
"""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from analysis import designs as designs_module
from analysis import encoding, models
from analysis.cache import Cache, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Participant
from analysis.designs import Designs

log = logging.getLogger(__name__)

SCORES = "participant_scores"


@dataclass(frozen=True)
class LayerScores:
    """Brain scores of every layer of one model.

    Attributes
    ----------
    scores : array of shape (n_participants, n_layers, n_vertices), Pearson r (NaN: not fitted)
    null_scores : same shape, with the regressors circularly shifted by half their length
    participants : participant ids, in the order of the first axis
    layers : layer indices as in the paper (0..6 convolutional, 7.. transformer)
    n_conv : number of convolutional layers
    """

    scores: np.ndarray
    null_scores: np.ndarray
    participants: list[str]
    layers: list[int]
    n_conv: int


def layer_scores(dataset: Dataset, profile: Profile, model: str, language: str,
                 participants: list[str] | None = None, layers: list[int] | None = None,
                 null: bool = True, n_components: int | None = None,
                 n_jobs: int | None = None) -> LayerScores:
    """Brain scores of the layers of ``model`` for the participants who heard ``language``.

    Parameters
    ----------
    model : a model name, or a condition (``"random"``, ``"native"``, ``"non-native"``,
        ``"non-speech"``, ``"supervised"``) resolved from ``language`` and the profile's
        ``model_family`` (see :func:`analysis.models.resolve_condition`)
    participants : participant ids to score (default: every listener of ``language``)
    layers : layer indices to score (default: every layer)
    null : also score the circularly shifted regressors (else ``null_scores`` is all NaN)
    n_components : PCA of each layer's regressors (see :func:`analysis.designs.designs_for`)
    n_jobs : layers fitted in parallel processes (default :func:`default_n_jobs`)
    """
    model = models.resolve_condition(model, language, profile.model_family)
    if language not in dataset.stimuli:
        raise ValueError(f"language={language!r}: the {dataset.name} data set has stimuli in "
                         f"{', '.join(dataset.stimuli)} only.")
    group = [p for p in dataset.participants_of(language)
             if participants is None or p.id in participants]
    if not group:
        raise ValueError(f"participants={participants}: no participant of language "
                         f"{language!r} matches.")
    designs = designs_module.designs_for(dataset, model, language, n_components)
    cache = Cache(cache_dir())
    out = [participant_scores(p, designs, profile, cache, layers, null, n_jobs=n_jobs)
           for p in tqdm(group, desc="participants", leave=False)]
    indices = list(range(designs.n_layers)) if layers is None else list(layers)
    n_conv = len(models.load_config(models.resolve(model).name).conv_dim)
    return LayerScores(np.stack([o["scores"] for o in out]),
                       np.stack([o["null_scores"] for o in out]),
                       [p.id for p in group], indices, n_conv)


def default_n_jobs() -> int:
    """Processes fitting layers in parallel, one BLAS thread each: ``$ANALYSIS_N_JOBS`` (set
    where memory is short, e.g. on Binder), or every CPU (one BLAS pool spread over all cores
    loses to one process per core here)."""
    value = os.environ.get("ANALYSIS_N_JOBS", "")
    if value and not value.isdigit():
        raise ValueError(f"ANALYSIS_N_JOBS={value!r} must be a positive integer.")
    return int(value) if value else (os.cpu_count() or 1)


def fit_parameters(profile: Profile) -> dict:
    """The encoding settings of ``profile``, as passed to :func:`analysis.encoding.score_layers`
    (and held in cache keys)."""
    return {"n_folds": profile.n_folds, "inner_folds": profile.inner_folds,
            "alphas": list(profile.alphas), "alpha_selection": profile.alpha_selection,
            "dtype": profile.precision}


def scores_key(designs_digest: str, participant_digest: str, profile: Profile,
               layers: Sequence[int] | None = None) -> dict:
    """Cache key of one participant's scores (``participant_digest``: its
    :meth:`~analysis.datasets.Participant.digest`); :func:`null_key` derives its null's."""
    return {"stage": SCORES, "code": source_digest(encoding, encoding.ridge),
            "designs": designs_digest, "participant": participant_digest,
            "layers": None if layers is None else list(layers), **fit_parameters(profile)}


def null_key(key: dict) -> dict:
    """Cache key of the null scores (shifted regressors) that go with the scores of ``key``."""
    return {**key, "shifted": designs_module.NULL_SHIFT}


def scores_done(cache: Cache, key: dict, null: bool) -> bool:
    """Whether the scores of ``key`` (and their null, when ``null``) are cached."""
    return all(cache.load(SCORES, k) is not None
               for k in ([key, null_key(key)] if null else [key]))


def participant_scores(participant: Participant, designs: Designs, profile: Profile,
                       cache: Cache, layers: Sequence[int] | None = None, null: bool = True,
                       key: dict | None = None, n_jobs: int | None = None) -> dict:
    """Brain scores of one participant's vertices for each layer, cached.

    Parameters
    ----------
    designs : the layers' regressors (:mod:`analysis.designs`) of the participant's language
    layers : layer indices to score (default: every layer)
    null : also score the shifted regressors (else ``null_scores`` is all NaN)
    key : :func:`scores_key` of these inputs, when already computed (it checksums the BOLD)
    n_jobs : layers fitted in parallel processes (default :func:`default_n_jobs`)

    Returns
    -------
    dict with ``scores`` and ``null_scores``, arrays of shape (n_layers_scored, n_vertices)
    """
    indices = list(range(designs.n_layers)) if layers is None else list(layers)
    for index in indices:
        if not 0 <= index < designs.n_layers:
            raise ValueError(f"layers={list(layers)}: the model has layers 0 to "
                             f"{designs.n_layers - 1}.")
    if key is None:
        key = scores_key(designs.digest, participant.digest(), profile, layers)
    fit = fit_parameters(profile)
    jobs = default_n_jobs() if n_jobs is None else n_jobs

    # the participant's BOLD, loaded once if either product is computed
    bold = functools.cache(lambda: responses(participant, designs.n_scans))

    def scored(shifted: bool):
        def compute():
            return {"scores": encoding.score_layers(
                [designs.layer(i, null=shifted) for i in indices], bold(), n_jobs=jobs, **fit)}
        return cache.get(SCORES, null_key(key) if shifted else key, compute)["scores"]

    scores = scored(False)
    return {"scores": scores,
            "null_scores": scored(True) if null else np.full_like(scores, np.nan)}


def responses(participant: Participant, n_scans: int) -> np.ndarray:
    """The participant's BOLD, every section stacked: array of shape (n_scans,
    n_vertices), float32, checked against the scans of the stimuli."""
    bold = participant.bold()
    if len(bold) != n_scans:
        raise ValueError(f"{participant.id}: its BOLD has {len(bold)} scans but the sections "
                         f"it heard have {n_scans}; check "
                         f"{', '.join(map(str, participant.bold_paths))}.")
    return bold
