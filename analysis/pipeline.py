"""The stages chained for one data set and one model, every product cached.

stimulus audio -> activations (every layer) -> regressors at scan times -> brain scores per
participant, layer and vertex, plus the same scores with the regressors circularly shifted in
time (a null baseline that keeps each series' autocorrelation but breaks its alignment).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from analysis import encoding, features, models, regressors
from analysis.cache import Cache
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Stimulus

log = logging.getLogger(__name__)

FEATURES_VERSION = 1
ENCODING_VERSION = 1


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


def stimulus_regressors(model: str, stimulus: Stimulus, cache: Cache, lazy: _LazyModel,
                        window: float = 10.0, stride: float = 5.0) -> list[np.ndarray]:
    """Regressors of every layer for one stimulus: list of arrays of shape (n_scans, n_units)."""
    act_key = {"stage": "activations", "version": FEATURES_VERSION, "model": model,
               "stimulus": stimulus.digest(), "window": window, "stride": stride}
    reg_key = {**act_key, "stage": "regressors", "n_scans": stimulus.n_scans,
               "tr": stimulus.tr, "hrf": "glover", "oversampling": 50}

    def compute_regressors():
        acts = cache.get("activations", act_key, lambda: _activations(
            lazy(), stimulus, window, stride))
        times = acts.pop("times")
        n_layers = len(acts)
        return {f"layer{i:02d}": regressors.build_regressors(
            acts[f"layer{i:02d}"], times, stimulus.scan_times()) for i in range(n_layers)}

    regs = cache.get("regressors", reg_key, compute_regressors)
    return [regs[name] for name in sorted(regs)]


def _activations(model, stimulus: Stimulus, window: float, stride: float) -> dict:
    log.info("extracting activations: section %s (%s)", stimulus.section, stimulus.language)
    acts = features.extract_activations(model, stimulus.waveform(), window=window, stride=stride)
    return {"times": acts.times, **{f"layer{i:02d}": a for i, a in enumerate(acts.layers)}}


def layer_scores(dataset: Dataset, profile: Profile, model: str, language: str,
                 participants: list[str] | None = None) -> LayerScores:
    """Brain scores of every layer of ``model`` for the participants who heard ``language``.

    Participants of one language share their regressors, so they are fitted together (their
    vertices stacked as targets); each vertex of each participant still gets its own alpha.
    """
    cache = Cache(cache_dir())
    lazy = _LazyModel(model)
    spec = models.resolve(model)
    stimuli = dataset.stimuli[language]
    per_stimulus = [stimulus_regressors(spec.name, s, cache, lazy) for s in stimuli]
    layers = [np.vstack(parts) for parts in zip(*per_stimulus)]
    group = [p for p in dataset.participants_of(language)
             if participants is None or p.id in participants]
    if not group:
        raise ValueError(f"no participant of language {language!r} matches {participants}.")

    fit = {"n_folds": profile.n_folds, "inner_folds": profile.inner_folds,
           "alphas": list(profile.alphas)}
    key = {"stage": "scores", "version": ENCODING_VERSION, "model": spec.name,
           "stimuli": [s.digest() for s in stimuli], "participants": [p.digest() for p in group],
           **fit}

    def compute():
        Y = np.hstack([p.bold() for p in group])
        shift = len(Y) // 2
        return {"scores": encoding.score_layers(layers, Y, **fit),
                "null_scores": encoding.score_layers([np.roll(X, shift, axis=0)
                                                      for X in layers], Y, **fit)}

    out = cache.get("scores", key, compute)
    n_layers = len(layers)
    n_conv = len(models.load_config(spec.name).conv_dim)

    def split(a):  # (n_layers, n_participants * n_vertices) -> (n_participants, n_layers, n_v)
        return a.reshape(n_layers, len(group), -1).transpose(1, 0, 2)

    return LayerScores(split(out["scores"]), split(out["null_scores"]),
                       [p.id for p in group], list(range(n_layers)), n_conv)
