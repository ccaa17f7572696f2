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
    direct = encoding.brain_score(np.asarray(X), participant.bold(),
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


def test_the_null_is_fitted_only_when_asked_for_and_reuses_the_scores(
        tiny_world, tiny_profile, monkeypatch):
    calls = []
    real = encoding.score_layers

    def counted(*args, **kwargs):
        calls.append(kwargs["n_jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(encoding, "score_layers", counted)
    first = scores.layer_scores(tiny_world, tiny_profile, "random", "en", null=False,
                                participants=["sub-EN01"], n_jobs=1)
    assert calls == [1] and np.isnan(first.null_scores).all()
    both = scores.layer_scores(tiny_world, tiny_profile, "random", "en",
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


def test_a_participant_whose_bold_does_not_match_the_stimuli_is_named(tiny_world):
    participant = tiny_world.participants[0]
    n_scans = len(participant.bold())
    assert scores.responses(participant, n_scans).shape == (n_scans, 20484)
    with pytest.raises(ValueError, match=f"sub-EN01: its BOLD has {n_scans} scans but the "
                                         f"sections it heard have {n_scans + 1}"):
        scores.responses(participant, n_scans + 1)


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
