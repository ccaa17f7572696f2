import numpy as np
import pytest

from analysis import models
from analysis.features import extract_activations


def test_every_layer_on_one_frame_grid(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir))
    wave = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32)
    acts = extract_activations(model, wave, window=1.0, stride=0.5, progress=False)
    assert len(acts.layers) == 7 + 2
    n_frames = (len(wave) - 400) // 320 + 1
    assert all(layer.shape[0] == n_frames for layer in acts.layers)
    np.testing.assert_allclose(np.diff(acts.times), 0.02)
    assert acts.times[0] == pytest.approx(400 / 2 / 16000)


def test_windowed_matches_whole_sequence_for_convolutions(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir))
    wave = np.random.default_rng(1).standard_normal(16000 * 4).astype(np.float32)
    whole = extract_activations(model, wave, window=10.0, stride=5.0, progress=False)
    windowed = extract_activations(model, wave, window=1.0, stride=0.5, progress=False)
    np.testing.assert_array_equal(whole.times, windowed.times)
    inner = slice(5, -5)  # frames whose receptive fields lie inside every window
    for layer in range(7):
        np.testing.assert_allclose(windowed.layers[layer][inner], whole.layers[layer][inner],
                                   rtol=1e-4, atol=1e-5)


def test_base_architecture_has_19_layers():
    config = models.load_config("random")
    assert len(config.conv_dim) + config.num_hidden_layers == 19


def test_bad_window_settings_are_refused(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir))
    with pytest.raises(ValueError, match="stride=0.33"):
        extract_activations(model, np.zeros(16000, np.float32), window=1.0, stride=0.33)


def test_unknown_model_name_gives_clear_error():
    with pytest.raises(ValueError, match="neither a registered model"):
        models.resolve("no-such-model")


def test_windows_must_overlap_by_one_receptive_field(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir))
    with pytest.raises(ValueError, match="must exceed it"):
        extract_activations(model, np.zeros(16000 * 3, np.float32), window=1.0, stride=1.0)
