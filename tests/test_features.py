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


def test_batched_windows_match_one_at_a_time(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir), device="cpu")
    wave = np.random.default_rng(2).standard_normal(16000 * 4 + 1234).astype(np.float32)
    single = extract_activations(model, wave, window=1.0, stride=0.5, batch_size=1,
                                 progress=False)
    batched = extract_activations(model, wave, window=1.0, stride=0.5, batch_size=3,
                                  progress=False)  # 3 full batches, a partial one, a tail
    np.testing.assert_array_equal(single.times, batched.times)
    for a, b in zip(single.layers, batched.layers):
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_base_has_19_layers_at_50_hz():
    model = models.load_model("random", device="cpu")
    wave = np.random.default_rng(3).standard_normal(16000 * 2).astype(np.float32)
    acts = extract_activations(model, wave, progress=False)
    assert len(acts.layers) == 19
    assert [layer.shape[1] for layer in acts.layers] == [512] * 7 + [768] * 12
    np.testing.assert_allclose(1 / np.diff(acts.times), 50.0)


def test_normalisation_makes_activations_scale_free(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir), device="cpu")
    wave = np.random.default_rng(4).standard_normal(16000 * 2).astype(np.float32)
    a = extract_activations(model, wave, window=1.0, stride=0.5, progress=False)
    b = extract_activations(model, 5 * wave + 0.1, window=1.0, stride=0.5, progress=False)
    raw = extract_activations(model, 5 * wave + 0.1, window=1.0, stride=0.5, normalize=False,
                              progress=False)
    np.testing.assert_allclose(b.layers[-1], a.layers[-1], rtol=1e-4, atol=1e-4)
    assert not np.allclose(raw.layers[0], a.layers[0], atol=1e-3)


def test_half_precision_is_refused_on_cpu(tiny_model_dir):
    model = models.load_model(str(tiny_model_dir), device="cpu")
    wave = np.zeros(16000, np.float32)
    with pytest.raises(ValueError, match="dtype='bfloat16' is for CUDA only"):
        extract_activations(model, wave, device="cpu", dtype="bfloat16")
    with pytest.raises(ValueError, match="dtype='float64'"):
        extract_activations(model, wave, device="cpu", dtype="float64")
    with pytest.raises(ValueError, match="batch_size=0"):
        extract_activations(model, wave, device="cpu", batch_size=0)


def test_pooling_of_uneven_runs_matches_a_direct_average():
    import torch

    from analysis.features import _pool_conv

    output = torch.randn(2, 3, 400)
    stride, field, hop, out_field, n_out = 3, 7, 20, 47, 55  # 20 / 3: runs of 6 and 7 inputs
    pooled = _pool_conv(output, stride, field, hop, out_field, n_out, {}).numpy()
    centres = np.arange(400) * stride + field / 2
    target = np.floor((centres - out_field / 2) / hop + 0.5)
    assert len(set(np.bincount(target[(target >= 0) & (target < n_out)].astype(int)))) > 1
    for k in range(n_out):
        expected = output.numpy()[:, :, target == k].mean(axis=2)
        np.testing.assert_allclose(pooled[:, k], expected, rtol=1e-5, atol=1e-6)


needs_cuda = pytest.mark.skipif(not __import__("torch").cuda.is_available(),
                                reason="needs CUDA (autocast runs on CUDA only)")


def _relative_rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(a ** 2)))


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype, tolerance", [("bfloat16", 0.05), ("float16", 0.01)])
def test_autocast_matches_float32_within_tolerance(dtype, tolerance):
    """Stated tolerance: relative RMS error per layer below 5 % (bf16) and 1 % (fp16)."""
    model = models.load_model("random", device="cuda")
    wave = np.random.default_rng(5).standard_normal(16000 * 12).astype(np.float32)
    exact = extract_activations(model, wave, batch_size=2, progress=False)
    fast = extract_activations(model, wave, batch_size=2, dtype=dtype, progress=False)
    for layer, (a, b) in enumerate(zip(exact.layers, fast.layers)):
        assert _relative_rms(a, b) < tolerance, (layer, _relative_rms(a, b))


@pytest.mark.gpu
@needs_cuda
def test_gpu_matches_cpu():
    """Within 1 % relative RMS per layer (cuDNN may run convolutions in TF32)."""
    wave = np.random.default_rng(6).standard_normal(16000 * 12).astype(np.float32)
    cpu = extract_activations(models.load_model("random", device="cpu"), wave, progress=False)
    gpu = extract_activations(models.load_model("random", device="cuda"), wave, batch_size=2,
                              progress=False)
    for layer, (a, b) in enumerate(zip(cpu.layers, gpu.layers)):
        assert _relative_rms(a, b) < 0.01, (layer, _relative_rms(a, b))
