"""Voxel-wise (vertex-wise) ridge encoding models and their brain scores.

For each outer fold (contiguous in time, no shuffling): X is standardised and Y robust-scaled
on the training part; himalaya chooses one alpha per target by contiguous inner K-fold on the
training part only (``RidgeCV``, or, when there are fewer samples than features, the same
ridge solved in its dual form by ``KernelRidgeCV`` with a linear kernel, as himalaya advises); the brain score is Pearson's r between the held-out
prediction and the held-out response, per target, averaged over folds.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

log = logging.getLogger(__name__)

DEFAULT_ALPHAS = tuple(np.logspace(1, 8, 20))


def pearson_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching columns of two arrays of shape (n_samples, n_targets).

    Returns an array of shape (n_targets,); a constant column gives NaN.
    """
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=0) / denom, np.nan)


def robust_scaling(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and interquartile range of each column, as scikit-learn's ``RobustScaler``
    computes them (constant columns get scale 1), but vectorised over columns.

    Parameters
    ----------
    Y : array of shape (n_samples, n_targets), finite

    Returns
    -------
    center, scale : arrays of shape (n_targets,)
    """
    q1, median, q3 = np.percentile(Y, [25, 50, 75], axis=0)
    iqr = q3 - q1
    return median, np.where(iqr > 0, iqr, 1.0)


def brain_score(X: np.ndarray, Y: np.ndarray, *, n_folds: int = 5, inner_folds: int = 5,
                alphas: Sequence[float] = DEFAULT_ALPHAS) -> np.ndarray:
    """Cross-validated encoding score of each target.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), regressors at scan times
    Y : array of shape (n_samples, n_targets), responses; NaN or constant targets stay NaN
    n_folds : outer folds, contiguous in time
    inner_folds : inner folds choosing one alpha per target on the training part
    alphas : ridge penalties searched

    Returns
    -------
    array of shape (n_targets,): Pearson r between held-out prediction and response,
    averaged over the outer folds
    """
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV

    X, Y = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X {X.shape} and Y {Y.shape} must be 2-D with the same number of rows.")
    if not 2 <= n_folds <= len(X) // 2:
        raise ValueError(f"n_folds={n_folds} must be between 2 and n_samples/2 = {len(X) // 2}.")
    set_backend("numpy", on_error="raise")
    valid = np.isfinite(Y).all(axis=0)
    valid[valid] = Y[:, valid].std(axis=0) > 0
    Yv = Y[:, valid]
    scores = np.zeros((n_folds, int(valid.sum())))
    for fold, (train, test) in enumerate(KFold(n_folds, shuffle=False).split(X)):
        x_scaler = StandardScaler().fit(X[train])
        center, scale = robust_scaling(Yv[train])
        inner = KFold(inner_folds, shuffle=False)
        if len(train) < X.shape[1]:
            ridge = KernelRidgeCV(alphas=np.asarray(alphas), kernel="linear", cv=inner,
                                  fit_intercept=True)
        else:
            ridge = RidgeCV(alphas=np.asarray(alphas), cv=inner, fit_intercept=True)
        ridge.fit(x_scaler.transform(X[train]), (Yv[train] - center) / scale)
        prediction = np.asarray(ridge.predict(x_scaler.transform(X[test])))
        scores[fold] = pearson_r(prediction, (Yv[test] - center) / scale)
    out = np.full(Y.shape[1], np.nan, dtype=np.float32)
    out[valid] = np.nanmean(scores, axis=0)
    return out


def score_layers(layers: Sequence[np.ndarray], Y: np.ndarray, *, progress: bool = True,
                 **kwargs) -> np.ndarray:
    """Brain scores of each layer's regressors.

    Parameters
    ----------
    layers : sequence of arrays of shape (n_samples, n_features_layer)
    Y : array of shape (n_samples, n_targets)
    **kwargs : passed to :func:`brain_score`

    Returns
    -------
    array of shape (n_layers, n_targets)
    """
    return np.stack([brain_score(X, Y, **kwargs)
                     for X in tqdm(layers, desc="layers", disable=not progress, leave=False)])
