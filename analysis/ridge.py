"""Ridge regression with one penalty per target, every target sharing one decomposition.

For one training set, the eigendecomposition of the centred design's Gram matrix
(``X^T X = V diag(s^2) V^T``, so ``X = U diag(s) V^T`` with ``U = X V / s``) serves every
penalty and every target: the fit for penalty ``a`` is ``V diag(s / (s^2 + a)) U^T Y``. The
penalty of each target is chosen on the training set only, by

- ``"loo"``: exact leave-one-out error, as scikit-learn's ``RidgeCV`` computes it (efficient
  form: residual / (1 - leverage), the intercept unpenalised);
- ``"kfold"``: contiguous inner K-fold over time, as himalaya's ``RidgeCV`` does (each inner
  training part centred, mean squared error of each inner fold summed over folds);
- ``"gcv"``: generalised cross-validation, ``n * RSS / (n - df - 1)^2``, the fast approximation
  (no per-sample leverage).

Speed: the decompositions are computed in float64 (they are small: features x features);
the work that grows with the number of targets runs in the caller's dtype, on chunks of
targets small enough to stay in cache while every penalty is evaluated on them, the chunks
shared out over ``n_threads`` threads (one BLAS thread each). In float32, the per-penalty
factors (``a / (s^2 + a)`` for ``"loo"``, ``s / (s^2 + a)`` for ``"kfold"``) are applied
through their low-rank form over penalties (about 12 terms serve 20 penalties, exact to
``LOW_RANK_TOLERANCE``), squared errors are summed in float64, and a target whose best two
penalties are closer than float32 rounding could decide (relative gap under
``TIE_TOLERANCE``) has the penalties in question recomputed in float64, so float32 picks the
same penalties as float64. For ``"kfold"``, whose validation predictions dominate the cost, a
first pass uses only ``SCREEN_RANK`` low-rank terms with a bound on the rest, and only the
penalties that this bound cannot rule out are computed in full; its errors are compared
without the targets' own sum of squares, so that large penalties' small differences survive
float32 (ties are then relative to ``|t| |p|``, see :meth:`_Inner.errors`).

Arrays may be numpy arrays or torch tensors (CPU or CUDA); everything stays on their device.
"""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

SELECTIONS = ("loo", "kfold", "gcv")
TIE_TOLERANCE = 1e-6  # relative error gap under which float64 decides (float32 sums: <2e-7 seen)
LOW_RANK_TOLERANCE = 1e-9  # relative, below float32 rounding
CHUNK = 128  # targets processed together (their arrays stay in cache across penalties)
SCREEN_RANK = 6  # "kfold" screening terms (see _Inner.errors; at LPP size 5 and 6 were as
# fast, 7.3-7.4 s per layer and outer fold, and 6 sends 13 % of targets to refinement, not 45 %)
SCREEN_MARGIN = TIE_TOLERANCE  # relative: float32 decides beyond it, as for ties


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _cast(x, like, double: bool = False):
    """``x`` (numpy or torch) in the dtype (or float64 when ``double``) and device of ``like``."""
    if _is_torch(like):
        import torch

        dtype = torch.float64 if double else like.dtype
        return torch.as_tensor(x, device=like.device).to(dtype)
    return np.asarray(x, dtype=np.float64 if double else like.dtype)


def _is_double(x) -> bool:
    return str(x.dtype).endswith("float64")


def _empty(shape, like):
    if _is_torch(like):
        import torch

        return torch.empty(shape, dtype=like.dtype, device=like.device)
    return np.empty(shape, dtype=like.dtype)


def _decompose(Xc):
    """Thin decomposition of a centred design, in float64, keeping non-null directions.

    Returns ``U`` (n, k), ``s2`` (k,) the squared singular values and ``V`` (p, k).
    """
    X = _cast(Xc, Xc, double=True)
    n, p = X.shape
    if _is_torch(X):
        import torch

        eigh = torch.linalg.eigh
    else:
        eigh = np.linalg.eigh
    if n >= p:
        s2, V = eigh(X.T @ X)
    else:  # kernel form
        s2, U = eigh(X @ X.T)
    top = s2.max() if len(s2) else 0.0
    keep = s2 > top * (max(n, p) * 1e-7) ** 2 if top > 0 else s2 > 0
    s2 = s2[keep]
    s = s2 ** 0.5
    if n >= p:
        V = V[:, keep]
        U = (X @ V) / s
    else:
        U = U[:, keep]
        V = (X.T @ U) / s
    return U, s2, V


class _Fit:
    """One training set's decomposition and per-penalty factors, in float64 and in ``like``'s
    dtype, for the chunked error functions."""

    def __init__(self, Xc, alphas, like, leverage: bool):
        self.U64, s2, self.V64 = _decompose(Xc)
        self.alphas = _cast(np.asarray(alphas, dtype=np.float64), self.U64)
        a = self.alphas[:, None]
        self.n = Xc.shape[0]
        shrink = s2 / (s2 + a)  # (n_alphas, k): the fitted fraction of each direction
        self.s2 = s2
        self.factors64 = {"keep": a / (s2 + a),  # residual fraction of each direction
                          "coef": s2 ** 0.5 / (s2 + a),  # coefficient in the V basis per U^T y
                          "keep2": (a / (s2 + a)) ** 2,
                          "df": shrink.sum(1)}
        # Low-rank forms over penalties, F = P @ Q (P: (n_alphas, r), Q: (r, k)), exact to
        # LOW_RANK_TOLERANCE: r products serve every penalty (float32 work only)
        self.low_rank64 = {"keep": _low_rank(self.factors64["keep"]),
                           "coef": _low_rank(self.factors64["coef"], row_scaled=True)}
        if leverage:  # 1 / (1 - leverage)^2, the intercept unpenalised: (n_alphas, n)
            lev = shrink @ (self.U64 * self.U64).T + 1.0 / self.n
            self.factors64["weight"] = 1.0 / (1.0 - lev) ** 2
        self.like = like
        self._in = {}
        self.get(False), self.get(True)  # before any thread reads them

    def get(self, double: bool):
        """``U``, ``V`` and the factors in float64 (``double``) or the working dtype."""
        if double not in self._in:
            cast = (lambda x: _cast(x, self.like, double=double))
            factors = {k: cast(v) for k, v in self.factors64.items()}
            factors.update({"low_" + k: (cast(P), cast(Q))
                            for k, (P, Q) in self.low_rank64.items()})
            self._in[double] = (cast(self.U64), cast(self.V64), factors)
        return self._in[double]

    def low_rank(self, name: str, double: bool):
        """``(P, Q)`` of factor ``name`` in the working dtype when it saves work, else None."""
        P, _ = self.low_rank64[name]
        if double or P.shape[1] > 0.75 * P.shape[0]:
            return None
        return self.get(double)[2]["low_" + name]


def _low_rank(F, row_scaled: bool = False):
    """``(P, Q)`` with ``P @ Q`` equal to ``F`` (n_alphas, k) within LOW_RANK_TOLERANCE of its
    largest singular value (``row_scaled``: each row within LOW_RANK_TOLERANCE of its own norm,
    the terms ordered by importance); Q has orthonormal rows."""
    norms = (F * F).sum(1) ** 0.5 if row_scaled else None
    if row_scaled:
        F = F / norms[:, None]
    if _is_torch(F):
        import torch

        W, S, Qt = torch.linalg.svd(F, full_matrices=False)
    else:
        W, S, Qt = np.linalg.svd(F, full_matrices=False)
    r = max(1, int((S > S[0] * LOW_RANK_TOLERANCE).sum())) if len(S) and S[0] > 0 else len(S)
    P = W[:, :r] * S[:r]
    return (P if norms is None else norms[:, None] * P), Qt[:r]


def _combine(Q, AT, M):
    """``T`` (r, m, n) with ``T[i] = (AT * Q[i]) @ M.T``, for AT (m, k), M (n, k): one product."""
    r, (m, k) = Q.shape[0], AT.shape
    return ((Q[:, None, :] * AT[None]).reshape(r * m, k) @ M.T).reshape(r, m, -1)


def _transposed(x):
    """``x.T`` as a C-contiguous array."""
    return x.T.contiguous() if _is_torch(x) else np.ascontiguousarray(x.T)


def _loo(fit: _Fit, YT, AT, double: bool, rows=None):
    """Leave-one-out squared error summed over samples: (n_alphas, m), for the centred
    targets ``YT`` (m, n) and ``AT = YT @ U`` (m, k); with ``rows`` (penalty indices), only
    those rows are computed (the others are left at 0)."""
    U, _, f = fit.get(double)
    R0 = YT - AT @ U.T  # residual outside the span of the design: (m, n)
    errors = _cast(np.zeros((len(fit.alphas), YT.shape[0])), fit.U64)  # float64 sums
    weight = fit.factors64["weight"]
    low = None if rows is not None else fit.low_rank("keep", double)
    if low is not None:
        P, Q = low
        T = _combine(Q, AT, U).reshape(Q.shape[0], -1)
    for j in range(len(fit.alphas)) if rows is None else rows:
        if low is None:  # residual = R0 + U diag(keep) A
            E = (f["keep"][j] * AT) @ U.T
        else:
            E = (P[j] @ T).reshape(R0.shape)
        E += R0
        E *= E
        errors[j] = _cast(E, weight) @ weight[j]
    return errors


def _gcv(fit: _Fit, YT, AT, double: bool):
    """Generalised cross-validation criterion: (n_alphas, m)."""
    f = fit.factors64  # the work per penalty is small: all in float64
    A = _cast(AT, f["keep2"])
    A2 = A * A
    outside = _sum_squares(YT) - A2.sum(1)
    rss = f["keep2"] @ A2.T + outside
    return fit.n * rss / ((fit.n - f["df"] - 1.0) ** 2)[:, None]


def _sum_squares(E):
    """Row sums of ``E * E`` accumulated in float64: (m,)."""
    return _row_dot(E, E)


def _row_dot(A, B):
    """Row-wise dot products of ``A`` and ``B`` (m, n) accumulated in float64: (m,)."""
    if _is_torch(A):
        return (A.double() * B.double()).sum(1)
    return np.einsum("ij,ij->i", A, B, dtype=np.float64)


def _column_min(x):
    """Minimum of each column: (m,) for ``x`` (n_alphas, m)."""
    return x.min(0).values if _is_torch(x) else x.min(0)


def _clip(x):
    """``x`` with negative entries (rounding) set to 0."""
    return x.clamp(min=0) if _is_torch(x) else np.maximum(x, 0)


class _Inner:
    """Contiguous inner folds of a centred training set, for ``"kfold"``."""

    def __init__(self, Xc, alphas, n_folds: int, like, n_threads: int = 1):
        n = Xc.shape[0]
        if not 2 <= n_folds <= n // 2:
            raise ValueError(f"inner_folds={n_folds} must be between 2 and n_train/2 = "
                             f"{n // 2}.")
        sizes = np.full(n_folds, n // n_folds)
        sizes[: n % n_folds] += 1  # as scikit-learn's KFold, which himalaya takes
        self.bounds = np.r_[0, np.cumsum(sizes)]

        def one(lo, hi):
            train = np.r_[0:lo, hi:n]
            x_mean = Xc[train].mean(0)
            fit = _Fit(Xc[train] - x_mean, alphas, like, leverage=False)
            Z = (_cast(Xc[lo:hi], fit.U64) - _cast(x_mean, fit.U64)) @ fit.V64
            return lo, hi, fit, {False: _cast(Z, like), True: _cast(Z, like, True)}, \
                _Screen(fit, Z, like)

        pairs = list(zip(self.bounds[:-1], self.bounds[1:]))
        if n_threads > 1 and not _is_torch(like):  # the decompositions run side by side
            with ThreadPoolExecutor(n_threads) as pool:
                self.folds = list(pool.map(lambda b: one(*b), pairs))
        else:
            self.folds = [one(lo, hi) for lo, hi in pairs]
        self.n_alphas = len(alphas)
        self.screening = all(screen.useful for *_, screen in self.folds)

    def errors(self, YT, double: bool, rows=None):
        """Validation errors of every penalty for the targets ``YT`` (m, n): ``(errors, scale)``,
        both (n_alphas, m); with ``rows``, only those penalties' rows are computed.

        ``errors`` is the mean squared validation error summed over inner folds, less the
        targets' own mean squares (the same for every penalty): ``|p|^2 - 2 t.p`` for the
        prediction ``p`` of the validation target ``t``. Written so, the small differences
        between large penalties are not lost in float32 rounding of ``|p - t|^2``; ``scale``
        (``|t| |p|``, summed alike) is what that rounding is relative to.

        In the working dtype (float32), each fold's errors are first screened with the
        ``SCREEN_RANK`` leading terms of the coefficients' low-rank form, with a bound on what
        the terms left out can change; the penalties that the bound cannot rule out are then
        computed exactly (see :class:`_Screen`). Every other penalty is provably worse than the
        best, so the choice is that of the exact errors."""
        n, m = YT.shape[1], YT.shape[0]
        like64 = self.folds[0][2].U64
        errors, scale, slack = (_cast(np.zeros((self.n_alphas, m)), like64) for _ in range(3))
        total = YT.sum(1)
        screening = self.screening and rows is None and not double
        screened = []  # (fold, B, target, |target|^2) for the exact pass over the candidates
        for fold in self.folds:
            lo, hi, fit, Zs, screen = fold
            U, _, f = fit.get(double)
            Z = Zs[double]
            B = YT[:, :lo] @ U[:lo] + YT[:, hi:] @ U[lo:]  # U's columns sum to 0: no centring
            target = YT[:, lo:hi] - ((total - YT[:, lo:hi].sum(1)) / (n - (hi - lo)))[:, None]
            tt = _sum_squares(target)
            if screening:
                low = screen.low
                bound = screen.bound(B)  # (n_alphas, m): prediction error norms, at most
                screened.append((fold, B, target, tt))
            else:
                low = None if rows is not None else fit.low_rank("coef", double)
            if low is not None:
                P, Q = low
                T = _combine(Q, B, Z).reshape(Q.shape[0], -1)
            for j in range(self.n_alphas) if rows is None else rows:
                if low is None:
                    p = (f["coef"][j] * B) @ Z.T
                else:
                    p = (P[j] @ T).reshape(target.shape)
                error, size = _fold_error(p, target, tt, hi - lo)
                errors[j] += error
                scale[j] += size
                if screening:  # |p - t| bounds how much an error d on p changes the error
                    residual = _clip((error * (hi - lo)) + tt) ** 0.5
                    slack[j] += (2 * residual + bound[j]) * bound[j] / (hi - lo)
        if screened:
            self._refine(errors, scale, slack, screened)
        return errors, scale

    def _refine(self, errors, scale, slack, screened):
        """Replace the screened errors and scales by exact ones (in place) wherever the
        screening bound cannot rule a penalty out: (target, penalty) pairs whose lower bound is
        under the best upper bound, on targets with more than one such pair."""
        margin = SCREEN_MARGIN * scale
        candidate = errors - slack - margin <= _column_min(errors + slack + margin)
        targets = candidate.sum(0) > 1
        if _is_torch(errors):
            pen, tgt = (candidate & targets[None]).nonzero(as_tuple=True)
        else:
            pen, tgt = np.nonzero(candidate & targets[None])
        if len(tgt) == 0:
            return
        exact, exact_scale = _cast(np.zeros(len(tgt)), errors), _cast(np.zeros(len(tgt)), errors)
        for (lo, hi, fit, Zs, _), B, target, tt in screened:
            coef = fit.get(False)[2]["coef"]
            for start in range(0, len(tgt), CHUNK):
                pairs = slice(start, start + CHUNK)
                p = (coef[pen[pairs]] * B[tgt[pairs]]) @ Zs[False].T
                error, size = _fold_error(p, target[tgt[pairs]], tt[tgt[pairs]], hi - lo)
                exact[pairs] += error
                exact_scale[pairs] += size
        errors[pen, tgt] = exact
        scale[pen, tgt] = exact_scale


def _fold_error(p, target, tt, n_val: int):
    """One validation fold's error of the predictions ``p`` of ``target`` (m, n_val), less the
    target's own mean square, and its rounding scale: ``(|p|^2 - 2 t.p) / n_val`` and
    ``|t| |p| / n_val``, each (m,) in float64; ``tt`` is ``|t|^2`` (m,)."""
    pp = _sum_squares(p)
    return (pp - 2 * _row_dot(p, target)) / n_val, (tt * pp) ** 0.5 / n_val


class _Screen:
    """The leading ``SCREEN_RANK`` terms of one inner fold's coefficient factors over
    penalties, and a bound on the rest.

    The terms come from the factors with each penalty's row scaled to unit norm, so that every
    row, large penalties' small coefficients included, is approximated to the same relative
    accuracy. With ``coef = P Q + R`` (``P Q`` the leading terms, ``R`` (n_alphas, k) the
    remainder), the validation prediction of penalty ``j`` for the coefficients ``b`` (in the U
    basis) is off by ``Z (R[j] * b)``, whose norm is at most
    ``||Z||_2 * sqrt((R**2 @ b**2)[j])``; a squared error ``e`` is then off by at most
    ``(2 sqrt(e) + d) d`` for that bound ``d``."""

    def __init__(self, fit: _Fit, Z64, like):
        P, Q = fit.low_rank64["coef"]  # row-scaled: its leading terms serve every row alike
        full_rank = P.shape[1]
        self.useful = (not _is_double(like) and SCREEN_RANK < full_rank
                       and full_rank <= 0.75 * len(fit.alphas))
        if not self.useful:
            return
        P, Q = P[:, :SCREEN_RANK], Q[:SCREEN_RANK]
        R = fit.factors64["coef"] - P @ Q
        small = Z64 @ Z64.T if Z64.shape[0] <= Z64.shape[1] else Z64.T @ Z64
        if _is_torch(small):
            import torch

            top = float(torch.linalg.eigvalsh(small).max())
        else:
            top = float(np.linalg.eigvalsh(small).max())
        # ||Z||_2, with a relative safety factor for the float32 rounding of the bound itself
        self.scale = top ** 0.5 * (1 + 1e-3)
        self.low = (_cast(P, like), _cast(Q, like))
        self.R2 = _cast(R * R, like)

    def bound(self, B):
        """Upper bounds on the prediction errors' norms: (n_alphas, m) for ``B`` (m, k)."""
        return self.scale * (self.R2 @ (B * B).T) ** 0.5


def _ties(errors, tolerance: float, scale=None):
    """Near ties: ``(targets, rows)``, the targets whose best two errors are closer than
    ``tolerance`` relative to ``scale`` (what their rounding is relative to: the errors
    themselves when None), and the penalties that are that close to any of them."""
    if scale is None:
        best = _column_min(errors)
        near = errors <= best + tolerance * (best.abs() if _is_torch(best) else np.abs(best))
    else:
        near = errors - tolerance * scale <= _column_min(errors + tolerance * scale)
    if _is_torch(errors):
        targets = (near.sum(0) > 1).nonzero().flatten()
        rows = near[:, targets].any(1).nonzero().flatten().tolist()
    else:
        targets = np.flatnonzero(near.sum(0) > 1)
        rows = np.flatnonzero(near[:, targets].any(1)).tolist()
    return targets, rows


def fit_predict(X_train, Y_train, X_test, alphas: Sequence[float], selection: str = "loo",
                inner_folds: int = 5, *, centred: bool = False, n_threads: int = 1,
                chunk: int = CHUNK):
    """Fit ridge with one alpha per target chosen on the training set; predict the test set.

    Parameters
    ----------
    X_train : array of shape (n_train, n_features)
    Y_train : array of shape (n_train, n_targets)
    X_test : array of shape (n_test, n_features)
    alphas : penalties searched
    selection : ``"loo"``, ``"kfold"`` or ``"gcv"`` (see the module docstring)
    inner_folds : folds of ``"kfold"``
    centred : ``Y_train`` already has zero column means (skips a copy)
    n_threads : threads sharing the chunks of targets (numpy), each with one BLAS thread
        while they run
    chunk : targets per chunk

    Returns
    -------
    prediction : array of shape (n_test, n_targets), in ``Y_train``'s dtype
    best : integer array of shape (n_targets,), index into ``alphas`` of each target's choice
    """
    if selection not in SELECTIONS:
        raise ValueError(f"alpha_selection={selection!r}; choose one of {SELECTIONS}.")
    if n_threads > 1 and not _is_torch(Y_train):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return _fit_predict(X_train, Y_train, X_test, alphas, selection, inner_folds,
                                centred, n_threads, chunk)
    return _fit_predict(X_train, Y_train, X_test, alphas, selection, inner_folds, centred,
                        n_threads, chunk)


def _fit_predict(X_train, Y_train, X_test, alphas, selection, inner_folds, centred, n_threads,
                 chunk):
    if len(alphas) == 0 or min(alphas) <= 0:
        raise ValueError(f"alphas={list(alphas)} must be a non-empty list of positive numbers.")
    x_mean = X_train.mean(0)
    y_mean = 0.0 if centred else Y_train.mean(0)
    Yc = Y_train if centred else Y_train - y_mean
    fit = _Fit(X_train - x_mean, alphas, Yc, leverage=selection == "loo")
    inner = (_Inner(X_train - x_mean, alphas, inner_folds, Yc, n_threads)
             if selection == "kfold" else None)
    U, V, f = fit.get(False)
    Zt = _cast(_cast(X_test - x_mean, fit.U64) @ fit.V64, Yc)  # test design in the V basis
    t = Yc.shape[1]
    prediction = _empty((X_test.shape[0], t), Yc)
    double = _is_double(Yc)

    def errors_of(YT, AT, in_double, rows=None):
        """``(errors, scale)``: (n_alphas, m) each, the scale None when it is the errors'."""
        if selection == "loo":
            return _loo(fit, YT, AT, in_double, rows), None
        if selection == "gcv":
            return _gcv(fit, YT, AT, in_double), None
        return inner.errors(YT, in_double, rows)

    def run(start):
        cols = slice(start, min(start + chunk, t))
        YT = _transposed(Yc[:, cols])  # (m, n): each target's samples contiguous
        AT = YT @ U
        errors, scale = errors_of(YT, AT, double)
        chosen = errors.argmin(0)
        if not double and errors.shape[0] > 1:  # near ties: decided in float64
            ties, rows = _ties(errors, TIE_TOLERANCE, scale)
            if len(ties):
                Y64 = _cast(YT[ties], YT, double=True)
                exact = errors_of(Y64, Y64 @ fit.get(True)[0], True, rows)[0][rows]
                chosen[ties] = _cast(rows, chosen)[exact.argmin(0)]
        prediction[:, cols] = Zt @ (f["coef"][chosen] * AT).T
        return chosen

    starts = range(0, t, chunk)
    if n_threads > 1 and not _is_torch(Yc):
        with ThreadPoolExecutor(n_threads) as pool:
            best_list = list(pool.map(run, starts))
    else:
        best_list = [run(start) for start in starts]
    if _is_torch(Yc):
        import torch

        best = torch.cat(best_list) if best_list else torch.empty(0, dtype=torch.long)
    else:
        best = np.concatenate(best_list) if best_list else np.empty(0, dtype=int)
    return prediction + y_mean, best
