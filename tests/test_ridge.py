"""The ridge solver (:mod:`analysis.ridge`): agreement with scikit-learn and himalaya, float32
against float64, torch against numpy, and each optimisation switched off."""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from analysis import ridge

BACKENDS = ["numpy", "torch"]
SWITCHES = [field.name for field in dataclasses.fields(ridge._Optimisations)]


@pytest.fixture
def with_flat_curves(autocorrelated):
    """A function of ``seed`` and ``t``: training and test arrays (float64) whose second half
    of targets is pure noise (flat error curves, near ties): ``X[:300], Y[:300], X[300:]``."""
    def make(seed, t=300):
        X, Y = autocorrelated(seed=seed, n=400, p=60, t=t)
        Y[:, t // 2:] = np.random.default_rng(seed).standard_normal((400, t - t // 2))
        return X[:300], Y[:300], X[300:]
    return make


def on(backend: str, *arrays, dtype=np.float64):
    """``arrays`` in ``dtype`` as ``backend``'s arrays."""
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    if backend == "numpy":
        return arrays
    torch = pytest.importorskip("torch")
    return [torch.from_numpy(a) for a in arrays]


def numpy(array):
    return array.cpu().numpy() if hasattr(array, "cpu") else np.asarray(array)


def switched_off(monkeypatch, name: str):
    monkeypatch.setattr(ridge, "_OPTIMISATIONS",
                        dataclasses.replace(ridge._Optimisations(), **{name: False}))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("features", [20, 300])  # 300 > 240 samples: the kernel form
def test_loo_matches_scikit_learn_ridgecv(backend, features, autocorrelated):
    from sklearn.linear_model import RidgeCV

    X, Y = autocorrelated(seed=1, p=features)
    alphas = np.logspace(-1, 4, 12)
    prediction, best = ridge.fit_predict(*on(backend, X[:240], Y[:240], X[240:]), alphas)
    model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X[:240], Y[:240])
    np.testing.assert_array_equal(alphas[numpy(best)], model.alpha_)
    np.testing.assert_allclose(numpy(prediction), model.predict(X[240:]), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("inner", [4, 7])  # 7 does not divide 240: unequal inner folds
@pytest.mark.parametrize("selection", ["kfold", "shuffled-kfold"])
def test_kfold_matches_himalaya_ridgecv_with_the_same_inner_folds(backend, inner, selection,
                                                                 autocorrelated):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV
    from sklearn.model_selection import KFold

    set_backend("numpy")
    X, Y = autocorrelated(seed=2)
    alphas = np.logspace(-1, 4, 12)
    prediction, best = ridge.fit_predict(*on(backend, X[:240], Y[:240], X[240:]), alphas,
                                         selection, inner)
    folds = (KFold(inner) if selection == "kfold"
             else KFold(inner, shuffle=True, random_state=ridge.SHUFFLE_SEED))
    model = RidgeCV(alphas=alphas, cv=folds, fit_intercept=True).fit(X[:240], Y[:240])
    np.testing.assert_allclose(alphas[numpy(best)], np.asarray(model.best_alphas_),
                               rtol=1e-12)
    np.testing.assert_allclose(numpy(prediction), np.asarray(model.predict(X[240:])),
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gcv_minimises_the_generalised_cross_validation_criterion(backend, autocorrelated):
    X, Y = autocorrelated(seed=3)
    alphas = np.logspace(-1, 4, 12)
    _, best = ridge.fit_predict(*on(backend, X[:240], Y[:240], X[240:]), alphas, "gcv")
    Xc, Yc = X[:240] - X[:240].mean(0), Y[:240] - Y[:240].mean(0)
    criteria = []
    for a in alphas:  # n RSS / (n - df - 1)^2, the intercept counting as one more parameter
        hat = Xc @ np.linalg.solve(Xc.T @ Xc + a * np.eye(X.shape[1]), Xc.T)
        rss = ((Yc - hat @ Yc) ** 2).sum(0)
        criteria.append(240 * rss / (240 - np.trace(hat) - 1) ** 2)
    np.testing.assert_array_equal(numpy(best), np.argmin(criteria, axis=0))


@pytest.mark.parametrize("selection", ridge.SELECTIONS)
def test_torch_agrees_with_numpy(selection, autocorrelated):
    X, Y = autocorrelated(seed=4, t=60)
    alphas = np.logspace(-1, 5, 10)
    expected, best = ridge.fit_predict(X[:240], Y[:240], X[240:], alphas, selection, 4)
    prediction, best_torch = ridge.fit_predict(*on("torch", X[:240], Y[:240], X[240:]), alphas,
                                               selection, 4)
    assert type(prediction).__module__.startswith("torch")
    np.testing.assert_array_equal(best_torch.numpy(), best)
    np.testing.assert_allclose(prediction.numpy(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("selection", ridge.SELECTIONS)
def test_cuda_float32_picks_the_float64_penalties(selection, with_flat_curves):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X_train, Y_train, X_test = with_flat_curves(seed=5, t=200)
    alphas = np.logspace(0, 6, 20)
    _, best64 = ridge.fit_predict(X_train, Y_train, X_test, alphas, selection, 4)
    arrays = [torch.as_tensor(a, dtype=torch.float32, device="cuda")
              for a in (X_train, Y_train, X_test)]
    prediction, best = ridge.fit_predict(*arrays, alphas, selection, 4)
    assert prediction.device.type == "cuda" and best.device.type == "cuda"
    np.testing.assert_array_equal(best.cpu().numpy(), best64)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("selection", ridge.SELECTIONS)
def test_float32_picks_the_float64_penalties(backend, selection, with_flat_curves):
    """Low-rank forms, screening, float64 sums and float64 ties: float32 chooses as float64
    does, on targets with flat error curves too (the torch path is the GPU's)."""
    X_train, Y_train, X_test = with_flat_curves(seed=8)
    alphas = np.logspace(0, 6, 16)
    p64, best64 = ridge.fit_predict(X_train, Y_train, X_test, alphas, selection, 4)
    p32, best32 = ridge.fit_predict(*on(backend, X_train, Y_train, X_test, dtype=np.float32),
                                    alphas, selection, 4, n_threads=2, chunk=64)
    assert numpy(p32).dtype == np.float32
    np.testing.assert_array_equal(numpy(best32), best64)
    np.testing.assert_allclose(numpy(p32), p64, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("rank, decides_some", [(1, False), (4, True)])
def test_kfold_screening_keeps_the_choices_of_the_exact_errors(monkeypatch, rank, decides_some,
                                                              with_flat_curves):
    """A coarse screen of the inner-fold errors (few low-rank terms) must not change any
    target's penalty: whatever its bound cannot rule out is computed exactly."""
    X_train, Y_train, X_test = with_flat_curves(seed=9)
    alphas = np.logspace(0, 6, 20)
    _, best64 = ridge.fit_predict(X_train, Y_train, X_test, alphas, "kfold", 4)
    X_train, Y_train, X_test = (a.astype(np.float32) for a in (X_train, Y_train, X_test))
    monkeypatch.setattr(ridge, "SCREEN_RANK", rank)
    centred = X_train - X_train.mean(0)
    assert ridge._Inner(centred, alphas, 4, ridge._backend(Y_train)).screening  # in use here
    refined = []
    refine = ridge._Inner._refine

    def spy(self, errors, *args):
        before = errors.copy()
        refine(self, errors, *args)
        refined.append((errors != before).any(0).mean())

    monkeypatch.setattr(ridge._Inner, "_refine", spy)
    _, best = ridge.fit_predict(X_train, Y_train, X_test, alphas, "kfold", 4, chunk=64)
    np.testing.assert_array_equal(best, best64)
    assert np.mean(refined) > 0
    assert (np.mean(refined) < 1) == decides_some  # targets decided by the screen alone


@pytest.mark.parametrize("selection", ridge.SELECTIONS)
@pytest.mark.parametrize("switch", [s for s in SWITCHES if s != "float64_ties"])
def test_each_optimisation_off_gives_the_same_choices(monkeypatch, switch, selection,
                                                      with_flat_curves):
    """Each optimisation is for speed alone: off, float32 picks the same penalties (float64's)
    and predicts the same, to float32 rounding."""
    X_train, Y_train, X_test = with_flat_curves(seed=10, t=200)
    alphas = np.logspace(0, 6, 20)
    arrays = on("numpy", X_train, Y_train, X_test, dtype=np.float32)
    expected, best = ridge.fit_predict(*arrays, alphas, selection, 4, n_threads=2, chunk=64)
    switched_off(monkeypatch, switch)
    prediction, best_off = ridge.fit_predict(*arrays, alphas, selection, 4, n_threads=2,
                                             chunk=64)
    np.testing.assert_array_equal(best_off, best)
    np.testing.assert_allclose(prediction, expected, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("switch", SWITCHES)
def test_switches_change_nothing_in_float64(monkeypatch, switch, with_flat_curves):
    X_train, Y_train, X_test = with_flat_curves(seed=11, t=100)
    alphas = np.logspace(0, 6, 20)
    for selection in ("loo", "kfold"):
        expected, best = ridge.fit_predict(X_train, Y_train, X_test, alphas, selection, 4)
        with monkeypatch.context() as patch:
            switched_off(patch, switch)
            prediction, best_off = ridge.fit_predict(X_train, Y_train, X_test, alphas,
                                                     selection, 4)
        np.testing.assert_array_equal(best_off, best)
        np.testing.assert_allclose(prediction, expected, rtol=1e-12, atol=1e-12)


def test_without_float64_ties_float32_differs_but_only_on_near_ties(monkeypatch, with_flat_curves):
    """The tie recomputation is needed: float32 alone picks another penalty than float64 on some
    targets, each a near tie (float64 errors within TIE_TOLERANCE of the best)."""
    X_train, Y_train, X_test = with_flat_curves(seed=8, t=1000)
    alphas = np.logspace(1, 8, 20)  # the encoding models' (large penalties: near ties)
    _, best64 = ridge.fit_predict(X_train, Y_train, X_test, alphas)
    switched_off(monkeypatch, "float64_ties")
    _, best32 = ridge.fit_predict(*on("numpy", X_train, Y_train, X_test, dtype=np.float32),
                                  alphas)
    differ = np.flatnonzero(best32 != best64)
    assert 0 < len(differ) < 0.01 * len(best64)  # 4 of 1,000 here
    backend = ridge._backend(Y_train)
    fit = ridge._Fit(X_train - X_train.mean(0), alphas, backend, leverage=True)
    YT = backend.transposed(Y_train - Y_train.mean(0))[differ]
    errors = ridge._loo(fit, YT, YT @ fit.U64, True)  # float64: (n_alphas, len(differ))
    columns = np.arange(len(differ))
    best_errors = errors[best64[differ], columns]
    assert (errors[best32[differ], columns] - best_errors <= 1e-6 * best_errors).all()


def test_float64_decompositions_are_needed_on_ill_conditioned_designs(monkeypatch):
    """Nearly collinear features: a float32 Gram matrix loses their small directions, and
    float32 no longer picks float64's penalties; decomposed in float64, it does."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((360, 10)) @ rng.standard_normal((10, 60))
    X += 1e-3 * rng.standard_normal(X.shape)
    X = (X - X.mean(0)) / X.std(0)
    Y = X @ rng.standard_normal((60, 200)) * (rng.random(200) < 0.5) / np.sqrt(60)
    Y += rng.standard_normal(Y.shape)
    alphas = np.logspace(-4, 4, 20)
    _, best64 = ridge.fit_predict(X[:300], Y[:300], X[300:], alphas)
    arrays = on("numpy", X[:300], Y[:300], X[300:], dtype=np.float32)
    np.testing.assert_array_equal(ridge.fit_predict(*arrays, alphas)[1], best64)
    switched_off(monkeypatch, "float64_decompositions")
    assert (ridge.fit_predict(*arrays, alphas)[1] != best64).sum() > 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_inner_folds_are_named_contiguous_records(backend, autocorrelated):
    X, Y = autocorrelated(seed=12, n=243, p=20, t=5)  # 243 = 4 x 61 - 1: unequal folds
    Xc, Yc = on(backend, X - X.mean(0), Y)
    inner = ridge._Inner(Xc, np.logspace(0, 4, 5), 4, ridge._backend(Yc))
    assert [(fold.lo, fold.hi) for fold in inner.folds] == [(0, 61), (61, 122), (122, 183),
                                                           (183, 243)]
    for fold in inner.folds:
        assert isinstance(fold, ridge._Fold) and isinstance(fold.fit, ridge._Fit)
        assert isinstance(fold.screen, ridge._Screen) and not fold.screen.useful  # float64
        k = fold.fit.U64.shape[1]
        assert tuple(fold.Z.shape) == tuple(fold.Z64.shape) == (fold.hi - fold.lo, k)
        assert fold.fit.n == 243 - (fold.hi - fold.lo)
        assert fold.design(True) is fold.Z64 and fold.design(False) is fold.Z
        basis = fold.fit.get(False)
        assert tuple(basis.U.shape) == (fold.fit.n, k) and tuple(basis.V.shape) == (20, k)
        with pytest.raises(dataclasses.FrozenInstanceError):
            fold.lo = 1


def test_backend_is_chosen_from_the_inputs_and_torch_is_imported_only_for_torch():
    assert isinstance(ridge._backend(np.zeros((2, 2), np.float32)), ridge._NumpyBackend)
    assert not ridge._backend(np.zeros((2, 2), np.float32)).double
    assert ridge._backend(np.zeros((2, 2))).double
    torch = pytest.importorskip("torch")
    backend = ridge._backend(torch.zeros((2, 2), dtype=torch.float32))
    assert isinstance(backend, ridge._TorchBackend) and not backend.double
    code = ("import sys, numpy as np; from analysis import ridge; "
            "X = np.random.default_rng(0).standard_normal((40, 3)); "
            "ridge.fit_predict(X[:30], X[:30, :2], X[30:], [1.0, 10.0]); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_arguments_are_refused(autocorrelated):
    X, Y = autocorrelated(seed=13, n=40, t=3)
    with pytest.raises(ValueError, match="alpha_selection='bogus'"):
        ridge.fit_predict(X[:30], Y[:30], X[30:], [1.0], "bogus")
    with pytest.raises(ValueError, match="alphas"):
        ridge.fit_predict(X[:30], Y[:30], X[30:], [1.0, 0.0])
    with pytest.raises(ValueError, match="inner_folds=20"):
        ridge.fit_predict(X[:30], Y[:30], X[30:], [1.0], "kfold", 20)


@pytest.mark.parametrize("backend", BACKENDS)
def test_centred_and_chunked_calls_agree(backend, autocorrelated):
    X, Y = autocorrelated(seed=14, t=50)
    alphas = np.logspace(-1, 4, 8)
    expected, best = ridge.fit_predict(*on(backend, X[:240], Y[:240], X[240:]), alphas)
    Yc = Y[:240] - Y[:240].mean(0)
    prediction, best_centred = ridge.fit_predict(*on(backend, X[:240], Yc, X[240:]), alphas,
                                                 centred=True, n_threads=2, chunk=7)
    np.testing.assert_array_equal(numpy(best_centred), numpy(best))
    np.testing.assert_allclose(numpy(prediction) + Y[:240].mean(0), numpy(expected),
                               rtol=1e-10, atol=1e-12)
