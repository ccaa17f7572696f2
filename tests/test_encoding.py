import numpy as np
import pytest
from sklearn.preprocessing import RobustScaler

from analysis.encoding import brain_score, pearson_r, robust_scaling, score_layers


def planted(n=200, p=30, t=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, t))
    W[:, t // 2:] = 0  # the second half of the targets is pure noise
    Y = X @ W / np.sqrt(p) + rng.standard_normal((n, t))
    return X, Y


def test_planted_linear_map_is_found_and_noise_scores_zero():
    X, Y = planted()
    r = brain_score(X, Y, n_folds=5, inner_folds=3, alphas=np.logspace(-1, 4, 8))
    assert r.shape == (60,)
    assert r[:30].mean() > 0.5
    assert abs(r[30:].mean()) < 0.05


def test_nan_and_constant_targets_stay_nan():
    X, Y = planted(t=6)
    Y[:, 1] = np.nan
    Y[:, 2] = 4.0
    r = brain_score(X, Y, n_folds=4, inner_folds=2, alphas=[1.0, 10.0])
    assert np.isnan(r[[1, 2]]).all() and np.isfinite(r[[0, 3, 4, 5]]).all()


def test_score_layers_stacks_layers():
    X, Y = planted(t=8)
    out = score_layers([X, X[:, :5]], Y, n_folds=3, inner_folds=2, alphas=[1.0], progress=False)
    assert out.shape == (2, 8)


def test_too_many_folds_is_refused():
    X, Y = planted(n=10, t=3)
    with pytest.raises(ValueError, match="n_folds"):
        brain_score(X, Y, n_folds=8)


def test_robust_scaling_equals_scikit_learn():
    Y = np.random.default_rng(3).standard_normal((40, 5))
    Y[:, 2] = 1.0
    center, scale = robust_scaling(Y)
    reference = RobustScaler().fit(Y)
    np.testing.assert_allclose(center, reference.center_)
    np.testing.assert_allclose(scale, reference.scale_)


def test_pearson_r_matches_numpy():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    expected = [np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(3)]
    np.testing.assert_allclose(pearson_r(a, b), expected)


def test_loo_matches_scikit_learn_ridgecv_on_every_target(autocorrelated):
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    X, Y = autocorrelated()
    alphas = np.logspace(-1, 4, 12)
    ours = brain_score(X, Y, n_folds=5, alphas=alphas, alpha_selection="loo")
    folds = []
    for train, test in KFold(5).split(X):
        sx = StandardScaler().fit(X[train])
        sy = RobustScaler().fit(Y[train])
        model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(sx.transform(X[train]),
                                                                   sy.transform(Y[train]))
        folds.append(pearson_r(model.predict(sx.transform(X[test])), sy.transform(Y[test])))
    np.testing.assert_allclose(ours, np.mean(folds, axis=0), atol=1e-3)


@pytest.mark.parametrize("inner", [4, 7])  # 7 does not divide 240: unequal inner folds
def test_kfold_matches_himalaya_ridgecv_with_the_same_inner_folds(inner, autocorrelated):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    set_backend("numpy")
    X, Y = autocorrelated(seed=1)
    alphas = np.logspace(-1, 4, 12)
    ours = brain_score(X, Y, n_folds=5, alphas=alphas, alpha_selection="kfold",
                       inner_folds=inner)
    folds = []
    for train, test in KFold(5).split(X):
        sx = StandardScaler().fit(X[train])
        sy = RobustScaler().fit(Y[train])
        model = RidgeCV(alphas=alphas, cv=KFold(inner), fit_intercept=True)
        model.fit(sx.transform(X[train]), sy.transform(Y[train]))
        prediction = np.asarray(model.predict(sx.transform(X[test])))
        folds.append(pearson_r(prediction, sy.transform(Y[test])))
    reference = np.mean(folds, axis=0)
    signal = reference > 0.2
    assert signal.sum() >= 10
    np.testing.assert_allclose(ours[signal], reference[signal], atol=1e-3)


@pytest.mark.parametrize("selection", ["loo", "kfold", "gcv"])
def test_every_selection_finds_signal_and_pure_noise_scores_zero(selection, autocorrelated):
    X, Y = autocorrelated(seed=2)
    r = brain_score(X, Y, n_folds=5, alphas=np.logspace(-1, 5, 10), alpha_selection=selection)
    noise = brain_score(X, np.random.default_rng(9).standard_normal(Y.shape), n_folds=5,
                        alphas=np.logspace(-1, 5, 10), alpha_selection=selection)
    assert np.nanmax(r) > 0.5
    assert abs(np.nanmean(noise)) < 0.05


def test_torch_backend_agrees_with_numpy(autocorrelated):
    X, Y = autocorrelated(seed=3)
    for selection in ("loo", "kfold", "gcv"):
        a = brain_score(X, Y, n_folds=4, alpha_selection=selection, backend="numpy")
        b = brain_score(X, Y, n_folds=4, alpha_selection=selection, backend="torch")
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_options_pca_cumulative_and_bad_names(autocorrelated):
    X, Y = autocorrelated(seed=4)
    reduced = brain_score(X, Y, n_folds=4, y_pca=5)
    assert reduced.shape == (Y.shape[1],) and np.nanmean(reduced) > 0
    cumulative = score_layers([X[:, :10], X[:, 10:]], Y, n_folds=4, cumulative=True,
                              progress=False)
    np.testing.assert_allclose(cumulative[1], brain_score(X, Y, n_folds=4), atol=1e-6)
    with pytest.raises(ValueError, match="alpha_selection='bogus'"):
        brain_score(X, Y, alpha_selection="bogus")
    with pytest.raises(ValueError, match="backend='tpu'"):
        brain_score(X, Y, backend="tpu")


def test_parallel_layers_equal_sequential(autocorrelated):
    X, Y = autocorrelated(seed=5, t=10)
    layers = [X[:, :10], X[:, 10:]]
    np.testing.assert_allclose(score_layers(layers, Y, n_folds=4, n_jobs=2, progress=False),
                               score_layers(layers, Y, n_folds=4, progress=False))


def test_noise_ceiling_is_high_for_shared_signal_and_zero_for_noise():
    from analysis.encoding import noise_ceiling

    rng = np.random.default_rng(6)
    shared = rng.standard_normal((200, 1))
    participants = [np.hstack([shared + 0.5 * rng.standard_normal((200, 1)),
                               rng.standard_normal((200, 1))]) for _ in range(4)]
    ceiling = noise_ceiling(participants, n_folds=5)
    assert ceiling.shape == (4, 2)
    assert (ceiling[:, 0] > 0.7).all() and (np.abs(ceiling[:, 1]) < 0.3).all()
    with pytest.raises(ValueError, match="two participants"):
        noise_ceiling(participants[:1])


@pytest.mark.parametrize("selection", ["loo", "gcv", "kfold"])
def test_cross_val_predict_gives_brain_score_per_fold(selection, autocorrelated):
    from analysis.encoding import cross_val_predict, outer_folds, target_scaling

    X, Y = autocorrelated(seed=7, t=12)
    Y[:, 3] = np.nan
    options = dict(n_folds=4, alphas=np.logspace(-1, 4, 6), alpha_selection=selection,
                   inner_folds=3)
    prediction = cross_val_predict(X, Y, **options)
    assert prediction.shape == Y.shape and np.isnan(prediction[:, 3]).all()
    valid, scalings = target_scaling(Y, 4)
    per_fold = []
    for (train, test), (center, scale) in zip(outer_folds(len(Y), 4), scalings):
        scaled = (Y[test][:, valid] - center) / scale
        per_fold.append(pearson_r(prediction[test][:, valid], scaled))
    np.testing.assert_allclose(np.mean(per_fold, axis=0), brain_score(X, Y, **options)[valid],
                               atol=1e-6)
