import numpy as np
import pytest
from scipy import stats as scipy_stats

from analysis import stats


def test_wilcoxon_reproduces_the_textbook_example():
    # scipy's documented example: differences in height of 15 pairs (Fisher's Darwin data)
    d = np.array([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75])
    assert stats.paired_test(d, np.zeros_like(d)) == pytest.approx(0.041259765625)
    assert stats.one_sample_test(d) == pytest.approx(0.0206298828125)


def test_paired_test_per_vertex_matches_one_by_one():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((12, 4)), rng.standard_normal((12, 4)) + 0.5
    expected = [scipy_stats.wilcoxon(a[:, j], b[:, j]).pvalue for j in range(4)]
    np.testing.assert_allclose(stats.paired_test(a, b), expected)
    with pytest.raises(ValueError, match="differ"):
        stats.paired_test(a, b[:, :2])


def test_fdr_matches_scipy_and_keeps_nan():
    p = np.random.default_rng(1).uniform(0, 0.2, (5, 40))
    p[0, 0] = np.nan
    out = stats.fdr(p)
    assert np.isnan(out[0, 0])
    finite = np.isfinite(p)
    np.testing.assert_allclose(out[finite],
                               scipy_stats.false_discovery_control(p[finite], method="bh"))
    # Benjamini-Hochberg by hand on a small example
    small = np.array([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(stats.fdr(small), [0.02, 0.04, 0.04, 0.02])


def test_bootstrap_interval_contains_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(2)
    small, large = rng.normal(1, 1, 10), rng.normal(1, 1, 400)
    lo, hi = stats.bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = stats.bootstrap_ci(large)
    assert hi2 - lo2 < hi - lo


@pytest.mark.parametrize("p,label", [(1e-5, "****"), (5e-4, "***"), (5e-3, "**"), (0.04, "*"),
                                     (0.2, "n.s."), (np.nan, "n.s.")])
def test_stars(p, label):
    assert stats.stars(p) == label
