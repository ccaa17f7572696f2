"""Vertex-wise ridge encoding models, brain scores and noise ceilings.

:func:`brain_score` follows the authors' LPP code: for each outer fold (contiguous in time,
no shuffling), X is standardised and Y robust-scaled on the training part, one ridge penalty
per target is chosen on the training part only (:mod:`analysis.ridge`), and the score is
Pearson's r between the held-out prediction and the held-out response, per target, averaged
over folds. ``alpha_selection="loo"`` (exact leave-one-out, scikit-learn's ``RidgeCV``
default, which the authors used) is the default; ``"kfold"`` is himalaya's contiguous inner
K-fold, ``"shuffled-kfold"`` the same on random folds; ``"gcv"`` the fast generalised
cross-validation. On autocorrelated fMRI, leave-one-out
and GCV under-regularise (a left-out scan is predicted from its neighbours): see the methods
page.
"""
from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from analysis import ridge

log = logging.getLogger(__name__)

DEFAULT_ALPHAS = tuple(np.logspace(1, 8, 20))
BACKENDS = ("auto", "numpy", "torch", "cuda")


def pearson_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching columns of two arrays of shape (n_samples, n_targets).

    Returns an array of shape (n_targets,); a constant column gives NaN.
    """
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=0) / np.where(denom > 0, denom, 1), np.nan)


def robust_scaling(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and interquartile range of each column, as scikit-learn's ``RobustScaler``
    computes them (constant columns get scale 1), vectorised over columns.

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


def outer_folds(n_samples: int, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Contiguous (train, test) index pairs, as scikit-learn's ``KFold(shuffle=False)``."""
    if not 2 <= n_folds <= n_samples // 2:
        raise ValueError(f"n_folds={n_folds} must be between 2 and n_samples/2 = "
                         f"{n_samples // 2}.")
    sizes = np.full(n_folds, n_samples // n_folds)
    sizes[: n_samples % n_folds] += 1
    stops = np.cumsum(sizes)
    index = np.arange(n_samples)
    return [(np.r_[index[: stop - size], index[stop:]], index[stop - size: stop])
            for size, stop in zip(sizes, stops)]


def resolve_backend(backend: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible to torch, else ``"numpy"``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}; choose one of {BACKENDS}.")
    if backend in ("auto", "cuda"):
        try:
            import torch

            has_gpu = torch.cuda.is_available()
        except ImportError:
            has_gpu = False
        if backend == "cuda" and not has_gpu:
            raise ValueError("backend='cuda' but torch sees no GPU; use backend='auto'.")
        return "cuda" if has_gpu else "numpy"
    return backend


def _to_backend(array: np.ndarray, backend: str, dtype):
    if backend == "numpy":
        return np.asarray(array, dtype=dtype)
    import torch

    return torch.as_tensor(np.asarray(array, dtype=dtype),
                           device="cuda" if backend == "cuda" else "cpu")


def _to_numpy(array) -> np.ndarray:
    return array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)


def _check(X: np.ndarray, Y: np.ndarray, alpha_selection: str) -> None:
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X {X.shape} and Y {Y.shape} must be 2-D with the same number of rows.")
    if alpha_selection not in ridge.SELECTIONS:
        raise ValueError(f"alpha_selection={alpha_selection!r}; choose one of "
                         f"{ridge.SELECTIONS}.")


def _scaled(Y: np.ndarray, rows: np.ndarray, valid: np.ndarray, center: np.ndarray,
            scale: np.ndarray, dtype) -> np.ndarray:
    """Rows of the valid targets of ``Y``, robust-scaled, in ``dtype``: (n_rows, n_valid)."""
    out = Y[rows] if valid.all() else Y[rows][:, valid]
    out = out.astype(dtype, copy=False)
    out -= center.astype(dtype)
    out /= scale.astype(dtype)
    return out


def _fold_predictions(designs: Sequence[np.ndarray], Y: np.ndarray, *, n_folds: int,
                      alphas: Sequence[float], alpha_selection: str, inner_folds: int,
                      backend: str, y_pca: int | None, dtype, scaling, n_threads: int | None,
                      progress: bool = False):
    """The outer cross-validation loop shared by every public function of this module.

    Y's scaled training part is prepared once per fold and serves every design.

    Yields
    ------
    test : integer array of shape (n_test,), the held-out samples of this fold
    predictions : list (one per design) of arrays of shape (n_test, n_valid)
    y_test : array of shape (n_test, n_valid), the held-out responses, scaled
    valid : boolean array of shape (n_targets,), the targets predicted
    """
    Y = np.asarray(Y)
    dtype = np.dtype(dtype).type
    for X in designs:
        _check(np.asarray(X), Y, alpha_selection)
    folds = outer_folds(len(Y), n_folds)
    backend = resolve_backend(backend)
    if n_threads is None:
        n_threads = os.cpu_count() or 1
    valid, scalings = target_scaling(Y, n_folds) if scaling is None else scaling
    for (train, test), (center, scale) in tqdm(list(zip(folds, scalings)), desc="folds",
                                               disable=not progress, leave=False):
        y_train = _scaled(Y, train, valid, center, scale, dtype)
        y_test = _scaled(Y, test, valid, center, scale, np.float64)
        components = None
        if y_pca:
            components = _principal_axes(y_train, y_pca)
            y_train = y_train @ components.T
        y_mean = y_train.mean(0)
        y_train -= y_mean
        y_back = _to_backend(y_train, backend, dtype)
        del y_train
        predictions = []
        for X in designs:
            X = np.asarray(X, dtype=np.float64)
            x_mean, x_std = X[train].mean(0), X[train].std(0)
            x_std = np.where(x_std > 0, x_std, 1.0)
            prediction, _ = ridge.fit_predict(
                _to_backend((X[train] - x_mean) / x_std, backend, dtype), y_back,
                _to_backend((X[test] - x_mean) / x_std, backend, dtype),
                alphas, alpha_selection, inner_folds, centred=True, n_threads=n_threads)
            prediction = _to_numpy(prediction).astype(np.float64) + y_mean
            predictions.append(prediction if components is None else prediction @ components)
        yield test, predictions, y_test, valid


def _scores(designs, Y, n_folds: int, **options) -> np.ndarray:
    """Brain scores of several designs sharing the outer loop: (n_designs, n_targets)."""
    folds, valid = [], None
    for _, predictions, y_test, valid in _fold_predictions(designs, Y, n_folds=n_folds,
                                                           **options):
        folds.append(np.stack([pearson_r(p, y_test) for p in predictions]))
    out = np.full((len(designs), np.shape(Y)[1]), np.nan, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a target NaN on every fold
        out[:, valid] = np.nanmean(folds, axis=0)
    return out


def brain_score(X: np.ndarray, Y: np.ndarray, *, n_folds: int = 10,
                alphas: Sequence[float] = DEFAULT_ALPHAS, alpha_selection: str = "loo",
                inner_folds: int = 5, backend: str = "auto", y_pca: int | None = None,
                dtype=np.float64, scaling=None, n_threads: int | None = None) -> np.ndarray:
    """Cross-validated encoding score of each target.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), regressors at scan times
    Y : array of shape (n_samples, n_targets), responses; NaN or constant targets stay NaN
    n_folds : outer folds, contiguous in time
    alphas : ridge penalties searched
    alpha_selection : one of :data:`analysis.ridge.SELECTIONS`
    inner_folds : inner folds of ``"kfold"`` and ``"shuffled-kfold"``
    backend : ``"auto"`` (GPU when torch sees one, else numpy), ``"numpy"``, ``"torch"`` (CPU)
        or ``"cuda"``
    y_pca : when set, Y (scaled) is reduced to this many principal components on each
        training part, ridge predicts the components, and predictions are mapped back to the
        targets before scoring (as the authors' LPP code reduced Y to 100 components)
    dtype : float64 (default) or float32 (about twice as fast; the penalty of a target whose
        best two are within float32 rounding is decided in float64); a numpy type or its name
    scaling : :func:`target_scaling` of ``Y`` for these folds, when already computed
    n_threads : threads of the numpy backend, each with one BLAS thread (default: every CPU)

    Returns
    -------
    array of shape (n_targets,): Pearson r between held-out prediction and response,
    averaged over the outer folds
    """
    return _scores([X], Y, n_folds=n_folds, alphas=alphas, alpha_selection=alpha_selection,
                   inner_folds=inner_folds, backend=backend, y_pca=y_pca, dtype=dtype,
                   scaling=scaling, n_threads=n_threads)[0]


def cross_val_predict(X: np.ndarray, Y: np.ndarray, *, n_folds: int = 10,
                      alphas: Sequence[float] = DEFAULT_ALPHAS, alpha_selection: str = "loo",
                      inner_folds: int = 5, backend: str = "auto", y_pca: int | None = None,
                      dtype=np.float64, scaling=None,
                      n_threads: int | None = None) -> np.ndarray:
    """Held-out prediction of every sample, from the outer fold that holds it out.

    Same options and the same computation as :func:`brain_score` (whose score is, per fold,
    Pearson's r between these predictions and the scaled responses).

    Returns
    -------
    array of shape (n_samples, n_targets), in the units of ``Y`` robust-scaled on each fold's
    training part; NaN for targets that cannot be scored
    """
    out = np.full(np.shape(Y), np.nan)
    for test, (prediction,), _, valid in _fold_predictions(
            [X], Y, n_folds=n_folds, alphas=alphas, alpha_selection=alpha_selection,
            inner_folds=inner_folds, backend=backend, y_pca=y_pca, dtype=dtype,
            scaling=scaling, n_threads=n_threads):
        out[np.ix_(test, valid)] = prediction
    return out


def target_scaling(Y: np.ndarray, n_folds: int):
    """Which targets can be scored, and the robust scaling of each training part.

    Returns
    -------
    valid : boolean array of shape (n_targets,): finite and not constant
    scalings : list (one per outer fold) of ``(center, scale)`` arrays of shape (n_valid,)
    """
    valid = np.isfinite(Y).all(axis=0)
    valid[valid] = Y[:, valid].std(axis=0) > 0
    Yv = Y[:, valid]
    return valid, [robust_scaling(Yv[train]) for train, _ in outer_folds(len(Y), n_folds)]


def _principal_axes(Y: np.ndarray, n_components: int) -> np.ndarray:
    """First principal axes of the centred ``Y``: array of shape (n_components, n_targets)."""
    _, _, Vt = np.linalg.svd(Y - Y.mean(0), full_matrices=False)
    return Vt[:n_components]


def score_layers(layers: Sequence[np.ndarray], Y: np.ndarray, *, cumulative: bool = False,
                 n_jobs: int = 1, progress: bool = True, **kwargs) -> np.ndarray:
    """Brain scores of each layer's regressors (or of layers 0..k concatenated).

    The outer folds loop once: Y's scaling and scaled training part are shared by every layer.

    Parameters
    ----------
    layers : sequence of arrays of shape (n_samples, n_features_layer)
    Y : array of shape (n_samples, n_targets)
    cumulative : score the concatenation of layers 0..k for each k, as the authors also did
    n_jobs : processes sharing the layers, each with one thread (one BLAS thread); with the
        default 1, one process whose numpy work is shared over ``n_threads`` threads
    progress : show a progress bar over folds
    **kwargs : passed to :func:`brain_score`

    Returns
    -------
    array of shape (n_layers, n_targets)
    """
    designs = ([np.hstack(layers[: k + 1]) for k in range(len(layers))] if cumulative
               else list(layers))
    options = dict(n_folds=10, alphas=DEFAULT_ALPHAS, alpha_selection="loo", inner_folds=5,
                   backend="auto", y_pca=None, dtype=np.float64, scaling=None, n_threads=None)
    unknown = set(kwargs) - set(options)
    if unknown:
        raise TypeError(f"score_layers got unexpected options {sorted(unknown)}.")
    options.update(kwargs)
    if options["scaling"] is None:
        options["scaling"] = target_scaling(np.asarray(Y), options["n_folds"])
    if n_jobs == 1 or len(designs) == 1:
        return _scores(designs, Y, progress=progress, **options)
    from joblib import Parallel, delayed

    options["n_threads"] = 1
    groups = [list(range(len(designs)))[i::n_jobs] for i in range(n_jobs)]
    parts = Parallel(n_jobs=n_jobs)(delayed(_one_thread_scores)([designs[i] for i in g], Y,
                                                                options)
                                    for g in groups if g)
    out = np.empty((len(designs), np.shape(Y)[1]), dtype=np.float32)
    for g, part in zip([g for g in groups if g], parts):
        out[g] = part
    return out


def _one_thread_scores(designs, Y, options):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _scores(designs, Y, **options)


def noise_ceiling(responses: Sequence[np.ndarray], *, n_folds: int = 10) -> np.ndarray:
    """Each participant's responses predicted from the mean of the others', per target.

    With one predictor per target, a ridge fit (intercept included) predicts an affine
    function of that predictor, so its held-out r is the correlation of the predictor with the
    response, signed by the slope fitted on the training part; this computes exactly that,
    with the same contiguous outer folds as :func:`brain_score`.

    Parameters
    ----------
    responses : one array of shape (n_samples, n_targets) per participant (at least two),
        aligned in time

    Returns
    -------
    array of shape (n_participants, n_targets), averaged over folds (NaN where undefined)
    """
    if len(responses) < 2:
        raise ValueError("noise_ceiling needs at least two participants' responses.")
    stack = np.stack([np.asarray(r, dtype=np.float64) for r in responses])
    if len({r.shape for r in stack}) != 1:
        raise ValueError("responses must all have the same shape (n_samples, n_targets).")
    total = stack.sum(0)
    out = []
    for y in stack:
        others = (total - y) / (len(stack) - 1)
        per_fold = []
        for train, test in outer_folds(len(y), n_folds):
            slope_sign = np.sign(pearson_r(others[train], y[train]))
            per_fold.append(slope_sign * pearson_r(others[test], y[test]))
        out.append(np.nanmean(per_fold, axis=0))
    return np.asarray(out, dtype=np.float32)
