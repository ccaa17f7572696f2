import dataclasses
import json
import shutil

import numpy as np
import pytest

from analysis import models
from analysis.demo import sounds, training
from analysis.features import extract_activations

TINY = training.TrainingSettings(
    steps=8, batch_size=2, crop_seconds=1.0, conv_dim=(8,) * 7, hidden_size=16, num_layers=2,
    num_heads=2, intermediate_size=32, codebook=(2, 8), num_negatives=5, n_checkpoints=2,
    log_every=1, threads=1, lr=2e-3)


@pytest.fixture(scope="module")
def clips():
    return training.Corpus(sounds.corpus(16, seed=0, clip_seconds=2.0), digest="clips")


def _weights(folder):
    from safetensors.numpy import load_file

    return load_file(folder / "model.safetensors")


def test_training_is_deterministic_for_a_seed(clips, tmp_path):
    training.train(clips, tmp_path / "a", TINY)
    training.train(clips, tmp_path / "b", TINY)
    training.train(clips, tmp_path / "c", dataclasses.replace(TINY, seed=1))
    a, b, c = (_weights(tmp_path / x) for x in "abc")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert any(not np.array_equal(a[n], c[n]) for n in a)
    curves = training.read_curves(tmp_path / "a")
    assert [row["step"] for row in curves] == list(range(1, 9))
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["checkpoints"] == ["step-000004", "step-000008"]
    assert training.is_complete(tmp_path / "a")


def test_loss_decreases_on_a_tiny_run(clips, tmp_path):
    settings = dataclasses.replace(TINY, steps=60, log_every=5, n_checkpoints=1)
    training.train(clips, tmp_path / "run", settings)
    loss = [row["contrastive_loss"] for row in training.read_curves(tmp_path / "run")]
    assert np.mean(loss[-3:]) < np.mean(loss[:3]) - 0.1


def test_interrupted_training_resumes_from_its_checkpoint(clips, tmp_path):
    training.train(clips, tmp_path / "whole", TINY)
    part = tmp_path / "part"
    training.train(clips, part, TINY)
    # undo the end of the run: keep the first checkpoint only, as if killed after it
    shutil.rmtree(part / "checkpoints" / "step-000008")
    for name in ("manifest.json", "model.safetensors", "config.json"):
        (part / name).unlink()
    assert not training.is_complete(part)
    training.train(clips, part, TINY)
    whole, resumed = _weights(tmp_path / "whole"), _weights(part)
    for name in whole:
        np.testing.assert_array_equal(whole[name], resumed[name])
    assert [r["step"] for r in training.read_curves(part)] == list(range(1, 9))


def test_a_complete_run_is_not_redone_and_a_damaged_one_is(clips, tmp_path):
    training.train(clips, tmp_path / "run", TINY)
    mtime = (tmp_path / "run" / "model.safetensors").stat().st_mtime_ns
    training.train(clips, tmp_path / "run", TINY)
    assert (tmp_path / "run" / "model.safetensors").stat().st_mtime_ns == mtime
    (tmp_path / "run" / "model.safetensors").write_bytes(b"damaged")
    assert not training.is_complete(tmp_path / "run")


def test_loaded_checkpoint_gives_the_activations_of_the_trained_model(clips, tmp_path):
    import torch
    from transformers import Wav2Vec2ForPreTraining

    settings = dataclasses.replace(TINY, steps=3, n_checkpoints=1)
    folder = training.train(clips, tmp_path / "run", settings)
    last = folder / "checkpoints" / "step-000003"  # the whole model at the last step
    trained = Wav2Vec2ForPreTraining.from_pretrained(last).wav2vec2.eval()
    loaded = models.load_model(str(folder), device="cpu")
    wave = clips.waveforms[0]
    a = extract_activations(trained, wave, window=1.0, stride=0.5, progress=False)
    b = extract_activations(loaded, wave, window=1.0, stride=0.5, progress=False)
    assert len(a.layers) == 7 + 2
    for x, y in zip(a.layers, b.layers):
        np.testing.assert_array_equal(x, y)
    assert models.normalizes_input(str(folder)) is True
    with torch.no_grad():
        assert not torch.equal(trained.encoder.layers[0].attention.q_proj.weight,
                               Wav2Vec2ForPreTraining(training.small_config(settings))
                               .wav2vec2.encoder.layers[0].attention.q_proj.weight)


def test_supervised_phone_training_learns_labels(tmp_path):
    waves, labels = _tones()  # frames labelled by which of two tones sounds
    corpus = training.Corpus(waves, labels, ["low", "high"], "tones")
    settings = dataclasses.replace(TINY, steps=30, log_every=5, n_checkpoints=1, lr=5e-3)
    folder = training.train(corpus, tmp_path / "phones", settings, objective="phones")
    curves = training.read_curves(folder)
    assert curves[-1]["accuracy"] > 0.8
    assert json.loads((folder / "manifest.json").read_text())["labels"] == ["low", "high"]


def test_acoustic_units_label_every_frame_by_its_spectrum():
    t = np.arange(16000) / 16000
    low, high = (np.sin(2 * np.pi * f * t).astype(np.float32) for f in (300, 4000))
    labels, names = training.acoustic_units([low, high, low], n_units=2, seed=0)
    assert names == ["unit-0", "unit-1"]
    assert [len(x) for x in labels] == [49, 49, 49]  # every whole 20 ms frame
    assert labels[0][10] != labels[1][10] and labels[0][10] == labels[2][10]


def _tones(n_clips=4, seed=0):
    """Clips of 20 ms frames in runs of 10 (200 ms), each run one of two tones."""
    rng = np.random.default_rng(seed)
    t = np.arange(320) / 16000
    waves, labels = [], []
    for _ in range(n_clips):
        frames = np.repeat(rng.integers(0, 2, 20), 10)
        wave = np.concatenate([np.sin(2 * np.pi * (300 if f else 2000) * t) for f in frames])
        waves.append(np.concatenate([wave, np.zeros(80)]).astype(np.float32))
        labels.append(frames)
    return waves, labels


def test_masked_unit_prediction_starts_from_the_random_model_and_learns(tmp_path):
    waves, _ = _tones()
    units, names = training.acoustic_units(waves, n_units=2, seed=0)
    corpus = training.Corpus(waves, units, names, "tones")
    start = training.train(corpus, tmp_path / "start", dataclasses.replace(TINY, steps=0),
                           objective="contrastive")
    settings = dataclasses.replace(TINY, steps=40, log_every=5, n_checkpoints=1, lr=5e-3,
                                   mask_prob=0.2, mask_length=3)
    folder = training.train(corpus, tmp_path / "units", settings, objective="units")
    curves = training.read_curves(folder)
    assert curves[-1]["accuracy"] > 0.8  # a masked frame's unit, from its neighbours
    first = training.train(corpus, tmp_path / "one", dataclasses.replace(
        settings, steps=1, n_checkpoints=1), objective="units")
    a, b = _weights(start), _weights(first)  # the first step's learning rate is 0 (warm-up)
    for name in a:  # so its weights are the random model's
        np.testing.assert_array_equal(a[name], b[name])


def test_bad_settings_are_refused(clips, tmp_path):
    with pytest.raises(ValueError, match="steps"):
        training.TrainingSettings(steps=-1)
    with pytest.raises(ValueError, match="conv_dim"):
        training.TrainingSettings(conv_dim=(8, 8))
    with pytest.raises(ValueError, match="objective"):
        training.train(clips, tmp_path / "x", TINY, objective="ctc")
    with pytest.raises(ValueError, match="frame labels"):
        training.train(clips, tmp_path / "x", TINY, objective="phones")
    with pytest.raises(ValueError, match="frame labels"):
        training.train(clips, tmp_path / "x", TINY, objective="units")
    with pytest.raises(ValueError, match="self_supervision"):
        training.TrainingSettings(self_supervision="ctc")
