"""Model registry: one name per condition of the paper, each resolving to a loaded network.

A name is either a registry entry (below) or a local folder holding a saved transformers
model (``config.json`` plus weights). Every model returned exposes the wav2vec 2.0 interface:
``model.feature_extractor.conv_layers`` and ``output_hidden_states=True``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """How to obtain one model.

    Attributes
    ----------
    name : registry name.
    description : what the model is, and how it differs from the paper's.
    seed : initialisation seed (random models only).
    """

    name: str
    description: str
    seed: int | None = None


REGISTRY: dict[str, ModelSpec] = {
    "random": ModelSpec(
        "random",
        "wav2vec 2.0 Base architecture (7 convolutional + 12 transformer layers), randomly "
        "initialised with a fixed seed: the paper's untrained model.",
        seed=0,
    ),
}


def resolve(name: str) -> ModelSpec:
    """Registry entry of ``name``, or a spec for a local folder; raise a clear error otherwise."""
    if name in REGISTRY:
        return REGISTRY[name]
    if Path(name).expanduser().is_dir():
        return ModelSpec(str(Path(name).expanduser().resolve()), f"local model at {name}")
    raise ValueError(f"model={name!r} is neither a registered model ({', '.join(REGISTRY)}) "
                     "nor a local folder holding a saved transformers model.")


def fingerprint(name: str) -> dict:
    """What identifies the weights of model ``name``, for cache keys: the seed and library
    versions of a random model, or the checksums of a local folder's config and weights."""
    import transformers

    from analysis.cache import file_digest

    spec = resolve(name)
    if spec.seed is not None:
        return {"name": spec.name, "seed": spec.seed, "transformers": transformers.__version__,
                "config": load_config(name).to_json_string()}
    folder = Path(spec.name)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".safetensors", ".bin"))
    return {"name": spec.name, "files": {p.name: file_digest(p) for p in files}}


def load_config(name: str):
    """The transformers configuration of model ``name`` (cheap: no weights are loaded)."""
    from transformers import AutoConfig, Wav2Vec2Config

    spec = resolve(name)
    if spec.seed is not None:
        return Wav2Vec2Config()
    return AutoConfig.from_pretrained(spec.name, local_files_only=True)


def load_model(name: str):
    """Load model ``name`` in evaluation mode on the CPU.

    Returns
    -------
    transformers ``Wav2Vec2Model`` (or a model with the same interface)
    """
    import torch
    from transformers import AutoModel, Wav2Vec2Config, Wav2Vec2Model

    spec = resolve(name)
    if spec.seed is not None:
        torch.manual_seed(spec.seed)
        model = Wav2Vec2Model(Wav2Vec2Config())
    else:
        model = AutoModel.from_pretrained(spec.name, local_files_only=True)
    log.info("loaded model %s (%.1f M parameters)", spec.name,
             sum(p.numel() for p in model.parameters()) / 1e6)
    return model.eval()
