"""Ridge regression with one penalty per target, every target sharing one decomposition.

For one training set, the eigendecomposition of the centred design's Gram matrix
(``X^T X = V diag(s^2) V^T``, so ``X = U diag(s) V^T`` with ``U = X V / s``) serves every
penalty and every target: the fit for penalty ``a`` is ``V diag(s / (s^2 + a)) U^T Y``. The
penalty of each target is chosen on the training set only, by

- ``"loo"``: exact leave-one-out error, as scikit-learn's ``RidgeCV`` computes it (efficient
  form: residual / (1 - leverage), the intercept unpenalised);
- ``"kfold"``: contiguous inner K-fold over time, as himalaya's ``RidgeCV`` does (each inner
  training part centred, mean squared error of each inner fold summed over folds);
- ``"shuffled-kfold"``: the same, on folds drawn at random, as scikit-learn's
  ``KFold(inner_folds, shuffle=True, random_state=SHUFFLE_SEED)`` draws them (so himalaya,
  given that splitter, chooses alike). Like ``"loo"``, each validation sample has temporal
  neighbours in the training part, which favours smaller penalties than contiguous folds;
  on weakly predictable targets this choice predicts held-out blocks better (measured in
  :mod:`analysis.partition`). The outer folds, which score, stay contiguous;
- ``"gcv"``: generalised cross-validation, ``n * RSS / (n - df - 1)^2``, the fast approximation
  (no per-sample leverage).

Precision: the decompositions are computed in float64 (they are small: features x features);
the work that grows with the number of targets runs in the caller's dtype. In float32, squared
errors are summed in float64, and a target whose best two penalties are closer than float32
rounding could decide (relative gap under ``TIE_TOLERANCE``) has the penalties in question
recomputed in float64, so float32 picks the same penalties as float64. ``"kfold"`` compares
its errors without the targets' own sum of squares, so that large penalties' small
differences survive float32 (ties are then relative to ``|t| |p|``, see :meth:`_Inner.errors`).

Speed: targets are processed in chunks of ``CHUNK``, small enough to stay in cache while every
penalty is evaluated on them, the chunks shared out over ``n_threads`` threads (one BLAS thread
each). In float32, the per-penalty factors (``a / (s^2 + a)`` for ``"loo"``, ``s / (s^2 + a)``
for ``"kfold"``) are applied through their low-rank form over penalties (about 12 terms serve
20 penalties, exact to ``LOW_RANK_TOLERANCE``). For ``"kfold"``, whose validation predictions
dominate the cost, a first pass uses only ``SCREEN_RANK`` low-rank terms with a bound on the
rest, and only the penalties that this bound cannot rule out are computed in full.

Each of these can be switched off (:class:`_Optimisations`); ``benchmarks/ridge_optimisations.py``
times each on and off, and the comment beside each switch gives its measurement.

Arrays may be numpy arrays or torch tensors (CPU or CUDA); everything stays on their device,
through the :class:`_Backend` chosen once by :func:`fit_predict`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

SELECTIONS = ("loo", "kfold", "shuffled-kfold", "gcv")
SHUFFLE_SEED = 0  # the random folds of "shuffled-kfold" (scikit-learn's random_state)
TIE_TOLERANCE = 1e-6  # relative error gap under which float64 decides (float32 sums: <2e-7 seen)
LOW_RANK_TOLERANCE = 1e-9  # relative, below float32 rounding
CHUNK = 128  # targets processed together (their arrays stay in cache across penalties)
SCREEN_RANK = 6  # "kfold" screening terms (see _Inner.errors; at LPP size 5 and 6 were as
# fast, 7.3-7.4 s per layer and outer fold, and 6 sends 13 % of targets to refinement, not 45 %)
SCREEN_MARGIN = TIE_TOLERANCE  # relative: float32 decides beyond it, as for ties


@dataclass(frozen=True)
class _Optimisations:
    """Switches of the optimisations, all on in use, for benchmarks and tests only. Off, each
    gives the same penalties (float32 those of float64), except the two kept for correctness
    where said; in float64, the same bits (``chunks``: the same to rounding, its products being
    blocked otherwise), the float32 machinery being off there anyway.

    The figures are from ``python benchmarks/ridge_optimisations.py --repeats 2`` (``--switches
    chunks --repeats 1`` for ``chunks``) at its default size: 1,800 training + 200 test scans x
    768 features -> 4,096 targets, 20 alphas, float32, numpy, ``n_threads=2`` on a 2-core
    machine busy with another build (so +-10 %); seconds per ``fit_predict`` with the
    optimisation on, then off, the fastest run of each. Optimisations measured at 1.05 or less
    and not needed for correctness are removed; none was.
    """

    # Measured by benchmarks/ridge_optimisations.py: "loo" 3.61 s on, 3.34 s off (0.92);
    # "kfold" 4.02 s on, 4.21 s off (1.05). Kept for correctness, not speed: a float32 Gram
    # matrix squares the design's condition number and loses its small directions, so on
    # nearly collinear features float32 no longer picks float64's penalties (28 of 200
    # targets differ in tests/test_ridge.py's example; none with this switch on).
    float64_decompositions: bool = True
    # Chunks of CHUNK targets shared out over n_threads threads (one BLAS thread each), against
    # one chunk of every target with n_threads BLAS threads. Measured by
    # benchmarks/ridge_optimisations.py: "loo" 3.50 s on, 15.10 s off (4.3x); "kfold" 4.48 s
    # on, 13.05 s off (2.9x) (one run). Keeping chunks but n_threads=1: 2.8x and 7.1x slower.
    chunks: bool = True
    # Low-rank form over penalties (float32; "kfold" uses it where the screen is not useful).
    # Measured by benchmarks/ridge_optimisations.py: "loo" 3.61 s on, 5.20 s off (1.44x);
    # "kfold" without screening 5.71 s on, 7.31 s off (1.28x).
    low_rank: bool = True
    # "kfold" screening with SCREEN_RANK terms (float32), against every low-rank term. Measured
    # by benchmarks/ridge_optimisations.py: 4.02 s on, 5.71 s off (1.42x); at 900 training
    # scans x 384 features x 2,048 targets only 1.04x (fewer terms to save).
    screening: bool = True
    # Float64 recomputation of float32 near ties. Measured by
    # benchmarks/ridge_optimisations.py: "loo" 3.61 s on, 3.36 s off (0.93); "kfold" 4.02 s
    # on, 4.52 s off (within the noise). Kept for correctness, not speed: off, float32
    # rounding decides near ties and some targets get another penalty than in float64 (4 of
    # 1,000 in tests/test_ridge.py's example).
    float64_ties: bool = True


_OPTIMISATIONS = _Optimisations()  # read once per fit_predict call


class _Backend(Protocol):
    """The array operations the solver needs, from one array library on one device.

    Arrays are made in the working dtype (the caller's: ``work``) or in float64 (``f64``).
    Everything else the solver does (``@``, ``*``, ``sum``, indexing, ...) is common to numpy
    arrays and torch tensors."""

    double: bool  # the working dtype is float64: no float32 safeguards needed

    def work(self, x) -> Any:
        """``x`` (array-like) in the working dtype, on the device."""

    def f64(self, x) -> Any:
        """``x`` (array-like) in float64, on the device."""

    def zeros64(self, shape) -> Any:
        """Float64 zeros of ``shape``."""

    def empty(self, shape) -> Any:
        """An uninitialised array of ``shape`` in the working dtype."""

    def index(self, values: Sequence[int]) -> Any:
        """Integer array of ``values``, for indexing."""

    def concatenate(self, parts: Sequence[Any]) -> Any:
        """The integer arrays ``parts`` end to end (an empty integer array when none)."""

    def eigh(self, a) -> tuple[Any, Any]:
        """Eigenvalues (k,), ascending, and eigenvectors (k, k) of the symmetric ``a``."""

    def svd(self, a) -> tuple[Any, Any, Any]:
        """Thin singular value decomposition ``W, S, Qt`` of ``a``."""

    def spectral_norm(self, a) -> float:
        """Largest singular value of ``a`` (n, k), from its smaller Gram matrix."""

    def transposed(self, x) -> Any:
        """``x.T`` as a C-contiguous array."""

    def row_dot(self, a, b) -> Any:
        """Row-wise dot products of ``a`` and ``b`` (m, n) accumulated in float64: (m,)."""

    def column_min(self, x) -> Any:
        """Minimum of each column: (m,) for ``x`` (r, m)."""

    def clip(self, x) -> Any:
        """``x`` with negative entries (rounding) set to 0."""

    def nonzero(self, mask) -> tuple[Any, ...]:
        """Indices of the true entries of ``mask``, one integer array per dimension."""

    def map(self, function: Callable, items: Sequence, n_threads: int) -> list:
        """``[function(item) for item in items]``, shared out over ``n_threads`` threads where
        the backend gains from it."""

    def blas_threads(self, n_threads: int) -> Any:
        """Context in which :meth:`map`'s ``n_threads`` threads run (one BLAS thread each)."""


class _NumpyBackend:
    """numpy arrays on the CPU; :meth:`map` uses threads (BLAS releases the GIL)."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.double = self.dtype == np.float64

    def work(self, x):
        return np.asarray(x, dtype=self.dtype)

    def f64(self, x):
        return np.asarray(x, dtype=np.float64)

    def zeros64(self, shape):
        return np.zeros(shape)

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def index(self, values):
        return np.asarray(values, dtype=np.intp)

    def concatenate(self, parts):
        return np.concatenate(parts) if parts else np.empty(0, dtype=int)

    def eigh(self, a):
        return np.linalg.eigh(a)

    def svd(self, a):
        return np.linalg.svd(a, full_matrices=False)

    def spectral_norm(self, a):
        small = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
        return float(np.linalg.eigvalsh(small).max()) ** 0.5

    def transposed(self, x):
        return np.ascontiguousarray(x.T)

    def row_dot(self, a, b):
        return np.einsum("ij,ij->i", a, b, dtype=np.float64)

    def column_min(self, x):
        return x.min(0)

    def clip(self, x):
        return np.maximum(x, 0)

    def nonzero(self, mask):
        return np.nonzero(mask)

    def map(self, function, items, n_threads):
        if n_threads > 1:
            with ThreadPoolExecutor(n_threads) as pool:
                return list(pool.map(function, items))
        return [function(item) for item in items]

    def blas_threads(self, n_threads):
        if n_threads > 1:
            from threadpoolctl import threadpool_limits

            return threadpool_limits(1)
        return nullcontext()


class _TorchBackend:
    """torch tensors on their device (CPU or CUDA); torch parallelises each operation itself,
    so :meth:`map` runs in turn."""

    def __init__(self, dtype, device):
        # Deliberately deferred: torch is an optional, heavy dependency, imported only when
        # the inputs are torch tensors (they were made with it, so it is installed).
        import torch

        self.torch, self.dtype, self.device = torch, dtype, device
        self.double = dtype == torch.float64

    def work(self, x):
        return self.torch.as_tensor(x, device=self.device).to(self.dtype)

    def f64(self, x):
        return self.torch.as_tensor(x, device=self.device).to(self.torch.float64)

    def zeros64(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def empty(self, shape):
        return self.torch.empty(shape, dtype=self.dtype, device=self.device)

    def index(self, values):
        return self.torch.as_tensor(values, device=self.device).to(self.torch.int64)

    def concatenate(self, parts):
        return self.torch.cat(parts) if parts else self.torch.empty(0, dtype=self.torch.long)

    def eigh(self, a):
        return self.torch.linalg.eigh(a)

    def svd(self, a):
        return self.torch.linalg.svd(a, full_matrices=False)

    def spectral_norm(self, a):
        small = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
        return float(self.torch.linalg.eigvalsh(small).max()) ** 0.5

    def transposed(self, x):
        return x.T.contiguous()

    def row_dot(self, a, b):
        return (a.double() * b.double()).sum(1)

    def column_min(self, x):
        return x.min(0).values

    def clip(self, x):
        return x.clamp(min=0)

    def nonzero(self, mask):
        return mask.nonzero(as_tuple=True)

    def map(self, function, items, n_threads):
        return [function(item) for item in items]

    def blas_threads(self, n_threads):
        return nullcontext()


def _backend(Y) -> _Backend:
    """The backend of ``Y``'s array library, device and dtype (the working dtype)."""
    if type(Y).__module__.startswith("torch"):
        return _TorchBackend(Y.dtype, Y.device)
    return _NumpyBackend(Y.dtype)


def _decompose(Xc, backend: _Backend, in_float64: bool = True):
    """Thin decomposition of a centred design (n, p), keeping non-null directions, computed in
    float64 (else in the working dtype, then cast to float64).

    Returns ``U`` (n, k), ``s2`` (k,) the squared singular values and ``V`` (p, k), in float64.
    """
    X = backend.f64(Xc) if in_float64 else backend.work(Xc)
    n, p = X.shape
    if n >= p:
        s2, V = backend.eigh(X.T @ X)
    else:  # kernel form
        s2, U = backend.eigh(X @ X.T)
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
    return backend.f64(U), backend.f64(s2), backend.f64(V)


class _Basis(NamedTuple):
    """One training set's decomposition and per-penalty factors in one dtype."""

    U: Any  # (n, k)
    V: Any  # (p, k)
    factors: dict  # name: (n_alphas, k) or (n_alphas,) or (n_alphas, n); "low_" + name: (P, Q)


class _Fit:
    """One training set's decomposition and per-penalty factors, in float64 and in the working
    dtype, for the chunked error functions."""

    def __init__(self, Xc, alphas, backend: _Backend, leverage: bool,
                 optimisations: _Optimisations = _Optimisations()):
        self.backend = backend
        self.use_low_rank = optimisations.low_rank
        self.U64, s2, self.V64 = _decompose(Xc, backend, optimisations.float64_decompositions)
        self.alphas = backend.f64(np.asarray(alphas, dtype=np.float64))
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
        self.low_rank64 = {"keep": _low_rank(self.factors64["keep"], backend),
                           "coef": _low_rank(self.factors64["coef"], backend, row_scaled=True)}
        if leverage:  # 1 / (1 - leverage)^2, the intercept unpenalised: (n_alphas, n)
            lev = shrink @ (self.U64 * self.U64).T + 1.0 / self.n
            self.factors64["weight"] = 1.0 / (1.0 - lev) ** 2
        self._in = {}
        self.get(False), self.get(True)  # before any thread reads them

    def get(self, double: bool) -> _Basis:
        """``U``, ``V`` and the factors in float64 (``double``) or the working dtype."""
        if double not in self._in:
            cast = self.backend.f64 if double else self.backend.work
            factors = {k: cast(v) for k, v in self.factors64.items()}
            factors.update({"low_" + k: (cast(P), cast(Q))
                            for k, (P, Q) in self.low_rank64.items()})
            self._in[double] = _Basis(cast(self.U64), cast(self.V64), factors)
        return self._in[double]

    def low_rank(self, name: str, double: bool):
        """``(P, Q)`` of factor ``name`` in the working dtype when it saves work, else None."""
        P, _ = self.low_rank64[name]
        if double or not self.use_low_rank or P.shape[1] > 0.75 * P.shape[0]:
            return None
        return self.get(double).factors["low_" + name]


def _low_rank(F, backend: _Backend, row_scaled: bool = False):
    """``(P, Q)`` with ``P @ Q`` equal to ``F`` (n_alphas, k) within LOW_RANK_TOLERANCE of its
    largest singular value (``row_scaled``: each row within LOW_RANK_TOLERANCE of its own norm,
    the terms ordered by importance); Q has orthonormal rows."""
    norms = (F * F).sum(1) ** 0.5 if row_scaled else None
    if row_scaled:
        F = F / norms[:, None]
    W, S, Qt = backend.svd(F)
    r = max(1, int((S > S[0] * LOW_RANK_TOLERANCE).sum())) if len(S) and S[0] > 0 else len(S)
    P = W[:, :r] * S[:r]
    return (P if norms is None else norms[:, None] * P), Qt[:r]


def _combine(Q, AT, M):
    """``T`` (r, m, n) with ``T[i] = (AT * Q[i]) @ M.T``, for AT (m, k), M (n, k): one product."""
    r, (m, k) = Q.shape[0], AT.shape
    return ((Q[:, None, :] * AT[None]).reshape(r * m, k) @ M.T).reshape(r, m, -1)


def _loo(fit: _Fit, YT, AT, double: bool, rows=None):
    """Leave-one-out squared error summed over samples: (n_alphas, m), for the centred
    targets ``YT`` (m, n) and ``AT = YT @ U`` (m, k); with ``rows`` (penalty indices), only
    those rows are computed (the others are left at 0)."""
    basis = fit.get(double)
    U, f = basis.U, basis.factors
    R0 = YT - AT @ U.T  # residual outside the span of the design: (m, n)
    errors = fit.backend.zeros64((len(fit.alphas), YT.shape[0]))  # float64 sums
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
        errors[j] = fit.backend.f64(E) @ weight[j]
    return errors


def _gcv(fit: _Fit, YT, AT):
    """Generalised cross-validation criterion: (n_alphas, m)."""
    f = fit.factors64  # the work per penalty is small: all in float64
    A = fit.backend.f64(AT)
    A2 = A * A
    outside = fit.backend.row_dot(YT, YT) - A2.sum(1)
    rss = f["keep2"] @ A2.T + outside
    return fit.n * rss / ((fit.n - f["df"] - 1.0) ** 2)[:, None]


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

    def __init__(self, fit: _Fit, Z64, wanted: bool):
        P, Q = fit.low_rank64["coef"]  # row-scaled: its leading terms serve every row alike
        full_rank = P.shape[1]
        self.useful = (wanted and not fit.backend.double and SCREEN_RANK < full_rank
                       and full_rank <= 0.75 * len(fit.alphas))
        if not self.useful:
            return
        P, Q = P[:, :SCREEN_RANK], Q[:SCREEN_RANK]
        R = fit.factors64["coef"] - P @ Q
        # ||Z||_2, with a relative safety factor for the float32 rounding of the bound itself
        self.scale = fit.backend.spectral_norm(Z64) * (1 + 1e-3)
        self.low = (fit.backend.work(P), fit.backend.work(Q))
        self.R2 = fit.backend.work(R * R)

    def bound(self, B):
        """Upper bounds on the prediction errors' norms: (n_alphas, m) for ``B`` (m, k)."""
        return self.scale * (self.R2 @ (B * B).T) ** 0.5


@dataclass(frozen=True)
class _Fold:
    """One inner fold of ``"kfold"``: validation rows ``lo:hi``, the others' fit."""

    lo: int
    hi: int
    fit: _Fit  # on the other rows, centred
    Z: Any  # (hi - lo, k): the validation rows in ``fit``'s V basis, working dtype
    Z64: Any  # the same in float64
    screen: _Screen

    def design(self, double: bool):
        """``Z64`` (``double``) or ``Z``."""
        return self.Z64 if double else self.Z


class _Screened(NamedTuple):
    """What the exact pass over a fold's screened candidates needs, for ``m`` targets."""

    fold: _Fold
    B: Any  # (m, k): the targets' inner-training part in the U basis
    target: Any  # (m, hi - lo): the validation targets, centred on the inner-training part
    tt: Any  # (m,): |target|^2, float64


class _Inner:
    """Contiguous inner folds of a centred training set (n, p), for ``"kfold"``."""

    def __init__(self, Xc, alphas, n_folds: int, backend: _Backend, n_threads: int = 1,
                 optimisations: _Optimisations = _Optimisations()):
        n = Xc.shape[0]
        if not 2 <= n_folds <= n // 2:
            raise ValueError(f"inner_folds={n_folds} must be between 2 and n_train/2 = "
                             f"{n // 2}.")
        sizes = np.full(n_folds, n // n_folds)
        sizes[: n % n_folds] += 1  # as scikit-learn's KFold, which himalaya takes
        self.bounds = np.r_[0, np.cumsum(sizes)]
        self.backend = backend

        def one(bounds) -> _Fold:
            lo, hi = int(bounds[0]), int(bounds[1])
            train = np.r_[0:lo, hi:n]
            x_mean = Xc[train].mean(0)
            fit = _Fit(Xc[train] - x_mean, alphas, backend, False, optimisations)
            Z64 = (backend.f64(Xc[lo:hi]) - backend.f64(x_mean)) @ fit.V64
            return _Fold(lo, hi, fit, backend.work(Z64), Z64,
                         _Screen(fit, Z64, optimisations.screening))

        # the decompositions run side by side
        self.folds = backend.map(one, list(zip(self.bounds[:-1], self.bounds[1:])), n_threads)
        self.n_alphas = len(alphas)
        self.screening = all(fold.screen.useful for fold in self.folds)

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
        backend = self.backend
        errors, scale, slack = (backend.zeros64((self.n_alphas, m)) for _ in range(3))
        total = YT.sum(1)
        screening = self.screening and rows is None and not double
        screened = []  # for the exact pass over the candidates
        for fold in self.folds:
            lo, hi, fit = fold.lo, fold.hi, fold.fit
            basis, Z = fit.get(double), fold.design(double)
            U, f = basis.U, basis.factors
            B = YT[:, :lo] @ U[:lo] + YT[:, hi:] @ U[lo:]  # U's columns sum to 0: no centring
            target = YT[:, lo:hi] - ((total - YT[:, lo:hi].sum(1)) / (n - (hi - lo)))[:, None]
            tt = backend.row_dot(target, target)
            if screening:
                low = fold.screen.low
                bound = fold.screen.bound(B)  # (n_alphas, m): prediction error norms, at most
                screened.append(_Screened(fold, B, target, tt))
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
                error, size = _fold_error(p, target, tt, hi - lo, backend)
                errors[j] += error
                scale[j] += size
                if screening:  # |p - t| bounds how much an error d on p changes the error
                    residual = backend.clip((error * (hi - lo)) + tt) ** 0.5
                    slack[j] += (2 * residual + bound[j]) * bound[j] / (hi - lo)
        if screened:
            self._refine(errors, scale, slack, screened)
        return errors, scale

    def _refine(self, errors, scale, slack, screened: list[_Screened]):
        """Replace the screened errors and scales by exact ones (in place) wherever the
        screening bound cannot rule a penalty out: (target, penalty) pairs whose lower bound is
        under the best upper bound, on targets with more than one such pair."""
        backend = self.backend
        margin = SCREEN_MARGIN * scale
        candidate = errors - slack - margin <= backend.column_min(errors + slack + margin)
        targets = candidate.sum(0) > 1
        pen, tgt = backend.nonzero(candidate & targets[None])
        if len(tgt) == 0:
            return
        exact, exact_scale = backend.zeros64(len(tgt)), backend.zeros64(len(tgt))
        for fold, B, target, tt in screened:
            coef = fold.fit.get(False).factors["coef"]
            for start in range(0, len(tgt), CHUNK):
                pairs = slice(start, start + CHUNK)
                p = (coef[pen[pairs]] * B[tgt[pairs]]) @ fold.Z.T
                error, size = _fold_error(p, target[tgt[pairs]], tt[tgt[pairs]],
                                          fold.hi - fold.lo, backend)
                exact[pairs] += error
                exact_scale[pairs] += size
        errors[pen, tgt] = exact
        scale[pen, tgt] = exact_scale


def _fold_error(p, target, tt, n_val: int, backend: _Backend):
    """One validation fold's error of the predictions ``p`` of ``target`` (m, n_val), less the
    target's own mean square, and its rounding scale: ``(|p|^2 - 2 t.p) / n_val`` and
    ``|t| |p| / n_val``, each (m,) in float64; ``tt`` is ``|t|^2`` (m,)."""
    pp = backend.row_dot(p, p)
    return (pp - 2 * backend.row_dot(p, target)) / n_val, (tt * pp) ** 0.5 / n_val


def _ties(errors, tolerance: float, scale, backend: _Backend):
    """Near ties: ``(targets, rows)``, the targets whose best two errors (n_alphas, m) are
    closer than ``tolerance`` relative to ``scale`` (what their rounding is relative to: the
    errors themselves when None), and the penalties (a list) that are that close to any of
    them."""
    if scale is None:
        best = backend.column_min(errors)
        near = errors <= best + tolerance * abs(best)
    else:
        near = errors - tolerance * scale <= backend.column_min(errors + tolerance * scale)
    targets = backend.nonzero(near.sum(0) > 1)[0]
    rows = backend.nonzero(near[:, targets].any(1))[0].tolist()
    return targets, rows


def shuffled_order(n: int) -> np.ndarray:
    """The order of ``n`` training samples whose contiguous folds are scikit-learn's
    ``KFold(shuffle=True, random_state=SHUFFLE_SEED)`` folds: integer array of shape (n,)."""
    return np.random.RandomState(SHUFFLE_SEED).permutation(n)


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
    selection : ``"loo"``, ``"kfold"``, ``"shuffled-kfold"`` or ``"gcv"`` (see the module
        docstring)
    inner_folds : folds of ``"kfold"`` and ``"shuffled-kfold"``
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
    if len(alphas) == 0 or min(alphas) <= 0:
        raise ValueError(f"alphas={list(alphas)} must be a non-empty list of positive numbers.")
    backend, optimisations = _backend(Y_train), _OPTIMISATIONS
    if not optimisations.chunks:  # every target at once, the threads BLAS's
        chunk, n_threads = max(1, Y_train.shape[1]), 1
    with backend.blas_threads(n_threads):
        return _fit_predict(X_train, Y_train, X_test, alphas, selection, inner_folds, centred,
                            n_threads, chunk, backend, optimisations)


def _fit_predict(X_train, Y_train, X_test, alphas, selection, inner_folds, centred, n_threads,
                 chunk, backend: _Backend, optimisations: _Optimisations):
    x_mean = X_train.mean(0)
    y_mean = 0.0 if centred else Y_train.mean(0)
    Yc = Y_train if centred else Y_train - y_mean
    fit = _Fit(X_train - x_mean, alphas, backend, selection == "loo", optimisations)
    # "shuffled-kfold": contiguous folds of the samples in a random order
    order = (backend.index(shuffled_order(X_train.shape[0]))
             if selection == "shuffled-kfold" else None)
    inner = (_Inner(X_train - x_mean if order is None else (X_train - x_mean)[order], alphas,
                    inner_folds, backend, n_threads, optimisations)
             if selection in ("kfold", "shuffled-kfold") else None)
    basis = fit.get(False)
    Zt = backend.work(backend.f64(X_test - x_mean) @ fit.V64)  # test design in the V basis
    t = Yc.shape[1]
    prediction = backend.empty((X_test.shape[0], t))
    double = backend.double

    def errors_of(YT, AT, in_double, rows=None):
        """``(errors, scale)``: (n_alphas, m) each, the scale None when it is the errors'."""
        if selection == "loo":
            return _loo(fit, YT, AT, in_double, rows), None
        if selection == "gcv":
            return _gcv(fit, YT, AT), None
        return inner.errors(YT if order is None else YT[:, order], in_double, rows)

    def run(start):
        cols = slice(start, min(start + chunk, t))
        YT = backend.transposed(Yc[:, cols])  # (m, n): each target's samples contiguous
        AT = YT @ basis.U
        errors, scale = errors_of(YT, AT, double)
        chosen = errors.argmin(0)
        if not double and optimisations.float64_ties and errors.shape[0] > 1:
            ties, rows = _ties(errors, TIE_TOLERANCE, scale, backend)  # decided in float64
            if len(ties):
                Y64 = backend.f64(YT[ties])
                exact = errors_of(Y64, Y64 @ fit.get(True).U, True, rows)[0][rows]
                chosen[ties] = backend.index(rows)[exact.argmin(0)]
        prediction[:, cols] = Zt @ (basis.factors["coef"][chosen] * AT).T
        return chosen

    best = backend.concatenate(backend.map(run, range(0, t, chunk), n_threads))
    return prediction + y_mean, best
