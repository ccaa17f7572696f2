"""Variance partitioning: the single band is brain_score, the banded fit is himalaya's, and
the partition finds a layer's unique variance where it was planted, none where it was not."""
import numpy as np
import pytest
from himalaya.ridge import GroupRidgeCV
from sklearn.model_selection import KFold

from analysis import encoding, partition

ALPHAS = tuple(np.logspace(-1, 4, 6))


@pytest.fixture(scope="module")
def planted():
    """A baseline A (6 features) and a layer L (10 features) sharing 2 directions; targets
    0-9 driven by A only, 10-19 by L's own part, 20-29 by nothing."""
    rng = np.random.default_rng(0)
    n = 300
    A = rng.standard_normal((n, 6))
    own = rng.standard_normal((n, 8))
    L = np.hstack([A[:, :2] + 0.1 * rng.standard_normal((n, 2)), own])
    Y = rng.standard_normal((n, 30))
    Y[:, :10] += A @ rng.standard_normal((6, 10))
    Y[:, 10:20] += own[:, :3] @ rng.standard_normal((3, 10))
    return A, L, Y


def test_one_band_through_himalaya_is_brain_score(planted):
    """The banded path with a single band reproduces brain_score (same folds, scaling and
    inner K-fold criterion on random folds) within 1e-3."""
    A, _, Y = planted
    expected = encoding.brain_score(A, Y, n_folds=5, alphas=ALPHAS,
                                    alpha_selection=partition.SELECTION,
                                    inner_folds=5, backend="numpy")
    got = partition.banded_scores([A], Y, n_folds=5, alphas=ALPHAS, inner_folds=5,
                                  weights=np.ones((1, 1)), backend="numpy", dtype=np.float64)
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_banded_fit_is_himalayas_own(planted):
    A, L, Y = planted
    Yc = Y[:250] - Y[:250].mean(0)
    got = partition.banded_fit_predict([A[:250], L[:250]], Yc, [A[250:], L[250:]], ALPHAS,
                                       inner_folds=4, backend="numpy", dtype=np.float64)
    model = GroupRidgeCV(groups="input", fit_intercept=True,
                         cv=KFold(4, shuffle=True, random_state=0),
                         solver_params={"alphas": np.asarray(ALPHAS),
                                        "n_iter": partition.band_weights(2),
                                        "progress_bar": False})
    model.fit([A[:250], L[:250]], Yc)
    np.testing.assert_allclose(got, model.predict([A[250:], L[250:]]), rtol=1e-6, atol=1e-9)


def test_the_penalty_search_score_is_himalayas_own():
    from himalaya.scoring import l2_neg_loss

    rng = np.random.default_rng(0)
    y = rng.standard_normal((30, 50)).astype(np.float32)
    predictions = rng.standard_normal((6, 30, 50)).astype(np.float32)
    np.testing.assert_array_equal(partition.l2_neg_loss(y, predictions),
                                  l2_neg_loss(y, predictions.copy()))
    np.testing.assert_array_equal(partition.l2_neg_loss(y, predictions[0]),
                                  l2_neg_loss(y, predictions[0].copy()))
    predictions[2, 3, 4] = np.nan  # himalaya counts a NaN prediction as 0
    with pytest.warns(UserWarning, match="nan in y_pred"):
        got = partition.l2_neg_loss(y, predictions.copy())
    predictions[2, 3, 4] = 0.0
    np.testing.assert_array_equal(got, l2_neg_loss(y, predictions))


def test_band_weights_hold_each_band_alone():
    weights = partition.band_weights(2, steps=4)
    assert weights.shape == (5, 2)
    assert np.allclose(weights[:2], [[1, partition.MIN_WEIGHT], [partition.MIN_WEIGHT, 1]])
    assert np.allclose(weights.sum(1), 1, atol=1e-5)
    assert partition.band_weights(3, steps=2).shape == (6, 3)


def test_partition_finds_unique_variance_where_it_was_planted(planted):
    A, L, Y = planted
    out = partition.partition_scores(A, L, Y, n_folds=5, alphas=ALPHAS, inner_folds=5,
                                     backend="numpy", dtype=np.float64)
    single = encoding.score_layers([A, L], Y, progress=False, n_folds=5, alphas=ALPHAS,
                                   alpha_selection=partition.SELECTION, inner_folds=5,
                                   backend="numpy")
    np.testing.assert_allclose(out["baseline_r"], single[0], atol=1e-6)
    np.testing.assert_allclose(out["model_r"], single[1], atol=1e-6)
    assert out["unique"][10:20].mean() > 0.2  # L's own part
    assert abs(out["unique"][:10].mean()) < 0.02  # A explains it all
    assert abs(out["unique"][20:].mean()) < 0.02  # noise
    a, l, j = (partition.explained_variance(out[k]) for k in ("baseline_r", "model_r",
                                                                 "joint_r"))
    np.testing.assert_allclose(out["shared"], a + l - j)


def test_a_prediction_that_anti_correlates_explains_no_variance():
    values = partition.partition_values(np.array([-0.3, 0.4]), np.array([0.2, 0.1]),
                                        np.array([0.1, 0.3]))
    # the baseline's r of -0.3 is no variance explained, not -0.09: L's unique part is
    # the joint model's 0.01, not 0.01 + 0.09
    np.testing.assert_allclose(values["unique"], [0.01, 0.09 - 0.16])
    np.testing.assert_allclose(values["shared"], [0.0 + 0.04 - 0.01, 0.16 + 0.01 - 0.09])


def test_roi_summary_tests_unique_variance_across_listeners():
    rng = np.random.default_rng(1)
    n_listeners, n_vertices = 8, 20
    r = rng.uniform(0.2, 0.3, (n_listeners, n_vertices))
    values = partition.partition_values(r, r * 0.5, r + 0.1)
    values = {k: values[k] for k in partition.QUANTITIES}
    part = partition.Partition(values, [f"sub-{i}" for i in range(n_listeners)], "m",
                               np.full((n_listeners, n_vertices), 3), "acoustic")
    masks = {"left": np.arange(n_vertices) < 10, "right": np.arange(n_vertices) >= 10}
    summary = partition.roi_summary(part, masks)
    assert set(summary) == {"left", "right"}
    left = summary["left"]
    assert left["n"] == n_listeners and left["unique"] > 0
    assert left["unique_ci"][0] <= left["unique"] <= left["unique_ci"][1]
    assert left["p_unique"] < 0.05  # every listener's unique variance is positive
    assert left["p_unique"] < left["p_unique_two_sided"]  # one-sided: unique > 0
    assert 0 < left["unique_share"] < 1


def test_a_layer_redundant_with_the_baseline_adds_nothing_even_above_its_null():
    """Unique variance below 0 but above its (more negative) null: the layer made the
    held-out prediction worse than the baseline alone, so it adds nothing."""
    n_listeners, n_vertices = 10, 4
    spread = np.linspace(0, 1e-3, n_listeners)[:, None]
    values = {name: np.zeros((n_listeners, n_vertices)) for name in partition.QUANTITIES}
    values["unique"] = -0.006 + np.tile(spread, (1, n_vertices))
    values["unique_null"] = np.full((n_listeners, n_vertices), -0.008)
    part = partition.Partition(values, [f"s{i}" for i in range(n_listeners)], "m",
                               np.zeros((n_listeners, n_vertices), int), "acoustic")
    summary = partition.roi_summary(part, {"all": np.ones(n_vertices, bool)})["all"]
    assert summary["p_unique_null"] < 0.01 and summary["p_unique_zero"] > 0.5
    assert summary["p_unique"] == summary["p_unique_zero"]
    assert partition.significant_regions({"all": summary})[0] == []


def test_significant_regions_and_the_paired_comparison_of_two_models():
    def region(unique, p, p_two_sided, per_listener):
        return {"unique": unique, "unique_tested": unique, "p_unique": p,
                "p_unique_two_sided": p_two_sided, "per_listener": {"unique": per_listener}}

    trained = {"A": region(0.01, 0.001, 0.002, [0.02, 0.03, 0.01, 0.04, 0.02, 0.03]),
               "B": region(-0.01, 0.999, 0.002, [0.0] * 6),
               "C": region(0.02, 0.2, 0.4, [0.0] * 6)}
    untrained = {"A": region(0.0, 0.5, 1.0, [0.0] * 6), "B": region(0.0, 0.5, 1.0, [0.0] * 6),
                 "C": region(0.0, 0.5, 1.0, [0.0] * 6)}
    assert partition.significant_regions(trained) == (["A"], ["B"])
    versus = partition.paired_unique(trained, untrained)
    assert versus["A"]["difference"] == pytest.approx(0.025) and versus["A"]["p"] < 0.05
    assert np.isnan(versus["B"]["p"])  # identical values: nothing to test


def test_the_partition_fits_each_group_of_listeners_on_what_they_heard(tiny_demo, two_groups,
                                                                       tiny_profile):
    from analysis.demo import controls

    world, stimuli, partial = two_groups
    fitted, _ = controls.region_cores(tiny_demo, "en")
    model = "demo-random"
    both = partition.dataset_partition(world, tiny_profile, model, 3, "envelope", "en",
                                       vertices=fitted)
    alone = partition.dataset_partition(world, tiny_profile, model, 3, "envelope", "en",
                                        vertices=fitted, participants=[partial.id])
    assert both.participants == [p.id for p in world.participants_of("en")]
    for name in partition.QUANTITIES:
        np.testing.assert_allclose(both.values[name][1], alone.values[name][0],
                                   equal_nan=True)
    assert np.isfinite(both.values["unique"][:, fitted]).all()
    assert (both.layers[:, fitted] == 3).all() and (both.layers[:, ~fitted] == -1).all()


def test_each_listener_and_region_is_partitioned_at_its_own_layer(tiny_demo, tiny_profile):
    """Per-listener layers: each listener's values are those of its layer fitted alone; per
    region, each region's partition holds its own vertices, and the summary reads each."""
    from analysis.demo import controls

    fitted, masks = controls.region_cores(tiny_demo, "en")
    ids = [p.id for p in tiny_demo.participants_of("en")]
    model = "demo-random"
    mixed = partition.dataset_partition(tiny_demo, tiny_profile, model,
                                        {ids[0]: 2, ids[1]: 4}, "envelope", "en",
                                        vertices=fitted, null=False)
    assert mixed.participants == ids[:2]
    for i, layer in enumerate((2, 4)):
        alone = partition.dataset_partition(tiny_demo, tiny_profile, model, layer,
                                            "envelope", "en", vertices=fitted,
                                            participants=[ids[i]], null=False)
        np.testing.assert_allclose(mixed.values["unique"][i], alone.values["unique"][0],
                                   equal_nan=True)
        assert (mixed.layers[i, fitted] == layer).all()
    with pytest.raises(ValueError, match="no layer for participants"):
        partition.dataset_partition(tiny_demo, tiny_profile, model, {ids[0]: 2}, "envelope",
                                    "en", participants=ids[:2])
    two = dict(list(masks.items())[:2])
    choices = {region: (k + 1, k + 1) for k, region in enumerate(two)}
    parts = partition.region_partitions(tiny_demo, tiny_profile, model, choices, ids[:2], two,
                                        "envelope", "en", null=False)
    for k, (region, mask) in enumerate(two.items()):
        assert (parts[region].layers[:, mask] == k + 1).all()
        assert (parts[region].layers[:, ~mask] == -1).all()
    summary = partition.roi_summary(parts, two)
    for region, mask in two.items():
        assert summary[region]["unique"] == pytest.approx(
            np.nanmean(np.nanmean(parts[region].values["unique"][:, mask], axis=1)))


def test_unique_variance_is_tested_against_what_the_shifted_layer_adds(planted):
    A, L, Y = planted
    shifted = np.roll(L, len(L) // 2, axis=0)
    out = partition.partition_scores(A, L, Y, null_layer=shifted, n_folds=5, alphas=ALPHAS,
                                     inner_folds=5, backend="numpy", dtype=np.float64)
    assert out["unique"][10:20].mean() > 0.2 > abs(out["unique_null"][10:20].mean())
    # where L adds nothing, neither does its shifted copy: both near zero
    assert abs(out["unique"][:10].mean() - out["unique_null"][:10].mean()) < 0.02
    n_listeners = 6
    tile = {k: np.tile(v, (n_listeners, 1)) for k, v in out.items()}
    tile["unique"] = tile["unique"] + np.linspace(0, 1e-3, n_listeners)[:, None]
    part = partition.Partition(tile, [f"s{i}" for i in range(n_listeners)], "m",
                               np.full((n_listeners, 30), 3), "acoustic")
    masks = {"L": np.arange(30) // 10 == 1, "A": np.arange(30) < 10}
    summary = partition.roi_summary(part, masks)
    assert summary["L"]["p_unique"] < 0.05 and summary["L"]["unique_tested"] > 0.2
    assert summary["L"]["unique_null"] == pytest.approx(out["unique_null"][10:20].mean())
