import json
import shutil
import socket
import time

import numpy as np
import pytest

from analysis import models
from analysis.features import extract_activations
from conftest import tiny_config

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Offline as a reader without internet: HF_HUB_OFFLINE, an empty Hugging Face cache, and
    any socket connection refused."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _wave(seconds=2.0, seed=0):
    return np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32)


def test_saved_folder_reloads_offline_with_identical_activations(tmp_path, no_network):
    import torch
    from transformers import Wav2Vec2Model

    torch.manual_seed(3)
    original = Wav2Vec2Model(tiny_config()).eval()
    original.save_pretrained(tmp_path / "saved")
    reloaded = models.load_model(str(tmp_path / "saved"), device="cpu")
    wave = _wave()
    a = extract_activations(original, wave, window=1.0, stride=0.5, progress=False)
    b = extract_activations(reloaded, wave, window=1.0, stride=0.5, progress=False)
    assert len(b.layers) == 9
    for x, y in zip(a.layers, b.layers):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["english", "microsoft/wavlm-base"])
def test_hub_model_offline_fails_fast_and_says_what_to_do(name, no_network):
    start = time.perf_counter()
    with pytest.raises(models.ModelUnavailableError) as error:
        models.load_model(name)
    assert time.perf_counter() - start < 5
    message = str(error.value)
    hf_id = models.resolve(name).hf_id
    assert hf_id in message and "HF_HUB_OFFLINE" in message
    assert "save_pretrained" in message and "model=FOLDER" in message


def test_hub_model_without_network_fails_fast(monkeypatch, tmp_path):
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy",
                     "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    start = time.perf_counter()
    with pytest.raises(models.ModelUnavailableError, match="french.*HF_HUB_OFFLINE"):
        models.load_config("french")
    assert time.perf_counter() - start < 5


def test_hub_model_in_the_local_cache_loads_offline(tiny_model_dir, tmp_path, no_network):
    repo = tmp_path / "hf-cache" / "models--someone--tiny"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    assert models.fingerprint("someone/tiny") == {"name": "someone/tiny", "revision": COMMIT}
    model = models.load_model("someone/tiny", device="cpu")
    reference = models.load_model(str(tiny_model_dir), device="cpu")
    a = extract_activations(model, _wave(), window=1.0, stride=0.5, progress=False)
    b = extract_activations(reference, _wave(), window=1.0, stride=0.5, progress=False)
    np.testing.assert_array_equal(a.layers[-1], b.layers[-1])


def test_registry_pins_commits_and_fingerprints_them():
    hub = [spec for spec in models.REGISTRY.values() if spec.kind == "hub"]
    assert {spec.hf_id for spec in hub} == {
        "facebook/wav2vec2-base", "LeBenchmark/wav2vec2-FR-3K-base",
        "TencentGameMate/chinese-wav2vec2-base", "ALM/wav2vec2-base-audioset",
        "facebook/wav2vec2-base-960h"}
    for spec in hub:
        assert len(spec.revision) == 40 and int(spec.revision, 16) >= 0
        assert "Paper:" in spec.description and " h " in spec.description
        assert models.fingerprint(spec.name) == {"name": spec.hf_id, "revision": spec.revision}
    assert models.fingerprint(f"owner/model@{COMMIT}")["revision"] == COMMIT


@pytest.mark.parametrize("language, native, non_native", [
    ("en", "english", "french"), ("fr", "french", "english"), ("cn", "mandarin", "english")])
def test_native_and_non_native_follow_the_listener(language, native, non_native):
    assert models.resolve_condition("native", language) == native
    assert models.resolve_condition("non-native", language) == non_native
    assert models.resolve_condition("random", language) == "random"


def test_conditions_need_a_known_language():
    with pytest.raises(ValueError, match="language='de'"):
        models.resolve_condition("native", "de")
    with pytest.raises(ValueError, match="resolve_condition"):
        models.resolve("non-native")


def test_names_resolve_to_their_kind(tiny_model_dir):
    assert models.resolve("random").kind == "random"
    assert models.resolve("english").kind == "hub"
    assert models.resolve(str(tiny_model_dir)).kind == "local"
    spec = models.resolve("microsoft/wavlm-base@v1.0")
    assert (spec.kind, spec.hf_id, spec.revision) == ("hub", "microsoft/wavlm-base", "v1.0")
    with pytest.raises(ValueError, match="neither a registered model"):
        models.resolve("no such model")


@pytest.mark.parametrize("family", ["hubert", "wavlm"])
def test_hubert_and_wavlm_folders_extract_every_layer(family, tmp_path):
    import torch
    from transformers import HubertConfig, HubertModel, WavLMConfig, WavLMModel

    config_class, model_class = {"hubert": (HubertConfig, HubertModel),
                                 "wavlm": (WavLMConfig, WavLMModel)}[family]
    settings = tiny_config().to_dict()
    config = config_class(**{k: v for k, v in settings.items() if k != "model_type"})
    torch.manual_seed(0)
    model_class(config).save_pretrained(tmp_path / family)
    model = models.load_model(str(tmp_path / family), device="cpu")
    acts = extract_activations(model, _wave(), window=1.0, stride=0.5, progress=False)
    assert len(acts.layers) == 7 + 2
    assert all(np.isfinite(layer).all() for layer in acts.layers)


def test_input_normalisation_follows_the_preprocessor_config(tiny_model_dir, tmp_path):
    assert models.normalizes_input("random") is True
    assert models.normalizes_input(str(tiny_model_dir)) is True  # no preprocessor config
    folder = tmp_path / "raw"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({"do_normalize": False}))
    assert models.normalizes_input(str(folder)) is False
    assert models.fingerprint(str(folder)) != models.fingerprint(str(tiny_model_dir))


def test_load_model_refuses_a_missing_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="device='cuda'"):
        models.load_model("random", device="cuda")


TINY_DEMO = {"steps": 4, "batch_size": 2, "crop_seconds": 1.0, "conv_dim": [8] * 7,
             "hidden_size": 16, "num_layers": 2, "num_heads": 2, "intermediate_size": 32,
             "codebook": [2, 8], "num_negatives": 5, "n_checkpoints": 2, "threads": 1}


@pytest.fixture
def tiny_demo(monkeypatch, tiny_world):
    """Demo models at tiny sizes, trained on the tiny world."""
    from analysis.demo import zoo

    monkeypatch.setenv(zoo.ENVIRONMENT, json.dumps(TINY_DEMO))
    monkeypatch.setattr(zoo, "demo_dataset", lambda: tiny_world)
    return tiny_world


@pytest.mark.slow
def test_demo_names_resolve_train_on_first_use_and_load(tiny_demo):
    import dataclasses

    from analysis.demo import zoo

    names = ["demo-random", "demo-english", "demo-non-speech", "demo-supervised"]
    prints = [models.fingerprint(name) for name in names]
    assert len({json.dumps(p, sort_keys=True) for p in prints}) == len(names)
    wave = _wave()
    for name in names:
        assert models.resolve(name).kind == "demo"
        assert not zoo.folder(name).exists()  # fingerprints need no training
        model = models.load_model(name, device="cpu")
        assert zoo.folder(name).is_dir() and models.normalizes_input(name)
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
    english_only = dataclasses.replace(tiny_demo, stimuli={"en": tiny_demo.stimuli["en"]})
    with pytest.raises(ValueError, match="no 'fr' speech"):
        zoo.ensure("demo-french", dataset=english_only)


def test_demo_training_settings_come_from_the_environment(monkeypatch):
    from analysis.demo import zoo

    assert zoo.settings() == zoo.DEFAULT_SETTINGS
    monkeypatch.setenv(zoo.ENVIRONMENT, '{"steps": 3000}')
    assert zoo.settings().steps == 3000 and zoo.run_settings("demo-random").steps == 0
    monkeypatch.setenv(zoo.ENVIRONMENT, '{"stepz": 3}')
    with pytest.raises(ValueError, match="ANALYSIS_DEMO_TRAINING"):
        zoo.settings()
    with pytest.raises(ValueError, match="demo checkpoint"):
        models.resolve("demo-english@last")


@pytest.mark.parametrize("language, native, non_native", [
    ("en", "demo-english", "demo-french"), ("fr", "demo-french", "demo-english"),
    ("cn", "demo-mandarin", "demo-english")])
def test_demo_family_maps_the_paper_conditions(language, native, non_native):
    assert models.resolve_condition("native", language, "demo") == native
    assert models.resolve_condition("non-native", language, "demo") == non_native
    for condition in ("random", "non-speech", "supervised"):
        assert models.resolve_condition(condition, language, "demo") == f"demo-{condition}"
        assert models.resolve_condition(condition, language) == condition
    assert models.resolve_condition("demo-english", language, "demo") == "demo-english"
    with pytest.raises(ValueError, match="family='toy'"):
        models.resolve_condition("native", language, "toy")


def test_profiles_choose_their_model_family():
    from analysis.config import get_profile

    assert get_profile("demo").model_family == "demo"
    assert get_profile("lpp").model_family == get_profile("paper").model_family == "public"
    assert get_profile("lpp", {"model_family": "demo"}).model_family == "demo"
    with pytest.raises(ValueError, match="model_family"):
        get_profile("demo", {"model_family": "mine"})


@pytest.mark.slow
def test_layer_scores_of_a_demo_condition(tiny_demo, tiny_profile):
    import dataclasses

    from analysis import pipeline

    profile = dataclasses.replace(tiny_profile, model_family="demo")
    result = pipeline.layer_scores(tiny_demo, profile, "native", "en", layers=[0, 8],
                                   null=False)
    assert result.scores.shape == (2, 2, 20484) and result.n_conv == 7
    assert np.isfinite(result.scores).any()
