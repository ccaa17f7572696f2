import dataclasses
import json
import shutil

import conftest
import numpy as np
import pytest
from safetensors.torch import load_file

from analysis import models
from analysis.cache import key_digest
from analysis.demo import pack, shipped, story, training, zoo
from analysis.features import extract_activations


def _wave(seconds=2.0, seed=0):
    return np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32)


def test_the_family_names_a_model_for_every_condition(monkeypatch):
    monkeypatch.setattr(zoo, "SPEECH_SENTENCES", 12)  # fingerprints speak the training text
    assert set(zoo.PROVIDER.conditions.values()) <= set(zoo.DEMO_MODELS)
    assert set(zoo.DEFAULT_MODELS) <= set(zoo.DEMO_MODELS)
    assert zoo.PROVIDER.describe("random") is None  # not one of the family's
    family = zoo.PROVIDER
    assert family.describe("demo-english@200") == zoo.DEMO_MODELS["demo-english"].description
    assert family.fingerprint("demo-english@2") != family.fingerprint("demo-english")
    assert family.fingerprint("demo-english") != family.fingerprint("demo-french")
    assert family.config("demo-english@2").to_dict() == zoo.config("demo-english").to_dict()
    with pytest.raises(ValueError, match="demo checkpoint"):
        zoo.PROVIDER.describe("demo-english@last")


def test_demo_training_settings_come_from_the_environment(monkeypatch):
    assert zoo.settings() == zoo.DEFAULT_SETTINGS
    monkeypatch.setenv(zoo.ENVIRONMENT, '{"steps": 5000}')
    assert zoo.settings().steps == 5000 and zoo.run_settings("demo-random").steps == 0
    monkeypatch.setenv(zoo.ENVIRONMENT, '{"stepz": 3}')
    with pytest.raises(ValueError, match="ANALYSIS_DEMO_TRAINING"):
        zoo.settings()
    with pytest.raises(ValueError, match="demo checkpoint"):
        models.resolve("demo-english@last")


@pytest.mark.slow
def test_demo_names_resolve_train_on_first_use_and_load(tiny_demo):
    names = ["demo-random", "demo-english", "demo-non-speech", "demo-supervised"]
    prints = [models.fingerprint(name) for name in names]
    assert len({json.dumps(p, sort_keys=True) for p in prints}) == len(names)
    wave = _wave()
    for name in names:
        assert models.resolve(name).kind == "family"
        assert not zoo.folder(name).exists()  # fingerprints need no training
        model = models.load_model(name, device="cpu")
        assert zoo.folder(name).is_dir() and models.normalizes_input(name)
        assert models.model_folder(name) == zoo.folder(name)
        acts = extract_activations(model, wave, window=1.0, stride=0.5, progress=False)
        assert len(acts.layers) == 7 + 2 == len(models.load_config(name).conv_dim) + 2
    assert models.fingerprint("demo-english") == prints[1]  # unchanged by training
    manifest = json.loads((zoo.folder("demo-supervised") / "manifest.json").read_text())
    assert manifest["objective"] == "phones" and "sil" in manifest["labels"]
    early = models.load_model("demo-english@2", device="cpu")
    final = models.load_model("demo-english", device="cpu")
    a = extract_activations(early, wave, window=1.0, stride=0.5, progress=False)
    b = extract_activations(final, wave, window=1.0, stride=0.5, progress=False)
    assert not np.array_equal(a.layers[-1], b.layers[-1])
    with pytest.raises(ValueError, match="steps \\[2, 4\\]"):
        models.load_model("demo-english@3")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_speech_models_train_on_audio_the_listeners_never_hear(language, tiny_demo):
    """Every training waveform is a section of the training speech, and none of its
    sentences is a sentence of the story the listeners hear."""
    name = {"en": "demo-english", "fr": "demo-french"}[language]
    run = zoo.run_settings(name)
    corpus = zoo.build_corpus(name, run)
    sections = zoo.training_sections(language, run.seed)
    assert len(corpus.waveforms) == len(sections)
    for wave, section in zip(corpus.waveforms, sections):
        np.testing.assert_array_equal(wave, section.waveform())
    spoken = {t for s in sections for t in s.sentences.text}
    heard = {story.display(s, language) for sec in story.sections(language) for s in sec}
    assert len(spoken) == 12 and not spoken & heard


@pytest.mark.slow
def test_a_packed_model_is_installed_instead_of_trained(tiny_demo, tmp_path, monkeypatch):
    trained = zoo.ensure("demo-english")
    weights = tmp_path / "weights"
    packed = pack.pack_all(["demo-random", "demo-english"], weights)
    assert list(packed) == ["demo-english"] and packed["demo-english"].name == trained.name
    assert shipped.size_mb(weights) < 1
    reference = load_file(trained / "model.safetensors")
    shutil.rmtree(trained)
    monkeypatch.setattr(shipped, "WEIGHTS", weights)

    def no_training(*args, **kwargs):
        raise AssertionError("trained although a packed model matches")

    monkeypatch.setattr(training, "train", no_training)
    assert zoo.ensure("demo-english") == trained and training.is_complete(trained)
    manifest = json.loads((trained / "manifest.json").read_text())
    assert manifest["shipped"] and zoo.summary(["demo-english"])["weights"][0] == "shipped"
    installed = load_file(trained / "model.safetensors")
    for name, value in reference.items():
        assert installed[name].dtype == value.dtype
        np.testing.assert_allclose(installed[name].numpy(), value.numpy(), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="shipped weights"):
        zoo.checkpoint("demo-english", 2)
    # Another setting, or ANALYSIS_DEMO_SHIPPED=0, has no packed model: it trains.
    monkeypatch.setenv(zoo.ENVIRONMENT, json.dumps({**conftest.TINY_DEMO, "lr": 0.002}))
    assert shipped.find(zoo.folder("demo-english"), weights) is None
    monkeypatch.setenv(shipped.ENVIRONMENT, "0")
    assert shipped.find(trained, weights) is None
    # A damaged pack is not taken for whole.
    monkeypatch.delenv(shipped.ENVIRONMENT)
    (packed["demo-english"] / "curves.csv").write_text("step\n")
    assert shipped.find(trained, weights) is None


def test_the_shipped_weights_are_the_default_models_and_fit_the_budget():
    """Each packed model is recorded whole and keyed by its own training key; together they
    fit the budget; every trained default model has one made with today's settings (else run
    ``python -m analysis.demo.pack`` and commit analysis/demo/weights)."""
    assert shipped.size_mb() <= shipped.BUDGET_MB
    packs = sorted(p for p in shipped.WEIGHTS.iterdir() if p.is_dir())
    for packed in packs:
        assert training.is_complete(packed), packed
        key = json.loads((packed / "manifest.json").read_text())["key"]
        assert packed.name == f"{key['name']}-{key_digest(key)}"
    trained = [name for name in zoo.DEFAULT_MODELS if zoo.spec(name).objective]
    settings = {json.loads((p / "manifest.json").read_text())["key"]["name"]:
                json.loads((p / "manifest.json").read_text())["key"]["settings"] for p in packs}
    assert sorted(settings) == sorted(trained)
    for name in trained:
        expected = json.loads(json.dumps(dataclasses.asdict(zoo.run_settings(name))))
        assert settings[name] == expected, name
