import numpy as np
import pandas as pd
import pytest

from analysis import group_stats


def scores_with(effect, n=12, n_vertices=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.01, (n, n_vertices)) + effect


def test_region_summary_finds_the_planted_difference():
    masks = {"left": np.arange(40) < 20, "right": np.arange(40) >= 20}
    trained = scores_with(np.where(np.arange(40) < 20, 0.05, 0.0))
    random = scores_with(0.0, seed=1)
    bars, tests = group_stats.summarize_regions({"random": random, "trained": trained},
                                                masks, [("random", "trained")])
    left = bars[(bars.region == "left") & (bars.model == "trained")].iloc[0]
    assert left["mean"] == pytest.approx(0.05, abs=0.005)
    assert left.ci_low < left["mean"] < left.ci_high and left.n == 12
    p = tests.set_index("region").p
    assert p["left"] < 1e-3 and p["right"] > 0.05
    assert tests.set_index("region").stars["left"] == "***"
    with pytest.raises(ValueError, match="selects no vertex"):
        group_stats.region_means(trained, {"empty": np.zeros(40, bool)})
    with pytest.raises(ValueError, match="'other'"):
        group_stats.summarize_regions({"random": random}, masks, [("random", "other")])
    with pytest.raises(ValueError, match="same participants and vertices"):
        group_stats.summarize_regions({"random": random, "trained": trained[:5]}, masks, [])


def test_region_means_average_each_participant_over_the_region():
    scores = np.array([[1.0, 2.0, np.nan, 4.0], [0.0, 0.0, 3.0, 3.0]])
    means = group_stats.region_means(scores, {"first": np.array([1, 1, 1, 0], bool),
                                              "last": np.array([0, 0, 0, 1], bool)})
    np.testing.assert_allclose(means["first"], [1.5, 1.0])  # a missing vertex is skipped
    np.testing.assert_allclose(means["last"], [4.0, 3.0])
    with pytest.raises(ValueError, match="masks\\['x'\\] has shape"):
        group_stats.region_means(scores, {"x": np.ones(3, bool)})


def test_min_attainable_p_matches_scipy():
    from scipy import stats

    for n in (3, 5):
        x = np.arange(1, n + 1, dtype=float)
        assert stats.wilcoxon(x, alternative="greater").pvalue == pytest.approx(
            group_stats.min_attainable_p(n))
        assert stats.wilcoxon(x).pvalue == pytest.approx(
            group_stats.min_attainable_p(n, "two-sided"))
    assert np.isnan(group_stats.min_attainable_p(0))


def test_significant_map_keeps_the_planted_vertices():
    effect = np.where(np.arange(40) < 10, 0.05, 0.0)
    mean, q = group_stats.significant_map(scores_with(effect))
    assert mean.shape == q.shape == (40,)
    np.testing.assert_allclose(mean[:10], 0.05, atol=0.01)
    assert (q[:10] < 0.05).all() and (q[10:] > 0.05).mean() > 0.9
    holes = scores_with(effect)
    holes[3, 0] = np.nan  # a vertex some participant lacks is not tested
    _, q = group_stats.significant_map(holes)
    assert np.isnan(q[0]) and np.isfinite(q[1:]).all()
    _, q = group_stats.significant_map(scores_with(effect, n=1))  # one participant: no test
    assert np.isnan(q).all()


def test_contrast_map_gives_the_most_specific_significant_contrast():
    n_v = 50
    region = np.arange(n_v) // 10  # 5 blocks of 10 vertices
    base = scores_with(0.0, n=15, n_vertices=n_v)
    maps = {"random": base + np.where(region >= 1, 0.02, 0.0)}
    maps["non-speech"] = maps["random"] + np.where(region >= 2, 0.02, 0.0)
    maps["non-native"] = maps["non-speech"] + np.where(region >= 3, 0.02, 0.0)
    maps["native"] = maps["non-native"] + np.where(region >= 4, 0.02, 0.0)
    result = group_stats.contrast_map(maps)
    codes, q = result.codes, result.q
    # block 0: nothing; 1: random > 0; 2: sound-generic; 3: speech-specific; 4: language
    expected = np.array([-1, 3, 2, 1, 0]).repeat(10)
    assert (codes == expected).mean() > 0.9
    assert set(q) == set(result.labels) == set(group_stats.CONTRAST_LABELS)
    share = result.share  # each contrast's share of all vertices, in the contrasts' order
    assert list(share) == list(group_stats.CONTRAST_LABELS)
    assert share == {label: float((codes == i).mean()) for i, label in enumerate(result.labels)}
    assert sum(share.values()) == pytest.approx((codes >= 0).mean())
    numbers = result.numbers()
    assert numbers["labels"] == list(result.labels) and numbers["share"] == share
    assert numbers["code_per_vertex"] is codes and numbers["q_per_vertex"] is q
    counts = [int((codes == i).sum()) for i in range(4)]  # each contrast's coloured vertices
    assert result.status().endswith(", ".join(f"{label} {count}" for label, count in
                                              zip(result.labels, counts)) + f", of {n_v}")
    few = group_stats.contrast_map({k: v[:3] for k, v in maps.items()})
    assert "no vertex can pass" in few.status()
    with pytest.raises(ValueError, match="native"):
        group_stats.contrast_map({"random": base})


def test_threshold_map_shows_significant_vertices_or_all_when_none_can_pass():
    effect = np.where(np.arange(40) < 20, 0.05, 0.0)
    many = group_stats.threshold_map(scores_with(effect, n=15, n_vertices=40), alpha=0.05)
    mean, q = group_stats.significant_map(scores_with(effect, n=15, n_vertices=40))
    assert np.array_equal(many.mean, mean) and np.array_equal(many.q, q, equal_nan=True)
    assert many.testable and many.n == 15 and many.n_significant == int((q < 0.05).sum())
    assert np.array_equal(np.isfinite(many.shown), q < 0.05)
    assert "FDR q < 0.05" in many.label
    few = group_stats.threshold_map(scores_with(effect, n=3, n_vertices=40), alpha=0.05)
    assert not few.testable and np.array_equal(few.shown, few.mean)  # unthresholded
    assert "3 participants cannot reach p < 0.05" in few.label


def test_summarize_contrasts_treats_contrasts_as_the_units():
    rng = np.random.default_rng(0)
    by_contrast = pd.DataFrame(rng.uniform(0.5, 1.0, size=(12, 3)), columns=["a", "b", "c"])
    bars, tests = group_stats.summarize_contrasts(by_contrast, seed=3)
    expected = group_stats.summarize_regions(
        {c: by_contrast[[c]].to_numpy() for c in "abc"}, {"ABX": np.array([True])},
        [("a", "b"), ("b", "c")], seed=3)
    pd.testing.assert_frame_equal(bars, expected[0])
    pd.testing.assert_frame_equal(tests, expected[1])
    assert list(bars.model) == ["a", "b", "c"] and set(bars.region) == {"ABX"}
    assert (bars.n == 12).all() and list(zip(tests.a, tests.b)) == [("a", "b"), ("b", "c")]
    assert group_stats.successive(["a", "b", "c"]) == [("a", "b"), ("b", "c")]
    assert group_stats.records(bars, tests) == {"bars": bars.to_dict("records"),
                                                "tests": tests.to_dict("records")}
