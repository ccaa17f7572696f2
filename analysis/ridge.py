"""Ridge regression with one penalty per target, every target sharing one decomposition.

For one training set, the thin SVD of the centred design ``X = U diag(s) V^T`` serves every
penalty and every target: the fit for penalty ``a`` is ``V diag(s / (s^2 + a)) U^T Y``. The
penalty of each target is chosen on the training set only, by

- ``"loo"``: exact leave-one-out error, as scikit-learn's ``RidgeCV`` computes it (efficient
  form: residual / (1 - leverage), the intercept unpenalised);
- ``"kfold"``: contiguous inner K-fold over time, as himalaya's ``RidgeCV`` does (each inner
  training part centred, squared error summed over inner folds);
- ``"gcv"``: generalised cross-validation, ``n * RSS / (n - df - 1)^2``, the fast approximation
  (no per-sample leverage).

Arrays may be numpy arrays or torch tensors (CPU or CUDA); everything stays on their device.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SELECTIONS = ("loo", "kfold", "gcv")


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _svd(X):
    """Thin SVD keeping the numerically non-zero singular values: U (n, k), s (k,), Vt (k, p)."""
    if _is_torch(X):
        import torch

        U, s, Vt = torch.linalg.svd(X, full_matrices=False)
    else:
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
    keep = s > s.max() * max(X.shape) * 1e-7 if len(s) else s > 0
    return U[:, keep], s[keep], Vt[keep]


def _vector(values: Sequence[float], like):
    """``values`` as a 1-D array of the dtype and device of ``like``."""
    if _is_torch(like):
        import torch

        return torch.as_tensor(np.asarray(values), dtype=like.dtype, device=like.device)
    return np.asarray(values, dtype=like.dtype)


def _zeros(shape, like):
    if _is_torch(like):
        import torch

        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    return np.zeros(shape, dtype=like.dtype)


def loo_errors(U, s, Yc, alphas, A=None) -> "array":
    """Leave-one-out squared error summed over samples: array of shape (n_alphas, n_targets).

    ``U, s`` decompose the centred design; ``Yc`` (n, t) is centred; ``A = U.T @ Yc`` when
    already computed; the intercept is unpenalised, so each leverage gains ``1 / n``.
    """
    n = Yc.shape[0]
    A = U.T @ Yc if A is None else A
    U2 = U * U
    errors = _zeros((len(alphas), Yc.shape[1]), Yc)
    for j, alpha in enumerate(_vector(alphas, Yc)):
        shrink = s * s / (s * s + alpha)
        leverage = U2 @ shrink + 1.0 / n
        residual = U @ (shrink[:, None] * A)  # the fit, turned in place into scaled residuals
        residual -= Yc
        residual *= (1.0 / (1.0 - leverage))[:, None]
        residual *= residual
        errors[j] = residual.sum(0)
    return errors


def gcv_errors(U, s, Yc, alphas, A=None) -> "array":
    """Generalised cross-validation criterion: array of shape (n_alphas, n_targets)."""
    n = Yc.shape[0]
    A2 = (U.T @ Yc if A is None else A) ** 2
    outside = (Yc * Yc).sum(0) - A2.sum(0)  # residual outside the span of X
    errors = _zeros((len(alphas), Yc.shape[1]), Yc)
    for j, alpha in enumerate(_vector(alphas, Yc)):
        shrink = s * s / (s * s + alpha)
        rss = ((1.0 - shrink) ** 2) @ A2 + outside
        errors[j] = n * rss / (n - shrink.sum() - 1.0) ** 2
    return errors


def kfold_errors(X, Y, alphas, n_folds: int) -> "array":
    """Squared validation error summed over contiguous inner folds: (n_alphas, n_targets)."""
    n = X.shape[0]
    bounds = np.linspace(0, n, n_folds + 1).astype(int)
    errors = _zeros((len(alphas), Y.shape[1]), Y)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        train = np.r_[0:lo, hi:n]
        x_mean, y_mean = X[train].mean(0), Y[train].mean(0)
        U, s, Vt = _svd(X[train] - x_mean)
        A = U.T @ (Y[train] - y_mean)
        XV = (X[lo:hi] - x_mean) @ Vt.T
        target = Y[lo:hi] - y_mean
        for j, alpha in enumerate(_vector(alphas, Y)):
            prediction = XV @ ((s / (s * s + alpha))[:, None] * A)
            errors[j] += ((target - prediction) ** 2).sum(0)
    return errors


def fit_predict(X_train, Y_train, X_test, alphas: Sequence[float], selection: str = "loo",
                inner_folds: int = 5):
    """Fit ridge with one alpha per target chosen on the training set; predict the test set.

    Parameters
    ----------
    X_train : array of shape (n_train, n_features)
    Y_train : array of shape (n_train, n_targets)
    X_test : array of shape (n_test, n_features)
    alphas : penalties searched
    selection : ``"loo"``, ``"kfold"`` or ``"gcv"`` (see the module docstring)
    inner_folds : folds of ``"kfold"``

    Returns
    -------
    prediction : array of shape (n_test, n_targets)
    best : integer array of shape (n_targets,), index into ``alphas`` of each target's choice
    """
    if selection not in SELECTIONS:
        raise ValueError(f"alpha_selection={selection!r}; choose one of {SELECTIONS}.")
    x_mean, y_mean = X_train.mean(0), Y_train.mean(0)
    Xc, Yc = X_train - x_mean, Y_train - y_mean
    U, s, Vt = _svd(Xc)
    A = U.T @ Yc  # shared by the selection and the final fit
    if selection == "loo":
        errors = loo_errors(U, s, Yc, alphas, A)
    elif selection == "gcv":
        errors = gcv_errors(U, s, Yc, alphas, A)
    else:
        errors = kfold_errors(X_train, Y_train, alphas, inner_folds)
    best = errors.argmin(0)
    coef = _zeros(A.shape, A)
    for j, alpha in enumerate(_vector(alphas, Yc)):
        chosen = best == j
        coef[:, chosen] = (s / (s * s + alpha))[:, None] * A[:, chosen]
    prediction = ((X_test - x_mean) @ Vt.T) @ coef + y_mean
    return prediction, best
