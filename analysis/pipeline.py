"""The stages chained for one data set and one model, every product cached.

stimulus audio -> activations (every layer) -> regressors at scan times -> brain scores per
participant, layer and vertex, plus the same scores with the regressors circularly shifted in
time (a null baseline that keeps each series' autocorrelation but breaks its alignment).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from analysis import features, models, regressors
from analysis.cache import Cache, key_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Stimulus

log = logging.getLogger(__name__)

NULL_SHIFT = 0.5  # the null baseline shifts the regressors by this fraction of their length


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


class _LazyModel:
    """Loads the model only when some product must really be computed."""

    def __init__(self, name: str):
        self.name, self._model = name, None

    def __call__(self):
        if self._model is None:
            self._model = models.load_model(self.name)
        return self._model

    def normalize(self) -> bool:
        """Whether the model's feature extractor normalises the waveform."""
        return models.normalizes_input(self.name)


def regressor_keys(model: dict, stimulus: Stimulus, window: float = 10.0,
                   stride: float = 5.0) -> tuple[dict, dict]:
    """Cache keys of the activations and of the regressors of one stimulus under one model
    (``model`` is :func:`analysis.models.fingerprint`)."""
    act_key = {"stage": "activations", "code": source_digest(features), "model": model,
               "stimulus": stimulus.digest(), "window": window, "stride": stride}
    reg_key = {"stage": "regressors", "code": source_digest(regressors),
               "activations": key_digest(act_key), "n_scans": stimulus.n_scans,
               "tr": stimulus.tr, "hrf": "glover", "oversampling": 50}
    return act_key, reg_key


def stimulus_regressors(act_key: dict, reg_key: dict, stimulus: Stimulus, cache: Cache,
                        lazy: _LazyModel) -> list[np.ndarray]:
    """Regressors of every layer for one stimulus: list of arrays of shape (n_scans, n_units)."""
    window, stride = act_key["window"], act_key["stride"]

    def compute_regressors():
        acts = cache.get("activations", act_key, lambda: _activations(
            lazy, stimulus, window, stride))
        times = acts.pop("times")
        n_layers = len(acts)
        return {f"layer{i:02d}": regressors.build_regressors(
            acts[f"layer{i:02d}"], times, stimulus.scan_times()) for i in range(n_layers)}

    regs = cache.get("regressors", reg_key, compute_regressors)
    return [regs[name] for name in sorted(regs)]


def _activations(lazy: _LazyModel, stimulus: Stimulus, window: float, stride: float) -> dict:
    log.info("extracting activations: section %s (%s)", stimulus.section, stimulus.language)
    acts = features.extract_activations(lazy(), stimulus.waveform(), window=window,
                                        stride=stride, normalize=lazy.normalize())
    return {"times": acts.times, **{f"layer{i:02d}": a for i, a in enumerate(acts.layers)}}


def layer_scores(dataset: Dataset, profile: Profile, model: str, language: str,
                 participants: list[str] | None = None, layers: list[int] | None = None,
                 null: bool = True, n_components: int | None = None) -> LayerScores:
    """Brain scores of the layers of ``model`` for the participants who heard ``language``.

    Each participant is fitted on its own, its scores cached as one product, the same one that
    :mod:`analysis.jobs` writes (so a notebook assembles what the jobs computed); the layers'
    regressors are read memory-mapped, one layer at a time (see :mod:`analysis.fitting`).
    ``model`` may be a condition (``"random"``, ``"native"``, ``"non-native"``,
    ``"non-speech"``, ``"supervised"``), resolved from ``language`` and the profile's
    ``model_family`` (see :func:`analysis.models.resolve_condition`).

    Parameters
    ----------
    layers : layer indices to score (default: every layer)
    null : also score the circularly shifted regressors (else ``null_scores`` is all NaN)
    n_components : PCA of each layer's regressors, fitted on all runs stacked (see
        :func:`analysis.regressors.reduce_components`); None (default) for none
    """
    from analysis import fitting  # it builds on this module's stages

    model = models.resolve_condition(model, language, profile.model_family)
    if language not in dataset.stimuli:
        raise ValueError(f"language={language!r}: the {dataset.name} data set has stimuli in "
                         f"{', '.join(dataset.stimuli)} only.")
    group = [p for p in dataset.participants_of(language)
             if participants is None or p.id in participants]
    if not group:
        raise ValueError(f"participants={participants}: no participant of language "
                         f"{language!r} matches.")
    cache = Cache(cache_dir())
    stimuli = dataset.stimuli[language]
    designs = fitting.layer_designs(model, fitting.design_key(model, stimuli, n_components),
                                    stimuli, cache)
    out = [fitting.participant_scores(p, designs, profile, cache, layers, null)
           for p in tqdm(group, desc="participants", leave=False)]
    indices = list(range(designs.n_layers)) if layers is None else list(layers)
    n_conv = len(models.load_config(models.resolve(model).name).conv_dim)
    return LayerScores(np.stack([o["scores"] for o in out]),
                       np.stack([o["null_scores"] for o in out]),
                       [p.id for p in group], indices, n_conv)


def n_jobs() -> int:
    """Processes fitting layers in parallel, one BLAS thread each: ``$ANALYSIS_N_JOBS``, or
    every CPU (one BLAS pool spread over all cores loses to one process per core here)."""
    value = os.environ.get("ANALYSIS_N_JOBS", "")
    if value and not value.isdigit():
        raise ValueError(f"ANALYSIS_N_JOBS={value!r} must be a positive integer.")
    return int(value) if value else (os.cpu_count() or 1)


def layer_designs(dataset: Dataset, model: str, language: str,
                  layers: list[int] | None = None) -> list[np.ndarray]:
    """Regressors of the layers of ``model`` (a model name: resolve a condition first with
    :func:`analysis.models.resolve_condition`) for the stimuli of ``language``, sections
    stacked in time: the cached product :func:`layer_scores` fits, memory-mapped.

    Returns
    -------
    list (one per layer, or per index of ``layers``) of arrays of shape
    (n_scans_total, n_units)
    """
    from analysis import fitting

    if language not in dataset.stimuli:
        raise ValueError(f"language={language!r}: the {dataset.name} data set has stimuli in "
                         f"{', '.join(dataset.stimuli)} only.")
    stimuli = dataset.stimuli[language]
    designs = fitting.layer_designs(model, fitting.design_key(model, stimuli), stimuli,
                                    Cache(cache_dir()))
    return [designs.layer(i) for i in (range(designs.n_layers) if layers is None else layers)]
