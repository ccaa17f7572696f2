"""Model registry: one name per condition of the paper, each resolving to a loaded network.

A name is one of:

- a registry entry (:data:`REGISTRY`): ``random`` (the untrained Base architecture) and the
  public Base checkpoints standing in for the authors' unreleased models, each pinned to a
  Hugging Face commit;
- a local folder holding a saved transformers model (``config.json`` plus weights, and
  optionally ``preprocessor_config.json``), e.g. one written by ``save_pretrained``;
- any Hugging Face model id (``owner/name``, optionally ``owner/name@revision``);
- a model of a registered *family* (:class:`ModelProvider`, an entry point of the group
  :data:`analysis.plugins.MODEL_FAMILIES`), e.g. the demo's own small wav2vec 2.0 models
  (``demo-random``, ``demo-english``...; see :mod:`analysis.demo.zoo`), made on first use.

The paper's conditions (:data:`CONDITIONS`) name models per *family*: ``public`` (the
registry's checkpoints above, for real data) or a registered family (the demo world's models
for the demo world); :func:`resolve_condition` turns a condition into a model name from the
family and the participant's language (``native`` and ``non-native`` depend on it).

Every model returned exposes the wav2vec 2.0 interface used by :mod:`analysis.features`:
``model.feature_extractor.conv_layers`` and ``output_hidden_states=True``. wav2vec 2.0, HuBERT,
WavLM and data2vec-audio share it in transformers (their feature encoders all hold
``conv_layers``).

Offline (``HF_HUB_OFFLINE=1``, or the Hub unreachable), a hub model that is not already in the
local Hugging Face cache fails at once with :class:`ModelUnavailableError`, which says how to
point at a local folder instead.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from analysis import plugins
from analysis.cache import file_digest
from analysis.features import resolve_device

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0  # seconds allowed to reach the Hub before a hub model is declared offline


class ModelUnavailableError(RuntimeError):
    """A hub model is neither in the local cache nor downloadable (offline)."""


class ModelProvider(Protocol):
    """A family of models registered under :data:`analysis.plugins.MODEL_FAMILIES`.

    Attributes
    ----------
    conditions : condition (``"random"``, ``"non-speech"``, ``"supervised"``) or listener
        language (``"en"``...) -> the family's model name (see :func:`resolve_condition`)
    """

    conditions: dict[str, str]

    def describe(self, name: str) -> str | None:
        """What model ``name`` is, or None when it is not one of the family's."""

    def config(self, name: str):
        """Its transformers configuration, without making the model."""

    def fingerprint(self, name: str) -> dict:
        """What identifies its weights, for cache keys, without making the model."""

    def folder(self, name: str) -> Path:
        """A folder holding it saved by transformers, made (e.g. trained) on first use."""


@dataclass(frozen=True)
class ModelSpec:
    """How to obtain one model.

    Attributes
    ----------
    name : registry name, local folder (absolute) or hub id.
    description : what the model is, and how it differs from the paper's.
    seed : initialisation seed (random models only).
    hf_id : Hugging Face model id (hub models only).
    revision : commit hash (registry entries) or branch/tag/commit given by the reader.
    family : the registered family that provides it (:class:`ModelProvider`), if any.
    """

    name: str
    description: str
    seed: int | None = None
    hf_id: str | None = None
    revision: str | None = None
    family: str | None = None

    @property
    def kind(self) -> str:
        """``"random"``, ``"hub"``, ``"family"`` or ``"local"``."""
        if self.family:
            return "family"
        return "random" if self.seed is not None else "hub" if self.hf_id else "local"


# Revisions: commits of each repository's main branch, as shown by stored copies of the Hub's
# commit pages (no live lookup was possible when they were pinned).
REGISTRY: dict[str, ModelSpec] = {
    "random": ModelSpec(
        "random",
        "wav2vec 2.0 Base architecture (7 convolutional + 12 transformer layers), randomly "
        "initialised with a fixed seed: the paper's untrained model.",
        seed=0,
    ),
    "english": ModelSpec(
        "english",
        "facebook/wav2vec2-base: wav2vec 2.0 Base, self-supervised (contrastive) on the 960 h "
        "of LibriSpeech read English audiobooks. Paper: ~600 h of English (CommonVoice), same "
        "architecture and objective; here more hours, read speech only.",
        hf_id="facebook/wav2vec2-base", revision="0b5b8e868dd84f03fd87d01f9c4ff0f080fecfe8",
    ),
    "french": ModelSpec(
        "french",
        "LeBenchmark/wav2vec2-FR-3K-base: wav2vec 2.0 Base, self-supervised on ~2.9k h of "
        "French (read, broadcast and spontaneous speech). Paper: ~600 h of French "
        "(CommonVoice); here about 5x more hours and more varied speaking styles.",
        hf_id="LeBenchmark/wav2vec2-FR-3K-base",
        revision="2c9263b372d06820f1896b659c143ac7e75a13c8",
    ),
    "mandarin": ModelSpec(
        "mandarin",
        "TencentGameMate/chinese-wav2vec2-base: wav2vec 2.0 Base, self-supervised on the 10k h "
        "WenetSpeech L subset (Mandarin, podcasts and video). Paper: ~600 h of Mandarin from an "
        "unknown corpus; here about 17x more hours.",
        hf_id="TencentGameMate/chinese-wav2vec2-base",
        revision="3991242c806928916fff4a8c0e4f76acf661b743",
    ),
    "non-speech": ModelSpec(
        "non-speech",
        "ALM/wav2vec2-base-audioset: wav2vec 2.0 Base, self-supervised on the full AudioSet "
        "(~5k h of YouTube sound clips). Paper: ~600 h of AudioSet clips without speech labels; "
        "here the whole of AudioSet, which contains speech in many clips, and more hours.",
        hf_id="ALM/wav2vec2-base-audioset", revision="12c721214c856bc79f1a15c3ff1b4dde9d1eb509",
    ),
    "supervised": ModelSpec(
        "supervised",
        "facebook/wav2vec2-base-960h: the English model above fine-tuned with CTC on the "
        "LibriSpeech 960 h transcripts (characters). Paper: the same architecture trained "
        "only with supervision (phone labels) on 600 h; here self-supervised pretraining then "
        "supervised character fine-tuning.",
        hf_id="facebook/wav2vec2-base-960h", revision="22aad52d435eb6dbaf354bdad9b0da84ce7d6156",
    ),
}

# Listener language -> model trained on that language.
LANGUAGE_MODELS: dict[str, str] = {"en": "english", "fr": "french", "cn": "mandarin"}
# Listener language -> language of the non-native model. English and French listeners get each
# other's model (the pairing of the paper's English/French behavioural comparison); Mandarin
# listeners get the English model (the registry's reference model; like French, non-tonal).
NON_NATIVE: dict[str, str] = {"en": "fr", "fr": "en", "cn": "en"}

# The paper's conditions, and the public family's model of each (native/non-native: per
# language); registered families give their own (:attr:`ModelProvider.conditions`).
CONDITIONS = ("random", "native", "non-native", "non-speech", "supervised")
PUBLIC: dict[str, str] = {"random": "random", "non-speech": "non-speech",
                          "supervised": "supervised", "en": "english", "fr": "french",
                          "cn": "mandarin"}


def families() -> tuple[str, ...]:
    """Every model family: ``"public"`` (the registry) and the registered ones."""
    return ("public", *plugins.names(plugins.MODEL_FAMILIES))


def provider(family: str) -> ModelProvider:
    """The registered family ``family`` (see :data:`analysis.plugins.MODEL_FAMILIES`)."""
    return plugins.load(plugins.MODEL_FAMILIES, family)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def resolve_condition(condition: str, language: str, family: str = "public") -> str:
    """Model name of ``condition`` for a listener of ``language`` in model ``family``.

    ``"native"`` gives the family's model trained on ``language``; ``"non-native"`` its model
    of :data:`NON_NATIVE` ``[language]`` (en<->fr, cn->en); ``"random"``, ``"non-speech"``
    and ``"supervised"`` the family's model of that condition (:data:`PUBLIC`, or the
    family's :attr:`ModelProvider.conditions`). Anything else is a model name and is returned
    unchanged.
    """
    if family not in families():
        raise ValueError(f"family={family!r}: choose one of {', '.join(families())} (the "
                         "profile's model_family).")
    models = PUBLIC if family == "public" else provider(family).conditions
    if condition not in CONDITIONS:
        return condition
    if condition not in ("native", "non-native"):
        return models[condition]
    if language not in LANGUAGE_MODELS:
        raise ValueError(f"language={language!r}: native and non-native models are defined for "
                         f"{', '.join(LANGUAGE_MODELS)} only.")
    return models[language if condition == "native" else NON_NATIVE[language]]


def stand_ins(family: str, language: str = "en") -> dict[str, str]:
    """What each of the paper's conditions is in ``family`` for listeners of ``language``:
    ``{condition: "model name: description"}``."""
    out = {}
    for condition in CONDITIONS:
        name = resolve_condition(condition, language, family)
        out[condition] = f"{name}: {resolve(name).description}"
    return out


def resolve(name: str) -> ModelSpec:
    """Registry entry of ``name``, or a spec for a local folder or a hub id.

    Raises
    ------
    ValueError : ``name`` is none of these (or is a condition needing a language).
    """
    if name in REGISTRY:
        return REGISTRY[name]
    for family in families()[1:]:
        description = provider(family).describe(name)
        if description is not None:
            return ModelSpec(name, description, family=family)
    if name in ("native", "non-native"):
        raise ValueError(f"model={name!r} depends on the listener: call "
                         "models.resolve_condition(model, language) first.")
    folder = Path(name).expanduser()
    if folder.is_dir():
        return ModelSpec(str(folder.resolve()), f"local model at {name}")
    if _HUB_ID.match(name):
        hf_id, _, revision = name.partition("@")
        return ModelSpec(name, f"Hugging Face model {hf_id}", hf_id=hf_id,
                         revision=revision or "main")
    raise ValueError(f"model={name!r} is neither a registered model ({', '.join(REGISTRY)}), "
                     "a local folder holding a saved transformers model, nor a Hugging Face "
                     "model id ('owner/name' or 'owner/name@revision').")


def fingerprint(name: str) -> dict:
    """What identifies the weights of model ``name``, for cache keys.

    A random model: its seed, configuration and the transformers version; a local folder: the
    checksums of its config, preprocessor config and weights; a hub model: its id and commit
    (a branch or tag is resolved to its commit, from the local cache or the Hub); a model of
    a family: what the family says identifies it (for the demo's models, the digest of
    everything their training depends on; no training needed).
    """
    import transformers  # deferred: an optional heavy dependency, imported on first use

    spec = resolve(name)
    if spec.kind == "random":
        return {"name": spec.name, "seed": spec.seed, "transformers": transformers.__version__,
                "config": load_config(name).to_json_string()}
    if spec.kind == "family":
        return provider(spec.family).fingerprint(name)
    if spec.kind == "hub":
        return {"name": spec.hf_id, "revision": _commit(spec)}
    folder = Path(spec.name)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".safetensors", ".bin"))
    return {"name": spec.name, "files": {p.name: file_digest(p) for p in files}}


def load_config(name: str):
    """The transformers configuration of model ``name`` (cheap: no weights are loaded)."""
    from transformers import AutoConfig, Wav2Vec2Config  # deferred: heavy, optional

    spec = resolve(name)
    if spec.kind == "random":
        return Wav2Vec2Config()
    if spec.kind == "family":
        return provider(spec.family).config(name)
    if spec.kind == "hub":
        return _from_hub(spec, AutoConfig.from_pretrained)
    return AutoConfig.from_pretrained(spec.name, local_files_only=True)


def layer_counts(name: str) -> tuple[int, int]:
    """Convolutional and transformer layers of model ``name`` (7 and 12 for Base)."""
    config = load_config(name)
    return len(config.conv_dim), config.num_hidden_layers


def load_model(name: str, device: str = "auto"):
    """Load model ``name`` in evaluation mode.

    Parameters
    ----------
    name : see :func:`resolve`.
    device : ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    transformers ``Wav2Vec2Model`` (or a model with the same interface), on ``device``
    """
    import torch  # deferred: heavy, optional until a model is loaded
    from transformers import AutoModel, Wav2Vec2Config, Wav2Vec2Model

    target = resolve_device(device)
    spec = resolve(name)
    if spec.kind == "random":
        torch.manual_seed(spec.seed)
        model = Wav2Vec2Model(Wav2Vec2Config())
    elif spec.kind == "hub":
        model = _from_hub(spec, AutoModel.from_pretrained)
    else:
        model = _load_folder(model_folder(name))
    if not hasattr(getattr(model, "feature_extractor", None), "conv_layers"):
        raise ValueError(f"model={name!r} ({type(model).__name__}) has no "
                         "feature_extractor.conv_layers: only wav2vec 2.0-like speech models "
                         "(wav2vec 2.0, HuBERT, WavLM, data2vec-audio) are supported.")
    log.info("loaded model %s (%.1f M parameters) on %s", spec.name,
             sum(p.numel() for p in model.parameters()) / 1e6, target)
    return model.eval().to(target)


def normalizes_input(name: str) -> bool:
    """Whether model ``name``'s feature extractor normalises the waveform (``do_normalize``).

    Read from the model's ``preprocessor_config.json`` (local folder, or hub cache/download);
    when there is none, and for ``random``, True: the default of transformers'
    ``Wav2Vec2FeatureExtractor`` (zero mean, unit variance).
    """
    spec = resolve(name)
    if spec.kind == "random":
        return True
    if spec.kind in ("local", "family"):
        path = model_folder(name) / "preprocessor_config.json"
        path = path if path.is_file() else None
    else:
        from huggingface_hub import hf_hub_download  # deferred with transformers
        from huggingface_hub.errors import EntryNotFoundError

        try:
            path = Path(_from_hub(spec, lambda repo, **kw: hf_hub_download(
                repo, "preprocessor_config.json", **kw)))
        except EntryNotFoundError:
            path = None
    if path is None:
        log.info("model %s has no preprocessor_config.json: normalising its input", name)
        return True
    return bool(json.loads(path.read_text()).get("do_normalize", True))


def model_folder(name: str) -> Path:
    """The folder holding model ``name`` saved by transformers: a local folder as given, or a
    family's model (made on first use)."""
    spec = resolve(name)
    if spec.kind == "local":
        return Path(spec.name)
    if spec.kind == "family":
        return provider(spec.family).folder(name)
    raise ValueError(f"model={name!r} is a {spec.kind} model, not saved in a folder.")


# Architectures whose ``wav2vec2`` part is the speech model (training checkpoints).
_WRAPPERS = ("Wav2Vec2ForPreTraining", "Wav2Vec2ForAudioFrameClassification", "Wav2Vec2ForCTC")


def _load_folder(folder: Path):
    """The model saved in ``folder``: the bare model, or the ``wav2vec2`` part of a whole
    training model (a checkpoint: loaded whole, so that its heads load too)."""
    import transformers  # deferred: heavy, optional

    config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    architecture = (config.architectures or [""])[0]
    if architecture in _WRAPPERS:
        return getattr(transformers, architecture).from_pretrained(
            folder, local_files_only=True).wav2vec2
    return transformers.AutoModel.from_pretrained(folder, local_files_only=True)


def _from_hub(spec: ModelSpec, load):
    """``load(hf_id, revision=..., ...)`` from the local cache, else from the Hub when it can
    be reached; raise :class:`ModelUnavailableError` at once when it cannot."""
    from huggingface_hub import try_to_load_from_cache

    revision, cache = _commit(spec), _hub_cache()
    if isinstance(try_to_load_from_cache(spec.hf_id, "config.json", cache_dir=cache,
                                         revision=revision), str):
        try:  # cached: no network needed
            return load(spec.hf_id, revision=revision, cache_dir=cache, local_files_only=True)
        except (OSError, ValueError) as exc:  # partly cached (transformers: OSError)
            log.debug("%s@%s is not wholly in the local cache: %s", spec.hf_id, revision, exc)
    _require_hub(spec)
    log.info("downloading %s at revision %s", spec.hf_id, revision)
    return load(spec.hf_id, revision=revision, cache_dir=cache)


def _hub_cache() -> str:
    """The Hugging Face cache folder, read now (``HF_HUB_CACHE``, else the library's)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE


def _commit(spec: ModelSpec) -> str:
    """The commit of a hub model: its pinned hash, else its branch or tag resolved through the
    local cache (offline) or the Hub."""
    if _COMMIT.match(spec.revision):
        return spec.revision
    from huggingface_hub import HfApi

    ref = Path(_hub_cache()) / ("models--" + spec.hf_id.replace("/", "--")) / "refs"
    if (ref / spec.revision).is_file():
        return (ref / spec.revision).read_text().strip()
    _require_hub(spec)
    return HfApi().model_info(spec.hf_id, revision=spec.revision).sha


def _require_hub(spec: ModelSpec) -> None:
    """Raise :class:`ModelUnavailableError` unless the Hub may be used and can be reached."""
    if _offline():
        reason = "HF_HUB_OFFLINE is set"
    else:
        reason = _unreachable()
        if reason is None:
            return
    name = spec.hf_id if spec.name == spec.hf_id or "@" in spec.name else \
        f"{spec.name} ({spec.hf_id})"
    raise ModelUnavailableError(
        f"model {name!r} at revision {spec.revision} is not in the local Hugging Face cache and "
        f"cannot be downloaded: {reason}. With internet access, unset HF_HUB_OFFLINE and run "
        "again to download it once. Without it, use a local folder: on a machine with internet "
        f"run `transformers.AutoModel.from_pretrained({spec.hf_id!r}, revision="
        f"{spec.revision!r}).save_pretrained(FOLDER)` (and the same with AutoFeatureExtractor "
        "to keep its preprocessor_config.json), copy FOLDER here and pass model=FOLDER.")


def _offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value, read now."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def _unreachable() -> str | None:
    """Why the Hub's endpoint cannot be reached (a TCP connection within PROBE_TIMEOUT), or
    None. Behind an HTTP(S) proxy the probe is skipped and the download left to decide."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    from huggingface_hub import constants

    url = urlparse(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=PROBE_TIMEOUT).close()
    except OSError as exc:
        return f"{url.hostname}:{port} cannot be reached ({exc}; no network?)"
    return None
