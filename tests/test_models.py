import json
import shutil
import socket
import time

import numpy as np
import pytest

from analysis import models
from analysis.features import extract_activations

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


def test_saved_folder_reloads_offline_with_identical_activations(tmp_path, tiny_config,
                                                                  no_network):
    import torch
    from transformers import Wav2Vec2Model

    torch.manual_seed(3)
    original = Wav2Vec2Model(tiny_config).eval()
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
def test_hubert_and_wavlm_folders_extract_every_layer(family, tiny_config, tmp_path):
    import torch
    from transformers import HubertConfig, HubertModel, WavLMConfig, WavLMModel

    config_class, model_class = {"hubert": (HubertConfig, HubertModel),
                                 "wavlm": (WavLMConfig, WavLMModel)}[family]
    settings = tiny_config.to_dict()
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


def test_a_family_model_resolves_to_its_provider(tiny_model_dir, monkeypatch):
    from analysis.demo import zoo

    monkeypatch.setattr(zoo, "SPEECH_SENTENCES", 12)  # fingerprints speak the training text
    spec = models.resolve("demo-english@2")
    assert (spec.kind, spec.family, spec.name) == ("family", "demo", "demo-english@2")
    assert spec.description == zoo.PROVIDER.describe("demo-english")
    assert models.fingerprint("demo-english") == zoo.PROVIDER.fingerprint("demo-english")
    assert models.load_config("demo-random").to_dict() == zoo.config("demo-random").to_dict()
    made = []
    monkeypatch.setattr(zoo.PROVIDER, "folder",
                        lambda name: made.append(name) or tiny_model_dir)
    assert models.model_folder("demo-french") == tiny_model_dir and made == ["demo-french"]
    assert models.normalizes_input("demo-french") is True
    assert models.model_folder(str(tiny_model_dir)) == tiny_model_dir.resolve()
    with pytest.raises(ValueError, match="model='random' is a random model, not saved"):
        models.model_folder("random")
    with pytest.raises(ValueError, match="'toy' is not registered"):
        models.provider("toy")


def test_stand_ins_name_each_condition_with_its_description():
    public = models.stand_ins("public", "fr")
    assert public["native"].startswith("french: LeBenchmark")
    assert public["non-native"].startswith("english: ")
    assert models.stand_ins("demo", "en")["native"].startswith("demo-english: ")
