import numpy as np
import pytest
from nilearn.glm.first_level import compute_regressor, glover_hrf

from analysis.regressors import build_regressors, hrf_convolve, scan_times


def test_matches_compute_regressor_column_by_column():
    rng = np.random.default_rng(0)
    frame_times = scan_times(60, 2.0)
    onsets = np.arange(0, 110, 0.02)
    durations = np.full(len(onsets), 0.02)
    values = rng.random((len(onsets), 3))
    ours = hrf_convolve(values, onsets, durations, frame_times)
    for j in range(3):
        reference, _ = compute_regressor(np.vstack([onsets, durations, values[:, j]]), "glover",
                                         frame_times)
        np.testing.assert_allclose(ours[:, j], reference[:, 0], atol=1e-10)


def test_single_impulse_reproduces_the_glover_kernel():
    tr, oversampling = 2.0, 50
    frame_times = scan_times(30, tr)
    response = hrf_convolve(np.ones((1, 1)), np.array([10.0]), np.array([0.0]), frame_times,
                            oversampling)[:, 0]
    kernel = glover_hrf(tr, oversampling)
    kernel_times = 10.0 + np.arange(len(kernel)) * tr / oversampling
    expected = np.interp(frame_times, kernel_times, kernel, left=0.0, right=0.0)
    np.testing.assert_allclose(response, expected, atol=2e-3 * kernel.max())
    assert frame_times[np.argmax(response)] in (14.0, 16.0)  # Glover peaks ~5 s after onset


def test_build_regressors_zscores_and_checks_shapes():
    rng = np.random.default_rng(1)
    times = np.arange(0, 100, 0.02) + 0.01
    features = rng.random((len(times), 4))
    features[:, 2] = 3.0  # a constant unit gives a zero regressor, not NaN
    regs = build_regressors(features, times, scan_times(50, 2.0))
    assert regs.shape == (50, 4) and regs.dtype == np.float32
    np.testing.assert_allclose(regs[:, [0, 1, 3]].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(regs[:, [0, 1, 3]].std(axis=0), 1, atol=1e-4)
    assert np.all(regs[:, 2] == 0)
    with pytest.raises(ValueError, match="do not match"):
        build_regressors(features[:10], times, scan_times(50, 2.0))


def test_pca_is_off_by_default_and_reduces_each_layer():
    from analysis.regressors import reduce_components

    rng = np.random.default_rng(2)
    factors = rng.standard_normal((80, 2)) * [5.0, 2.0]
    regs = factors @ rng.standard_normal((2, 30)) + 0.1 * rng.standard_normal((80, 30))
    assert reduce_components(regs) is regs
    reduced = reduce_components(regs, n_components=3)
    assert reduced.shape == (80, 3) and reduced.dtype == np.float32
    np.testing.assert_allclose(reduced.std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(reduced.mean(axis=0), 0, atol=1e-5)
    # the first two components span the planted factors, in order of variance
    assert abs(np.corrcoef(reduced[:, 0], factors[:, 0])[0, 1]) > 0.95
    assert abs(np.corrcoef(reduced[:, 1], factors[:, 1])[0, 1]) > 0.95
    np.testing.assert_array_equal(reduce_components(regs, 3), reduced)  # deterministic signs
    with pytest.raises(ValueError, match="n_components=31"):
        reduce_components(regs, n_components=31)
