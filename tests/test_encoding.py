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
