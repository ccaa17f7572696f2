"""Held-out predictions of one participant's BOLD from one layer: Figure 1C's example vertices.

The prediction of every scan comes from the outer fold that holds it out
(:func:`analysis.encoding.cross_val_predict`), so the whole series is out of sample; the
responses are robust-scaled per fold exactly as the predictions are, so both are in the same
units. The map of r over vertices is cached like every other stage product.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from analysis import designs, encoding, models, regressors, scores
from analysis.cache import Cache, key_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset

log = logging.getLogger(__name__)

EXAMPLE_QUANTILES = (1.0, 0.99, 0.95)  # rank of the example vertices in the map of r


@dataclass(frozen=True)
class ExamplePredictions:
    """Held-out BOLD predictions of one participant from one layer.

    Attributes
    ----------
    participant, language, model : whose BOLD, which stimuli, which network
    layer : layer index (paper numbering: 0-6 convolutional, 7.. transformer)
    times : array of shape (n_scans,), seconds from the first section's onset (sections
        stacked, TR apart)
    vertices : array of shape (n_examples,), fsaverage5 vertex indices (left hemisphere first)
    observed, predicted : arrays of shape (n_scans, n_examples), robust-scaled BOLD
    r : array of shape (n_examples,), Pearson r between ``observed`` and ``predicted``
    r_map : array of shape (n_vertices,), the same r for every vertex (NaN: not scored)
    """

    participant: str
    language: str
    model: str
    layer: int
    times: np.ndarray
    vertices: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    r: np.ndarray
    r_map: np.ndarray

    def numbers(self, window: float) -> dict:
        """The example vertices over the first ``window`` s, as Figure 1's JSON records them:
        ``participant, layer, vertices, r``, and ``times`` (n_shown,), ``observed`` and
        ``predicted`` (n_examples, n_shown)."""
        shown = self.times <= self.times[0] + window
        return {"participant": self.participant, "layer": self.layer, "vertices": self.vertices,
                "r": self.r, "times": self.times[shown], "observed": self.observed[shown].T,
                "predicted": self.predicted[shown].T}

    def summary(self) -> str:
        """One line: the example vertices' r, and the median r over the map."""
        return (f"{self.participant}, layer {self.layer}: R = "
                + ", ".join(f"{r:.3f}" for r in self.r)
                + f" at vertices {', '.join(map(str, self.vertices))}; median R over vertices "
                f"{np.nanmedian(self.r_map):.3f}")


def default_layer(model: str) -> int:
    """The middle transformer layer of ``model``, a model name (layer 13 of wav2vec 2.0 Base,
    whose peak the paper's Figure 3B shows)."""
    config = models.load_config(models.resolve(model).name)
    n_conv = len(config.conv_dim)
    return n_conv + config.num_hidden_layers // 2


def example_predictions(dataset: Dataset, profile: Profile, model: str, language: str,
                        layer: int | None = None, participant: str | None = None,
                        quantiles=EXAMPLE_QUANTILES) -> ExamplePredictions:
    """Held-out predictions of one participant's BOLD, and the vertices to show.

    Parameters
    ----------
    dataset, profile, model, language : as in :func:`analysis.scores.layer_scores`
    layer : layer index (default :func:`default_layer`)
    participant : participant id (default: the first who heard ``language``)
    quantiles : the example vertices are those whose r ranks at these quantiles of the map
        (1.0: the best vertex)

    Raises
    ------
    ValueError
        naming ``layer`` or ``participant`` when they do not exist.
    """
    group = dataset.participants_of(language)
    if not group:
        raise ValueError(f"language={language!r}: no participant of the {dataset.name} data "
                         "set heard it.")
    chosen = next((p for p in group if participant in (None, p.id, p.id[4:])), None)
    if chosen is None:
        raise ValueError(f"participant={participant!r} did not hear {language!r}; choose one "
                         f"of {', '.join(p.id for p in group)}.")
    model = models.resolve_condition(model, language, profile.model_family)
    layer = default_layer(model) if layer is None else layer
    stimuli = dataset.stimuli_of(chosen)  # the stimuli this listener heard
    design = designs.designs_of(stimuli, model)
    if not 0 <= layer < design.n_layers:
        raise ValueError(f"layer={layer}: {model} has layers 0 to {design.n_layers - 1}.")
    X = (np.hstack([design.layer(i) for i in range(layer + 1)]) if profile.cumulative
         else design.layer(layer))
    fit = scores.fit_parameters(profile, chosen.corpus)
    key = {"stage": "predictions", "code": source_digest(encoding, encoding.ridge),
           "regressors": [key_digest(designs.regressor_keys(models.fingerprint(
               model), s)[1]) for s in stimuli],
           "code_regressors": source_digest(regressors),
           "participant": chosen.digest(), "layer": layer, "cumulative": profile.cumulative,
           "cleaning": scores.cleaning_parameters(profile), **fit}

    Y = scores.responses(chosen, len(X), scores.run_trs(stimuli), profile)

    def compute():
        log.info("held-out predictions of %s from layer %d", chosen.id, layer)
        predicted = encoding.cross_val_predict(X, Y, **fit)
        return {"predicted": predicted.astype(np.float32)}

    predicted = Cache(cache_dir()).get("predictions", key, compute)["predicted"]
    observed = _scaled(Y, fit["n_folds"])
    r_map = _pearson(observed, predicted)
    ranked = np.argsort(np.where(np.isfinite(r_map), r_map, -np.inf))[::-1]
    n_valid = int(np.isfinite(r_map).sum())
    if n_valid == 0:
        raise ValueError(f"{chosen.id}: no vertex could be scored (constant or missing BOLD).")
    vertices = np.array([ranked[min(n_valid - 1, int(round((1 - q) * (n_valid - 1))))]
                         for q in quantiles])
    times = np.arange(len(observed)) * stimuli[0].tr
    return ExamplePredictions(chosen.id, language, model, layer, times, vertices,
                              observed[:, vertices], predicted[:, vertices], r_map[vertices],
                              r_map)


def _scaled(Y: np.ndarray, n_folds: int) -> np.ndarray:
    """``Y`` robust-scaled on each outer fold's training part, as the predictions are:
    array of shape (n_samples, n_targets), NaN for targets that cannot be scored."""
    valid, scalings = encoding.target_scaling(Y, n_folds)
    out = np.full(Y.shape, np.nan, dtype=np.float32)
    for (_, test), (center, scale) in zip(encoding.outer_folds(len(Y), n_folds), scalings):
        out[np.ix_(test, np.flatnonzero(valid))] = (Y[test][:, valid] - center) / scale
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column pair: array of shape (n_columns,), NaN where undefined."""
    ok = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    out = np.full(a.shape[1], np.nan)
    if ok.any():
        out[ok] = encoding.pearson_r(a[:, ok].astype(float), b[:, ok].astype(float))
    return out
