import numpy as np
import pytest

from analysis import layers
from analysis.scores import LayerScores


def test_choose_layers_best_and_fixed():
    scores = np.zeros((2, 3, 5))
    scores[:, 1] = 0.1
    result = LayerScores(scores, scores, ["a", "b"], [7, 8, 9], 7)
    choice = layers.choose_layers(result)
    assert choice.layers == (8, 8) and choice.method == layers.LEAVE_ONE_OUT
    assert str(choice) == "8" and choice.numbers() == {"layers": [8, 8],
                                                       "method": "leave-one-participant-out"}
    fixed = layers.choose_layers(result, 9)
    assert fixed.layers == (9, 9) and fixed.method == layers.FIXED
    choice, values = layers.layer_map(result)
    assert values.shape == (2, 5)
    np.testing.assert_array_equal(values, scores[:, 1])
    assert layers.layer_map(result, 7)[0].layers == (7, 7)
    for wrong in (11, True, "last"):
        with pytest.raises(ValueError, match=f"layer={wrong!r}"):
            layers.choose_layers(result, wrong)


def test_leave_one_participant_out_never_lets_a_participants_own_data_choose_its_layer():
    """Participant 0's own scores peak at layer 9, everyone else's at layer 8: its layer is 8,
    whatever its own scores, and its map is read at layer 8."""
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 0.001, (4, 3, 10))
    scores[1:, 1] += 0.05  # the others: layer 8
    scores[0, 2] += 0.08  # participant 0 alone: layer 9
    result = LayerScores(scores, scores, ["a", "b", "c", "d"], [7, 8, 9], 7)
    choice, maps = layers.layer_map(result)
    assert choice.layers[0] == 8
    np.testing.assert_array_equal(maps[0], scores[0, 1])
    # changing participant 0's own scores never changes its own layer
    for own in rng.normal(0, 1, (20, 3)):
        changed = scores.copy()
        changed[0] = own[:, None]
        assert layers.choose_layers(LayerScores(changed, changed, result.participants,
                                                [7, 8, 9], 7)).layers[0] == 8
    # but each other participant's layer is chosen by the rest, participant 0 included
    assert all(layer == 8 for layer in choice.layers[1:])


def test_each_region_chooses_its_layers_on_its_own_vertices():
    scores = np.zeros((3, 3, 6))
    scores[:, 0, :3] = 0.1  # vertices 0-2: layer 7
    scores[:, 2, 3:] = 0.1  # vertices 3-5: layer 9
    result = LayerScores(scores, scores, ["a", "b", "c"], [7, 8, 9], 7)
    masks = {"early": np.arange(6) < 3, "late": np.arange(6) >= 3}
    chosen = layers.choose_region_layers(result, masks)
    assert chosen["early"].layers == (7, 7, 7) and chosen["late"].layers == (9, 9, 9)
    assert chosen["late"].method == layers.LEAVE_ONE_OUT
    assert layers.choose_region_layers(result, masks, 8)["early"].layers == (8, 8, 8)


def test_one_participant_gets_the_middle_transformer_layer_fixed():
    scores = np.zeros((1, 19, 4))
    scores[0, 3] = 1.0
    result = LayerScores(scores, scores, ["a"], list(range(19)), 7)
    choice = layers.choose_layers(result)
    assert choice.layers == (13,) and choice.method == layers.FIXED


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
    best, threshold = layers.best_layer_map(result, percentile=99)
    assert 0 < threshold < 0.05
    assert (best[:50] == 7).all() and (best[50:80] == 9).all()
    assert np.isnan(best[199])
    assert np.isfinite(best[80:]).sum() <= 3  # about 1 % of noise vertices pass at most
    masks = {"early": np.arange(n_vertices) < 50, "both": np.arange(n_vertices) < 80,
             "noise": np.arange(n_vertices) >= 100}
    shares = layers.layer_shares(best, masks, [7, 8, 9])
    assert shares.loc["early", 7] == 100 and shares.loc["early", "n_vertices"] == 50
    np.testing.assert_allclose(shares.loc["both", [7, 8, 9]], [62.5, 0, 37.5])
    assert shares.loc["noise", "n_vertices"] == np.isfinite(best[100:]).sum()
    with pytest.raises(ValueError, match="masks\\['bad'\\]"):
        layers.layer_shares(best, {"bad": np.ones(3, bool)}, [7, 8, 9])
    curve = layers.layer_curve(result)
    line = layers.curve_summary(result, curve, best, threshold, 99.0)
    top = int(np.argmax(curve["mean_r"]))
    assert line.startswith("3 participants (a, b, c); best layer on average "
                           f"{result.layers[top]}: mean R = {curve['mean_r'][top]:.4f}")
    assert f"{int(np.isfinite(best).sum())} vertices beat the null's 99th percentile" in line


def test_a_region_with_no_kept_vertex_has_no_share():
    best = np.array([7.0, np.nan, np.nan])
    shares = layers.layer_shares(best, {"r": np.array([False, True, True])}, [7, 8])
    assert shares.loc["r", "n_vertices"] == 0
    assert np.isnan(shares.loc["r", [7, 8]].astype(float)).all()


def test_fitted_layer_maps_fit_only_the_layer_the_regions_choose(tiny_world, tiny_profile,
                                                                  tiny_model_dir):
    """Each participant's layer is chosen by the other participant's scores on the chosen
    vertices; its whole-cortex map is the full fit of that layer."""
    from analysis import scores

    model = str(tiny_model_dir)
    choose_on = np.zeros(scores.N_VERTICES, bool)
    choose_on[:3000] = True
    chosen, maps = layers.fitted_layer_maps(tiny_world, tiny_profile, {"m": model}, "en",
                                            choose_on)
    region = scores.region_layer_scores(tiny_world, tiny_profile, model, "en", choose_on)
    assert chosen["m"] == layers.choose_layers(region)
    full = scores.layer_scores(tiny_world, tiny_profile, model, "en", null=False)
    assert maps["m"].shape == (2, scores.N_VERTICES)
    for i, number in enumerate(chosen["m"].layers):
        np.testing.assert_allclose(maps["m"][i], full.scores[i, full.layers.index(number)],
                                   atol=1e-5)


def test_a_fixed_layer_is_fitted_without_choosing(tiny_world, tiny_profile, tiny_model_dir,
                                                  monkeypatch):
    from analysis import scores

    def fail(*args, **kwargs):
        raise AssertionError("nothing is fitted to choose a fixed layer")

    monkeypatch.setattr(scores, "region_layer_scores", fail)
    model = str(tiny_model_dir)
    everywhere = np.ones(scores.N_VERTICES, bool)
    chosen, maps = layers.fitted_layer_maps(tiny_world, tiny_profile, {"m": model}, "en",
                                            everywhere, 3)
    assert chosen["m"].layers == (3, 3) and chosen["m"].method == layers.FIXED
    full = scores.layer_scores(tiny_world, tiny_profile, model, "en", layers=[3], null=False)
    np.testing.assert_array_equal(maps["m"], full.scores[:, 0])
    for wrong in (True, "last"):
        with pytest.raises(ValueError, match=f"layer={wrong!r}"):
            layers.fitted_layer_maps(tiny_world, tiny_profile, {"m": model}, "en",
                                     everywhere, wrong)
