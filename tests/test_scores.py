import dataclasses
import inspect

import numpy as np
import pytest

from analysis import designs, encoding, models, scores


def test_layer_scores_end_to_end_then_from_cache(tiny_world, tiny_profile, tiny_model_dir,
                                                 monkeypatch):
    result = scores.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    assert result.scores.shape == (2, 9, 20484)
    assert result.null_scores.shape == result.scores.shape
    assert result.participants == ["sub-EN01", "sub-EN02"]
    assert result.n_conv == 7 and result.layers == list(range(9))
    assert np.isfinite(result.scores).mean() > 0.99

    # the joint fit equals a separate fit of each participant, in participant order
    participant = tiny_world.participants[1]
    X = designs.designs_for(tiny_world, str(tiny_model_dir), "en").layer(3)
    Y = scores.responses(participant, len(X), 2.0, tiny_profile)  # each run cleaned
    direct = encoding.brain_score(np.asarray(X), Y,
                                  n_folds=tiny_profile.n_folds,
                                  alpha_selection=tiny_profile.alpha_selection,
                                  inner_folds=tiny_profile.inner_folds,
                                  alphas=tiny_profile.alphas)
    np.testing.assert_allclose(result.scores[1, 3], direct, atol=1e-5)
    assert not np.allclose(result.null_scores, result.scores)

    def fail(*args, **kwargs):
        raise AssertionError("a cached product was recomputed")

    monkeypatch.setattr(encoding, "score_layers", fail)
    monkeypatch.setattr(models, "load_model", fail)
    again = scores.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    np.testing.assert_array_equal(again.scores, result.scores)
    # the scores without their null are the same cached product
    no_null = scores.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en",
                                  null=False)
    np.testing.assert_array_equal(no_null.scores, result.scores)
    assert np.isnan(no_null.null_scores).all()


@pytest.mark.parametrize("cumulative", [False, True])
def test_region_layer_scores_are_the_layer_scores_of_their_vertices(tiny_world, tiny_profile,
                                                                   tiny_model_dir, cumulative):
    model = str(tiny_model_dir)
    tiny_profile = dataclasses.replace(tiny_profile, cumulative=cumulative)
    vertices = np.zeros(scores.N_VERTICES, bool)
    vertices[::50] = True
    region = scores.region_layer_scores(tiny_world, tiny_profile, model, "en", vertices)
    full = scores.layer_scores(tiny_world, tiny_profile, model, "en", null=False)
    assert region.participants == full.participants and region.layers == full.layers
    assert region.n_conv == full.n_conv and np.isnan(region.null_scores).all()
    np.testing.assert_allclose(region.scores[:, :, vertices], full.scores[:, :, vertices],
                               atol=1e-5)
    assert np.isnan(region.scores[:, :, ~vertices]).all()
    with pytest.raises(ValueError, match="vertices must be a boolean array"):
        scores.region_layer_scores(tiny_world, tiny_profile, model, "en", vertices[:10])


def test_the_null_is_fitted_only_when_asked_for_and_reuses_the_scores(
        tiny_world, tiny_profile, tiny_model_dir, monkeypatch):
    calls = []
    real = encoding.score_layers

    def counted(*args, **kwargs):
        calls.append(kwargs["n_jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(encoding, "score_layers", counted)
    model = str(tiny_model_dir)
    first = scores.layer_scores(tiny_world, tiny_profile, model, "en", null=False,
                                participants=["sub-EN01"], n_jobs=1)
    assert calls == [1] and np.isnan(first.null_scores).all()
    both = scores.layer_scores(tiny_world, tiny_profile, model, "en",
                               participants=["sub-EN01"], n_jobs=1)
    assert len(calls) == 2  # only the null was fitted
    np.testing.assert_array_equal(both.scores, first.scores)
    assert np.isfinite(both.null_scores).mean() > 0.99


def test_unknown_language_participant_or_layer_is_refused(tiny_world, tiny_profile,
                                                          tiny_model_dir):
    with pytest.raises(ValueError, match="language='de'"):
        scores.layer_scores(tiny_world, tiny_profile, "random", "de")
    with pytest.raises(ValueError, match="sub-XX"):
        scores.layer_scores(tiny_world, tiny_profile, "random", "en", participants=["sub-XX"])
    with pytest.raises(ValueError, match=r"layers=\[9\]: the model has layers 0 to 8"):
        scores.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en", layers=[9])


def test_a_participant_whose_bold_does_not_match_the_stimuli_is_named(tiny_world,
                                                                     tiny_profile):
    participant = tiny_world.participants[0]
    n_scans = len(participant.bold())
    Y = scores.responses(participant, n_scans, 2.0, tiny_profile)
    assert Y.shape == (n_scans, 20484) and Y.dtype == np.float32
    with pytest.raises(ValueError, match=f"sub-EN01: its BOLD has {n_scans} scans but the "
                                         f"sections it heard have {n_scans + 1}"):
        scores.responses(participant, n_scans + 1, 2.0, tiny_profile)


def _with_runs(participant, folder, change):
    """A copy of ``participant`` whose run k is ``change(k, run)``."""
    paths = []
    for k, path in enumerate(participant.bold_paths):
        paths.append(folder / f"run-{k}.npy")
        np.save(paths[-1], change(k, np.load(path)).astype(np.float32))
    return dataclasses.replace(participant, bold_paths=tuple(paths))


def test_each_run_is_detrended_filtered_and_zscored_before_stacking(tiny_world, tiny_profile,
                                                                   tmp_path):
    participant = tiny_world.participants[0]
    n_scans = len(participant.bold())

    def offset_and_drift(k, run):
        ramp = np.linspace(-1, 1, len(run))[:, None]
        return 1000.0 * (k + 1) + run * (k + 1) + 40.0 * (k - 2) * ramp * run.std(axis=0)

    moved = _with_runs(participant, tmp_path, offset_and_drift)
    Y = scores.responses(participant, n_scans, 2.0, tiny_profile)
    Y_moved = scores.responses(moved, n_scans, 2.0, tiny_profile)
    start = 0
    for run in (np.load(p) for p in participant.bold_paths):  # z-scored within each run
        part = Y_moved[start:start + len(run)]
        np.testing.assert_allclose(part.mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(part.std(axis=0, ddof=1), 1, atol=1e-4)
        start += len(run)
    # the drifts are gone: the series agree, up to what a slope shares with the filter basis
    assert np.corrcoef(Y.ravel(), Y_moved.ravel())[0, 1] > 0.99


def test_offsets_and_drifts_leave_the_scores_unchanged(tiny_world, tiny_profile, tiny_model_dir,
                                                      tmp_path):
    """The acceptance test of per-run cleaning: large per-run offsets and drifts move a
    participant's mean score by less than 0.01 (before cleaning they cost far more). A tiny
    saved model's features (the Base-sized random model's take 25 s on two cores)."""
    participant = tiny_world.participants[0]

    def offset_and_drift(k, run):
        ramp = np.linspace(-1, 1, len(run))[:, None]
        return 1000.0 * (k + 1) + run + 30.0 * (k - 2) * ramp * run.std(axis=0)

    moved = dataclasses.replace(_with_runs(participant, tmp_path, offset_and_drift),
                                id="sub-EN01-moved")
    dataset = dataclasses.replace(tiny_world, participants=[participant, moved])
    result = scores.layer_scores(dataset, tiny_profile, str(tiny_model_dir), "en", layers=[1],
                                 null=False, n_jobs=1)
    plain, shifted = np.nanmean(result.scores[:, 0], axis=1)
    print(f"mean r: as simulated {plain:.4f}, with offsets and drifts {shifted:.4f}")
    assert abs(plain - shifted) < 0.01


def test_a_run_with_mostly_dead_vertices_is_refused_naming_its_file(tiny_world, tiny_profile,
                                                                   tmp_path):
    participant = tiny_world.participants[0]

    def mostly_dead(k, run):
        if k == 1:
            run = run.copy()
            run[:, : int(0.5 * run.shape[1])] = 0.0
        return run

    broken = _with_runs(participant, tmp_path, mostly_dead)
    with pytest.raises(ValueError, match=r"run-1\.npy: 50% of the vertices carry no signal.*"
                                         r"MNI space"):
        scores.responses(broken, len(participant.bold()), 2.0, tiny_profile)
    # a few dead vertices in one run: left out for the whole participant
    few = _with_runs(participant, tmp_path,
                     lambda k, run: np.where(np.arange(run.shape[1]) < 7, 0.0, run)
                     if k == 2 else run)
    Y = scores.responses(few, len(participant.bold()), 2.0, tiny_profile)
    assert np.isnan(Y[:, :7]).all() and np.isfinite(Y[:, 7:]).all()


def test_cache_keys_hold_the_fit_settings_and_the_null_its_shift(tiny_profile):
    key = scores.scores_key("designs", "bold", tiny_profile, layers=(0, 8))
    assert key["stage"] == scores.SCORES and key["layers"] == [0, 8]
    assert {k: key[k] for k in scores.fit_parameters(tiny_profile)} == \
        scores.fit_parameters(tiny_profile)
    assert scores.fit_parameters(tiny_profile)["dtype"] == tiny_profile.precision
    other = scores.scores_key("designs", "bold",
                              dataclasses.replace(tiny_profile, alpha_selection="kfold"))
    assert other["alpha_selection"] == "kfold" and other != key
    assert scores.null_key(key) == {**key, "shifted": designs.NULL_SHIFT}


def test_scores_done_needs_the_null_only_when_asked(tmp_path, tiny_profile):
    from analysis.cache import Cache

    cache = Cache(tmp_path)
    key = scores.scores_key("designs", "bold", tiny_profile)
    assert not scores.scores_done(cache, key, null=False)
    cache.get(scores.SCORES, key, lambda: {"scores": np.zeros((1, 3))})
    assert scores.scores_done(cache, key, null=False)
    assert not scores.scores_done(cache, key, null=True)
    cache.get(scores.SCORES, scores.null_key(key), lambda: {"scores": np.zeros((1, 3))})
    assert scores.scores_done(cache, key, null=True)


def test_default_n_jobs_follows_the_environment(monkeypatch):
    import os

    monkeypatch.delenv("ANALYSIS_N_JOBS", raising=False)
    assert scores.default_n_jobs() == (os.cpu_count() or 1)
    monkeypatch.setenv("ANALYSIS_N_JOBS", "3")
    assert scores.default_n_jobs() == 3
    monkeypatch.setenv("ANALYSIS_N_JOBS", "many")
    with pytest.raises(ValueError, match="ANALYSIS_N_JOBS='many'"):
        scores.default_n_jobs()


def test_pca_is_off_by_default():
    assert inspect.signature(scores.layer_scores).parameters["n_components"].default is None
    assert inspect.signature(designs.designs_for).parameters["n_components"].default is None


@pytest.mark.slow
def test_layer_scores_of_a_demo_condition(tiny_demo, tiny_profile):
    profile = dataclasses.replace(tiny_profile, model_family="demo")
    result = scores.layer_scores(tiny_demo, profile, "native", "en", layers=[0, 8],
                                 null=False)
    assert result.scores.shape == (2, 2, 20484) and result.n_conv == 7
    assert result.layers == [0, 8]
    assert np.isfinite(result.scores).any()


def test_cumulative_and_y_pca_profiles_fit_what_they_say(tiny_world, tiny_profile,
                                                         tiny_model_dir):
    """``cumulative`` scores layer k on layers 0..k stacked, ``y_pca`` reduces Y first: both
    reach layer_scores through the profile, and each is its own cached product."""
    participant, model = tiny_world.participants[0], str(tiny_model_dir)
    design = designs.designs_for(tiny_world, model, "en")
    options = dict(n_folds=tiny_profile.n_folds, alpha_selection=tiny_profile.alpha_selection,
                   inner_folds=tiny_profile.inner_folds, alphas=tiny_profile.alphas)
    plain = scores.layer_scores(tiny_world, tiny_profile, model, "en", layers=[2],
                                participants=[participant.id], null=False, n_jobs=1)
    cumulative = scores.layer_scores(
        tiny_world, dataclasses.replace(tiny_profile, cumulative=True), model, "en",
        layers=[2], participants=[participant.id], null=False, n_jobs=1)
    stacked = np.hstack([np.asarray(design.layer(i)) for i in range(3)])
    Y = scores.responses(participant, len(stacked), 2.0, tiny_profile)  # each run cleaned
    np.testing.assert_allclose(cumulative.scores[0, 0],
                               encoding.brain_score(stacked, Y, **options),
                               atol=1e-5)
    assert not np.allclose(cumulative.scores, plain.scores, equal_nan=True)

    reduced = scores.layer_scores(
        tiny_world, dataclasses.replace(tiny_profile, y_pca=5), model, "en", layers=[2],
        participants=[participant.id], null=False, n_jobs=1)
    np.testing.assert_allclose(
        reduced.scores[0, 0],
        encoding.brain_score(np.asarray(design.layer(2)), Y, y_pca=5,
                             **options), atol=1e-5)
    assert not np.allclose(reduced.scores, plain.scores, equal_nan=True)
    key = scores.scores_key("d", "p", dataclasses.replace(tiny_profile, y_pca=5, cumulative=True))
    assert key["y_pca"] == 5 and key["cumulative"] is True


def test_the_alignment_check_peaks_where_the_response_is_aligned(tiny_world, tiny_profile,
                                                                tiny_model_dir, tmp_path):
    """Listeners whose vertices follow one layer's regressors (plus noise) at the true
    alignment: the offset curve of that layer peaks at 0 s, and not at a shifted one."""
    model = str(tiny_model_dir)
    X, = designs.shifted_layer(tiny_world, model, "en", 1, [0.0])
    rng = np.random.default_rng(0)
    group, start = [], 0
    signal = X @ rng.standard_normal(X.shape[1])
    for participant in tiny_world.participants_of("en"):
        paths, start = [], 0
        for k, path in enumerate(participant.bold_paths):
            n = len(np.load(path))
            run = signal[start:start + n, None] + rng.standard_normal((n, 20484)) * 3
            paths.append(tmp_path / f"{participant.id}-{k}.npy")
            np.save(paths[-1], run.astype(np.float32))
            start += n
        group.append(dataclasses.replace(participant, bold_paths=tuple(paths)))
    dataset = dataclasses.replace(tiny_world, participants=group)
    masks = {"a": np.arange(20484) < 50, "b": (np.arange(20484) >= 50) & (np.arange(20484) < 90)}
    offsets = [-6, -2, 0, 2, 6]
    curves = scores.offset_curve(dataset, tiny_profile, model, "en", 1, offsets, masks)
    assert set(curves) == {"a", "b"} and all(len(c) == len(offsets) for c in curves.values())
    for curve in curves.values():
        assert offsets[int(np.argmax(curve))] == 0, curve


def test_noise_ceilings_predict_each_listener_from_the_others(tiny_world, tiny_profile):
    ceilings = scores.noise_ceilings(tiny_world, tiny_profile, "en")
    assert ceilings.shape == (2, 20484)
    n_scans = sum(s.n_scans for s in tiny_world.stimuli["en"])
    Y = [scores.responses(p, n_scans, 2.0, tiny_profile)
         for p in tiny_world.participants_of("en")]
    np.testing.assert_allclose(ceilings, encoding.noise_ceiling(Y, n_folds=tiny_profile.n_folds))
    one = dataclasses.replace(tiny_world, participants=tiny_world.participants[:1])
    assert np.isnan(scores.noise_ceilings(one, tiny_profile, "en")).all()
