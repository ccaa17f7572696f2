import numpy as np
import pytest

from analysis import encoding, pipeline


def test_layer_scores_end_to_end_then_from_cache(tiny_world, tiny_profile, tiny_model_dir,
                                                 monkeypatch):
    result = pipeline.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    assert result.scores.shape == (2, 9, 20484)
    assert result.null_scores.shape == result.scores.shape
    assert result.participants == ["sub-EN01", "sub-EN02"]
    assert result.n_conv == 7 and result.layers == list(range(9))
    assert np.isfinite(result.scores).mean() > 0.99

    # the joint fit equals a separate fit of each participant, in participant order
    participant = tiny_world.participants[1]
    X = np.vstack([pipeline.stimulus_regressors(*pipeline.regressor_keys(
        pipeline.models.fingerprint(str(tiny_model_dir)), s), s,
        pipeline.Cache(pipeline.cache_dir()), pipeline._LazyModel(str(tiny_model_dir)))[3]
        for s in tiny_world.stimuli["en"]])
    direct = encoding.brain_score(X, participant.bold(), n_folds=tiny_profile.n_folds,
                                  alpha_selection=tiny_profile.alpha_selection,
                                  inner_folds=tiny_profile.inner_folds,
                                  alphas=tiny_profile.alphas)
    np.testing.assert_allclose(result.scores[1, 3], direct, atol=1e-5)
    assert not np.allclose(result.null_scores, result.scores)

    def fail(*args, **kwargs):
        raise AssertionError("a cached product was recomputed")

    monkeypatch.setattr(encoding, "score_layers", fail)
    monkeypatch.setattr(pipeline.models, "load_model", fail)
    again = pipeline.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    np.testing.assert_array_equal(again.scores, result.scores)
    # the scores without their null are the same cached product
    no_null = pipeline.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en",
                                    null=False)
    np.testing.assert_array_equal(no_null.scores, result.scores)
    assert np.isnan(no_null.null_scores).all()


def test_the_null_is_fitted_only_when_asked_for_and_reuses_the_scores(
        tiny_world, tiny_profile, tiny_model_dir, monkeypatch):
    calls = []
    real = encoding.score_layers

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(encoding, "score_layers", counted)
    first = pipeline.layer_scores(tiny_world, tiny_profile, "random", "en", null=False,
                                  participants=["sub-EN01"])
    assert len(calls) == 1 and np.isnan(first.null_scores).all()
    both = pipeline.layer_scores(tiny_world, tiny_profile, "random", "en",
                                 participants=["sub-EN01"])
    assert len(calls) == 2  # only the null was fitted
    np.testing.assert_array_equal(both.scores, first.scores)
    assert np.isfinite(both.null_scores).mean() > 0.99


def test_unknown_language_or_participant_is_refused(tiny_world, tiny_profile):
    with pytest.raises(ValueError, match="language='de'"):
        pipeline.layer_scores(tiny_world, tiny_profile, "random", "de")
    with pytest.raises(ValueError, match="sub-XX"):
        pipeline.layer_scores(tiny_world, tiny_profile, "random", "en", participants=["sub-XX"])
