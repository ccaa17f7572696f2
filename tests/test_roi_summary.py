import numpy as np
import pytest

from analysis import roi_summary
from analysis.pipeline import LayerScores


def scores_with(effect, n=12, n_vertices=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.01, (n, n_vertices)) + effect


def test_choose_layer_best_and_fixed():
    scores = np.zeros((2, 3, 5))
    scores[:, 1] = 0.1
    result = LayerScores(scores, scores, ["a", "b"], [7, 8, 9], 7)
    assert roi_summary.choose_layer(result) == 1
    assert roi_summary.choose_layer(result, 9) == 2
    layer, values = roi_summary.layer_map(result)
    assert layer == 8 and values.shape == (2, 5)
    with pytest.raises(ValueError, match="layer=11"):
        roi_summary.choose_layer(result, 11)


def test_region_summary_finds_the_planted_difference():
    masks = {"left": np.arange(40) < 20, "right": np.arange(40) >= 20}
    trained = scores_with(np.where(np.arange(40) < 20, 0.05, 0.0))
    random = scores_with(0.0, seed=1)
    bars, tests = roi_summary.summarize_regions({"random": random, "trained": trained},
                                                masks, [("random", "trained")])
    left = bars[(bars.region == "left") & (bars.model == "trained")].iloc[0]
    assert left["mean"] == pytest.approx(0.05, abs=0.005)
    assert left.ci_low < left["mean"] < left.ci_high and left.n == 12
    p = tests.set_index("region").p
    assert p["left"] < 1e-3 and p["right"] > 0.05
    assert tests.set_index("region").stars["left"] == "***"
    with pytest.raises(ValueError, match="selects no vertex"):
        roi_summary.region_means(trained, {"empty": np.zeros(40, bool)})
    with pytest.raises(ValueError, match="'other'"):
        roi_summary.summarize_regions({"random": random}, masks, [("random", "other")])


def test_min_attainable_p_matches_scipy():
    from scipy import stats

    for n in (3, 5):
        x = np.arange(1, n + 1, dtype=float)
        assert stats.wilcoxon(x, alternative="greater").pvalue == pytest.approx(
            roi_summary.min_attainable_p(n))
        assert stats.wilcoxon(x).pvalue == pytest.approx(
            roi_summary.min_attainable_p(n, "two-sided"))


def test_contrast_map_gives_the_most_specific_significant_contrast():
    n_v = 50
    region = np.arange(n_v) // 10  # 5 blocks of 10 vertices
    base = scores_with(0.0, n=15, n_vertices=n_v)
    maps = {"random": base + np.where(region >= 1, 0.02, 0.0)}
    maps["non-speech"] = maps["random"] + np.where(region >= 2, 0.02, 0.0)
    maps["non-native"] = maps["non-speech"] + np.where(region >= 3, 0.02, 0.0)
    maps["native"] = maps["non-native"] + np.where(region >= 4, 0.02, 0.0)
    codes, q = roi_summary.contrast_map(maps)
    # block 0: nothing; 1: random > 0; 2: sound-generic; 3: speech-specific; 4: language
    expected = np.array([-1, 3, 2, 1, 0]).repeat(10)
    assert (codes == expected).mean() > 0.9
    assert set(q) == {label for label, _, _ in roi_summary.CONTRASTS}
    with pytest.raises(ValueError, match="native"):
        roi_summary.contrast_map({"random": base})


def test_conditions_resolve_or_fail_naming_the_panel(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = roi_summary.resolve_conditions({"untrained": "random", "mine": str(tiny_model_dir)},
                                         "en", "demo")
    assert out == {"untrained": "demo-random", "mine": str(tiny_model_dir)}
    assert roi_summary.resolve_conditions({"untrained": "random"}, "fr", "lpp") == {
        "untrained": "random"}
    with pytest.raises(ValueError, match=r"conditions\['x'\]='nope'"):
        roi_summary.resolve_conditions({"x": "nope"}, "en", "demo")


def test_grouped_bars_draw_every_bar_and_bracket():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from analysis import barplots

    bars = pd.DataFrame({"region": ["r1", "r1", "r2", "r2"], "model": ["a", "b"] * 2,
                         "mean": [0.1, 0.2, 0.05, np.nan], "ci_low": [0.05, 0.15, 0.0, np.nan],
                         "ci_high": [0.15, 0.25, 0.1, np.nan]})
    tests = pd.DataFrame({"region": ["r1", "r2"], "a": "a", "b": "b", "p": [1e-5, np.nan],
                          "stars": ["****", "n.s."]})
    fig, ax = plt.subplots()
    barplots.plot_grouped_bars(ax, bars, tests, annotate="p")
    assert len(ax.patches) == 4
    assert sorted(t.get_text() for t in ax.texts) == ["p n/a", "p=1e-05"]
    with pytest.raises(ValueError, match="annotate='x'"):
        barplots.plot_grouped_bars(ax, bars, annotate="x")
    plt.close(fig)


def test_a_hub_model_missing_offline_fails_before_anything_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    with pytest.raises(ValueError, match=r"conditions\['supervised'\].*HF_HUB_OFFLINE"):
        roi_summary.resolve_conditions({"supervised": "supervised"}, "en", "lpp")


def test_layer_profiles_give_each_region_its_curve_peak_and_mean_best_layer():
    scores = np.zeros((2, 3, 6))  # 2 participants, layers 7..9, 6 vertices
    scores[:, 0, :3] = 0.3  # vertices 0-2 peak at layer 7
    scores[:, 2, 3:] = 0.2  # vertices 3-5 peak at layer 9
    scores[1, 1, 5] = 0.5   # ... except vertex 5 of participant 2, at layer 8
    result = LayerScores(scores, np.full_like(scores, np.nan), ["a", "b"], [7, 8, 9], 7)
    masks = {"early": np.arange(6) < 3, "late": np.arange(6) >= 3}
    out = roi_summary.layer_profiles(result, masks)
    assert out["early"]["best_layer"] == 7 and out["early"]["mean_r"] == pytest.approx(0.3)
    assert out["early"]["mean_best_layer"] == 7
    assert out["late"]["best_layer"] == 9
    assert out["late"]["mean_best_layer"] == pytest.approx((9 * 5 + 8) / 6)
    np.testing.assert_allclose(out["late"]["mean_r_per_layer"], [0, 0.5 / 6, 0.2])
    with pytest.raises(ValueError, match="masks\\['none'\\] selects no vertex"):
        roi_summary.layer_profiles(result, {"none": np.zeros(6, bool)})


def test_best_layer_map_keeps_vertices_above_the_null_and_shares_count_them():
    rng = np.random.default_rng(0)
    n_vertices = 200
    null = rng.normal(0, 0.01, (3, 3, n_vertices))
    scores = null.copy()
    scores[:, 0, :50] += 0.3  # early layer wins the first 50 vertices
    scores[:, 2, 50:80] += 0.3  # the last layer wins the next 30
    scores[:, :, 80:] = null[:, :, 80:]  # the rest: noise only
    scores[:, :, 199] = np.nan  # never fitted
    result = LayerScores(scores, null, ["a", "b", "c"], [7, 8, 9], 7)
    best, threshold = roi_summary.best_layer_map(result, percentile=99)
    assert 0 < threshold < 0.05
    assert (best[:50] == 7).all() and (best[50:80] == 9).all()
    assert np.isnan(best[199])
    assert np.isfinite(best[80:]).sum() <= 3  # about 1 % of noise vertices pass at most
    masks = {"early": np.arange(n_vertices) < 50, "both": np.arange(n_vertices) < 80,
             "noise": np.arange(n_vertices) >= 100}
    shares = roi_summary.layer_shares(best, masks, [7, 8, 9])
    assert shares.loc["early", 7] == 100 and shares.loc["early", "n_vertices"] == 50
    np.testing.assert_allclose(shares.loc["both", [7, 8, 9]], [62.5, 0, 37.5])
    assert shares.loc["noise", "n_vertices"] == np.isfinite(best[100:]).sum()
    with pytest.raises(ValueError, match="masks\\['bad'\\]"):
        roi_summary.layer_shares(best, {"bad": np.ones(3, bool)}, [7, 8, 9])


def test_qualitative_pattern_checks_each_aim_with_its_numbers():
    def profile(r, depth):
        return {region: {"mean_r": value, "mean_best_layer": d}
                for region, value, d in zip(("A1+A2", "STS", "IFG"), r, depth)}

    profiles = {"native": profile([0.30, 0.20, 0.10], [1, 3, 4]),
                "non-native": profile([0.29, 0.19, 0.11], [1, 3, 4]),
                "non-speech": profile([0.28, 0.18, 0.09], [1, 2, 3]),
                "random": profile([0.27, 0.17, 0.08], [1, 1, 1])}
    aims = {a["aim"]: a for a in roi_summary.qualitative_pattern(profiles)}
    assert aims["trained (native) > random in every region"]["holds"]
    assert aims["the native model's best layer is deeper in IFG than in A1+A2"]["holds"]
    assert aims["native > non-native > non-speech > random in STS"]["holds"]
    ifg = aims["native > non-native > non-speech > random in IFG"]
    assert not ifg["holds"] and "non-native 0.1100" in ifg["numbers"]
    only_two = roi_summary.qualitative_pattern({k: profiles[k] for k in ("native", "random")})
    assert len(only_two) == 2
