"""How far a model's layers are from another model's: linear centred kernel alignment (CKA).

Linear CKA (Kornblith et al. 2019, *Similarity of neural network representations revisited*)
compares two sets of activations of the same frames, ``X`` (n_frames, p) and ``Y``
(n_frames, q), both centred over frames:

    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)

It is 1 when one representation is an orthogonal transform and isotropic scaling of the
other, and falls towards 0 as they share less linear structure; unlike a correlation of
units, it does not care which unit carries what. The demo compares each trained model's layer
with the same layer of the random model it started from, on speech neither heard in training
(the listeners' story), to show whether training moved the representations at all.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

import numpy as np

from analysis import features, models
from analysis.cache import Cache, source_digest
from analysis.config import cache_dir
from analysis.datasets import Stimulus


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA of two representations of the same frames.

    Parameters
    ----------
    X : array of shape (n_frames, n_features_x)
    Y : array of shape (n_frames, n_features_y)

    Returns
    -------
    float in [0, 1]; NaN when either representation is constant over frames
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X {X.shape} and Y {Y.shape} must be 2-D with the same frames.")
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    cross = np.linalg.norm(Y.T @ X) ** 2
    norms = np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    return float(cross / norms) if norms > 0 else float("nan")


def layer_cka(names: Sequence[str], reference: str,
              stimuli: list[Stimulus]) -> dict[str, np.ndarray]:
    """Linear CKA between each layer of every model of ``names`` and the same layer of
    ``reference``, on the frames of ``stimuli`` (sections stacked), cached per model; the
    reference's activations are computed at most once.

    Parameters
    ----------
    names : model names (see :mod:`analysis.models`), each with as many layers as
        ``reference``
    reference : the model every other is compared with
    stimuli : the speech all are run on

    Returns
    -------
    model name -> array of shape (n_layers,), layer 0.. as in :mod:`analysis.features`
    """
    cache = Cache(cache_dir())
    reference_layers = functools.cache(lambda: _activations(reference, stimuli))
    out = {}
    for name in names:
        key = {"stage": "layer_cka", "code": source_digest(sys.modules[__name__]),
               "model": models.fingerprint(name), "reference": models.fingerprint(reference),
               "stimuli": [s.digest() for s in stimuli]}

        def compute(name=name):
            layers, against = _activations(name, stimuli), reference_layers()
            if len(layers) != len(against):
                raise ValueError(f"{name} has {len(layers)} layers and {reference} "
                                 f"{len(against)}; CKA compares the same layer of both.")
            return {"cka": np.array([linear_cka(a, b) for a, b in zip(layers, against)])}

        out[name] = cache.get("layer_cka", key, compute)["cka"]
    return out


def _activations(name: str, stimuli: list[Stimulus]) -> list[np.ndarray]:
    """Every layer's activations of ``name`` on ``stimuli``, sections stacked:
    list (n_layers) of arrays of shape (n_frames_total, n_units)."""
    loaded, normalize = models.load_model(name), models.normalizes_input(name)
    per_section = [features.extract_activations(loaded, s.waveform(), normalize=normalize,
                                                progress=False).layers for s in stimuli]
    return [np.vstack(parts) for parts in zip(*per_section)]
