import numpy as np

from analysis import encoding, pipeline


def test_layer_scores_end_to_end_then_from_cache(tiny_world, tiny_profile, tiny_model_dir,
                                                 monkeypatch):
    result = pipeline.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    assert result.scores.shape == (2, 9, 20484)
    assert result.null_scores.shape == result.scores.shape
    assert result.participants == ["sub-EN01", "sub-EN02"]
    assert result.n_conv == 7 and result.layers == list(range(9))
    assert np.isfinite(result.scores).mean() > 0.99

    def fail(*args, **kwargs):
        raise AssertionError("a cached product was recomputed")

    monkeypatch.setattr(encoding, "score_layers", fail)
    monkeypatch.setattr(pipeline.models, "load_model", fail)
    again = pipeline.layer_scores(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    np.testing.assert_array_equal(again.scores, result.scores)
