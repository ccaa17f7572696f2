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


def test_many_targets_with_ties_are_tested_in_chunks_with_the_same_p_values(monkeypatch):
    """Ties send scipy to a permutation test whose arrays grow with the targets of a call:
    the targets go in chunks, and every p-value is the one a test of its own gives."""
    monkeypatch.setattr(stats, "TARGETS_PER_TEST", 7)
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((8, 30)) + 0.3, 1)  # rounded: ties in most columns
    calls = []
    real = scipy_stats.wilcoxon

    def counted(values, *args, **kwargs):
        calls.append(np.shape(values))
        return real(values, *args, **kwargs)

    monkeypatch.setattr(stats.stats, "wilcoxon", counted)
    x[:, 0] = np.arange(1, 9) / 8  # no tie: tested with the other tie-free targets
    got = stats.one_sample_test(x)
    assert max(shape[1] for shape in calls[1:]) <= 7 and len(calls) >= 5
    expected = [real(x[:, j], alternative="greater").pvalue for j in range(30)]
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(stats.paired_test(x, np.zeros_like(x)),
                               [real(x[:, j]).pvalue for j in range(30)])


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
