"""The demo's shipped weights: trained demo models packed into the repository.

Training the demo's models long enough for their layers to move costs more than a first build
can spend on 2 cores (about 15 minutes per model), so the repository carries the final weights
of each trained model, made by its own code with one command::

    python -m analysis pack-demo-models

which trains (or finds) every trained model of :data:`analysis.demo.zoo.DEFAULT_MODELS` under
the current settings, then packs each into :data:`WEIGHTS`/``<name>-<digest>/``:

    model.safetensors          the final Wav2Vec2Model's weights in float16
    config.json, preprocessor_config.json, curves.csv   as trained
    manifest.json              the training run's manifest (its ``key``: settings, code
                               digest, training data checksums, torch and transformers
                               versions), its ``files`` the packed files' checksums (so
                               :func:`analysis.demo.training.is_complete` checks a pack)

``<digest>`` is the digest of the training key, the same as the data home's folder, so a
packed model is used only where this machine would train exactly the same one (same code,
settings, training audio and library versions); any change trains from scratch instead, and
so does ``ANALYSIS_DEMO_SHIPPED=0`` (the from-scratch path, e.g. to check a packed model).
Installing one writes a complete model folder (float32 weights) into the data home, its
manifest marked ``"shipped": true``. Checkpoints along training are not packed.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from analysis.cache import file_digest
from analysis.demo import training

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).parent / "weights"
COPIED = ("config.json", "preprocessor_config.json", "curves.csv")
BUDGET_MB = 40.0  # all packed models together
ENVIRONMENT = "ANALYSIS_DEMO_SHIPPED"  # "0": never install packed models, train them here


def find(folder: Path, weights: Path | None = None) -> Path | None:
    """The packed model for the data home's model ``folder`` (same name and digest), if any
    and if ``$ANALYSIS_DEMO_SHIPPED`` is not ``0``."""
    if os.environ.get(ENVIRONMENT, "1").strip() == "0":
        return None
    packed = (weights or WEIGHTS) / Path(folder).name
    return packed if training.is_complete(packed) else None


def pack(trained: Path, weights: Path | None = None) -> Path:
    """Pack the complete trained model folder ``trained`` into ``weights`` (default
    :data:`WEIGHTS`), replacing older packs of the same model; return the packed folder."""
    import torch
    from safetensors.torch import load_file, save_file

    trained, weights = Path(trained), Path(weights or WEIGHTS)
    manifest = json.loads((trained / "manifest.json").read_text())
    name = manifest["key"]["name"]
    target, tmp = weights / trained.name, weights / f".{trained.name}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = load_file(trained / "model.safetensors")
    save_file({k: v.to(torch.float16) if v.is_floating_point() else v
               for k, v in state.items()}, tmp / "model.safetensors")
    for file in COPIED:
        shutil.copy2(trained / file, tmp / file)
    manifest.pop("shipped", None)
    manifest["files"] = {file: file_digest(tmp / file) for file in ("model.safetensors", *COPIED)}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for old in weights.glob(f"{name}-*"):
        if old.name[len(name) + 1:].isalnum() and old.is_dir():
            shutil.rmtree(old)
    os.replace(tmp, target)
    log.info("packed %s into %s", trained.name, target)
    return target


def install(packed: Path, folder: Path) -> Path:
    """Write the packed model ``packed`` into ``folder`` as a complete model folder (float32
    weights, manifest last, marked ``"shipped": true``)."""
    import torch
    from safetensors.torch import load_file, save_file

    packed, folder = Path(packed), Path(folder)
    tmp = folder.parent / f".{folder.name}.shipped"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = load_file(packed / "model.safetensors")
    save_file({k: v.to(torch.float32) if v.is_floating_point() else v
               for k, v in state.items()}, tmp / "model.safetensors", metadata={"format": "pt"})
    for file in COPIED:
        shutil.copy2(packed / file, tmp / file)
    manifest = json.loads((packed / "manifest.json").read_text())
    manifest["shipped"], manifest["checkpoints"] = True, []  # the final model only
    manifest["files"] = {file: file_digest(tmp / file) for file in ("model.safetensors", *COPIED)}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    log.info("installed the shipped %s", folder.name)
    return folder


def size_mb(weights: Path | None = None) -> float:
    """Size of every packed model together, in MB."""
    root = Path(weights or WEIGHTS)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
