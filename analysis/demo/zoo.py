"""The demo's own models: what each is trained on, where it lives, trained on first use.

=================  ============  ==================================================
name               objective     training audio
=================  ============  ==================================================
demo-random        (none)        none: the initialisation, seed ``settings.seed``
demo-english       self-sup.     English training speech
demo-french        self-sup.     French training speech
demo-mandarin      self-sup.     Mandarin training speech (only if asked for)
demo-non-speech    self-sup.     :mod:`analysis.demo.sounds` clips
demo-supervised    phones        English training speech, espeak's phone of each 20 ms frame
=================  ============  ==================================================

The self-supervised ("self-sup.") models learn by masked prediction of acoustic units by
default (HuBERT's first iteration on wav2vec 2.0's architecture, :mod:`analysis.demo.training`):
wav2vec 2.0's own contrastive objective stays near chance for the whole budget a 2-core build
affords. ``{"self_supervision": "contrastive"}`` (below) trains them as wav2vec 2.0 does.

Speech models train on speech the listeners never hear: a training text per language
(:mod:`analysis.demo.training_text`, :data:`SPEECH_SENTENCES` sentences, none of them the
story's), spoken with the story's variability of voices, prosody and noise
(:mod:`analysis.demo.training_speech`). A model lives in
``<data home>/demo/models/<name>-<digest>/``, the digest covering everything its weights
depend on (training and labelling code, data digest, settings, torch and transformers versions), so a
changed input trains a new model and an unchanged one is reused.

The family registers itself with the core as ``demo`` (an entry point of
:data:`analysis.plugins.MODEL_FAMILIES`, object :data:`PROVIDER`): ``models.load_model(
"demo-english")`` installs it on first use from the weights the repository ships, when they
were trained exactly as this machine would train it (:mod:`analysis.demo.shipped`, made by
``python -m analysis.demo.pack``), else trains it; ``NAME@STEP`` is ``NAME``'s checkpoint at
that step (of a model trained here).

Training settings: :data:`DEFAULT_SETTINGS`, changed for every demo model at once by the
environment variable ``ANALYSIS_DEMO_TRAINING`` holding a JSON object of
:class:`~analysis.demo.training.TrainingSettings` fields, e.g. ``{"steps": 6000}`` for a
longer budget (its models are cached beside the default ones).
"""
from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import acoustics, framing
from analysis.cache import key_digest, source_digest
from analysis.config import data_home
from analysis.demo import shipped, sounds, training, training_speech
from analysis.demo.training import Corpus, TrainingSettings

log = logging.getLogger(__name__)

SPEECH_SENTENCES = training_speech.N_SENTENCES  # training text per language (21-25 min)
NON_SPEECH_SECONDS = 720.0  # non-speech training audio (12 minutes)
DEFAULT_SETTINGS = TrainingSettings(steps=3000, threads=2)  # the shipped weights' (shipped.py)
ENVIRONMENT = "ANALYSIS_DEMO_TRAINING"


@dataclass(frozen=True)
class DemoModel:
    """One model of the demo.

    Attributes
    ----------
    description : what it is, for the registry
    objective : ``"self-supervised"`` (the settings' ``self_supervision``), or ``"phones"``
        (``None``: untrained)
    audio : ``"speech"``, ``"sounds"`` or ``None``
    language : language of the speech (``audio="speech"``)
    """

    description: str
    objective: str | None
    audio: str | None = None
    language: str | None = None


DEMO_MODELS: dict[str, DemoModel] = {
    "demo-random": DemoModel("the demo architecture, randomly initialised (not trained)",
                             None),
    "demo-english": DemoModel("small wav2vec 2.0 pretrained by the project on "
                              "English speech (espeak-ng) of a text the listeners never hear",
                              "self-supervised", "speech", "en"),
    "demo-french": DemoModel("small wav2vec 2.0 pretrained by the project on "
                             "French speech (espeak-ng) of a text the listeners never hear",
                             "self-supervised", "speech", "fr"),
    "demo-mandarin": DemoModel("small wav2vec 2.0 pretrained by the project on "
                               "Mandarin speech (espeak-ng) of a text the listeners never hear",
                               "self-supervised", "speech", "cn"),
    "demo-non-speech": DemoModel("small wav2vec 2.0 pretrained by the project on synthetic "
                                 "environmental sounds (analysis.demo.sounds)",
                                 "self-supervised", "sounds"),
    "demo-supervised": DemoModel("small wav2vec 2.0 trained by the project from scratch to "
                                 "classify espeak-ng's phone of each frame of English "
                                 "speech the listeners never hear", "phones", "speech", "en"),
}
# The models the demo's figures use, in the order they are trained by train_all.
DEFAULT_MODELS = ("demo-random", "demo-english", "demo-french", "demo-non-speech",
                  "demo-supervised")


def settings() -> TrainingSettings:
    """:data:`DEFAULT_SETTINGS` with the changes of ``$ANALYSIS_DEMO_TRAINING``, if set."""
    text = os.environ.get(ENVIRONMENT, "").strip()
    if not text:
        return DEFAULT_SETTINGS
    try:
        changes = json.loads(text)
        if not isinstance(changes, dict):
            raise ValueError("not a JSON object")
        changes = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
        return dataclasses.replace(DEFAULT_SETTINGS, **changes)
    except (ValueError, TypeError) as exc:
        fields = ", ".join(f.name for f in dataclasses.fields(TrainingSettings))
        raise ValueError(f"{ENVIRONMENT}={text!r} is not a JSON object of training settings "
                         f"({exc}); use fields among {fields}, e.g. '{{\"steps\": 3000}}'."
                         ) from exc


def spec(name: str) -> DemoModel:
    """The :class:`DemoModel` called ``name`` (a key of :data:`DEMO_MODELS`)."""
    if name not in DEMO_MODELS:
        raise ValueError(f"{name!r} is not a demo model; choose one of "
                         f"{', '.join(DEMO_MODELS)}.")
    return DEMO_MODELS[name]


def run_settings(name: str, base: TrainingSettings | None = None) -> TrainingSettings:
    """Settings of ``name``'s run: ``base`` (default :func:`settings`), no steps if untrained."""
    base = base or settings()
    return base if spec(name).objective else dataclasses.replace(base, steps=0)


def objective(name: str, base: TrainingSettings | None = None) -> str | None:
    """The training objective of ``name`` (``None``: untrained): a self-supervised model's is
    the settings' ``self_supervision``."""
    model = spec(name)
    if model.objective == "self-supervised":
        return run_settings(name, base).self_supervision
    return model.objective


def config(name: str, base: TrainingSettings | None = None):
    """The transformers configuration of ``name`` (no training needed)."""
    return training.small_config(run_settings(name, base))


def training_key(name: str, base: TrainingSettings | None = None) -> dict:
    """Everything the weights of ``name`` depend on (speaks the training text of a speech
    model, once)."""
    import torch
    import transformers

    model, run = spec(name), run_settings(name, base)
    key = {"name": name, "objective": objective(name, base), "settings": dataclasses.asdict(run),
           "code": source_digest(training, framing, acoustics), "torch": torch.__version__,
           "transformers": transformers.__version__}
    if model.audio == "speech":
        key["data"] = speech_digest(model.language, run.seed)
    elif model.audio == "sounds":
        key["data"] = {"code": source_digest(sounds), "seconds": NON_SPEECH_SECONDS,
                       "seed": run.seed}
    return key


def folder(name: str, base: TrainingSettings | None = None) -> Path:
    """Where ``name`` lives (trained or not)."""
    return data_home() / "demo" / "models" / f"{name}-{key_digest(training_key(name, base))}"


def ensure(name: str, base: TrainingSettings | None = None) -> Path:
    """The folder of ``name``: installed from the shipped weights when they were trained
    exactly as this machine would (:mod:`analysis.demo.shipped`), else trained first if needed
    (resuming an interrupted run).

    A lock file serialises processes wanting the same model: the second waits for the
    first's training, then reuses it.
    """
    target = folder(name, base)
    if training.is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        packed = None if training.is_complete(target) else shipped.find(target)
        if packed is not None:
            shipped.install(packed, target)
        elif not training.is_complete(target):
            run = run_settings(name, base)
            log.info("training %s (%d steps) in %s", name, run.steps, target)
            training.train(build_corpus(name, run), target, run,
                           objective=objective(name, base) or "contrastive",
                           key=training_key(name, base))
    return target


def train_all(names=DEFAULT_MODELS, base: TrainingSettings | None = None) -> dict[str, Path]:
    """Train (or find) each of ``names`` in turn: ``{name: folder}``."""
    return {name: ensure(name, base) for name in names}


def checkpoint(name: str, step: int, base: TrainingSettings | None = None) -> Path:
    """The folder of ``name``'s checkpoint at ``step`` (the model trained first if needed)."""
    root = ensure(name, base)
    path = root / "checkpoints" / f"step-{step:06d}"
    if not path.is_dir():
        steps = [int(p.name.split("-")[1]) for p in sorted((root / "checkpoints").glob("step-*"))]
        manifest = json.loads((root / "manifest.json").read_text())
        hint = (" (it was installed from the shipped weights, which keep the final model "
                f"only: delete {root} and set {shipped.ENVIRONMENT}=0 to train it here)"
                if manifest.get("shipped") else "")
        raise ValueError(f"{name} has no checkpoint at step {step}; its checkpoints are at "
                         f"steps {steps}{hint}.")
    return path


def training_sections(language: str, seed: int) -> list[training_speech.TrainingSection]:
    """The training speech of ``language`` (spoken on first use): :data:`SPEECH_SENTENCES`
    sentences, text and voices drawn from ``seed``."""
    return training_speech.load(language, SPEECH_SENTENCES, seed)


def speech_digest(language: str, seed: int) -> list[str]:
    """Identity of the training speech of ``language``: audio checksums."""
    return [s.digest() for s in training_sections(language, seed)]


def build_corpus(name: str, run: TrainingSettings) -> Corpus:
    """The training audio (and labels) of demo model ``name``."""
    model = spec(name)
    if model.audio is None:
        return Corpus([])
    if model.audio == "sounds":
        waves, digest = _sounds(NON_SPEECH_SECONDS, run.seed), "sounds"
    else:
        stimuli = training_sections(model.language, run.seed)
        waves = [s.waveform() for s in stimuli]
        digest = ",".join(s.digest() for s in stimuli)
    if objective(name, run) == "units":
        units, names = training.acoustic_units(waves, run.n_units, run.seed)
        return Corpus(waves, units, names, digest)
    if objective(name, run) != "phones":
        return Corpus(waves, digest=digest)
    names = framing.phone_inventory(stimuli)
    inventory = {p: i for i, p in enumerate(names)}
    frames = [framing.frame_labels(s.phones, framing.n_frames(len(w)), inventory)
              for s, w in zip(stimuli, waves)]
    return Corpus(waves, frames, names, digest)


@functools.lru_cache(maxsize=2)
def _sounds(seconds: float, seed: int) -> list[np.ndarray]:
    return sounds.corpus(seconds, seed=seed)


def summary(names=DEFAULT_MODELS) -> pd.DataFrame:
    """One row per trained model of ``names``: what it is, its size, steps, training time
    and whether its weights were shipped or trained here (from each run's manifest; the
    models are installed or trained first if needed)."""
    rows = []
    for name in names:
        path = ensure(name)
        manifest = json.loads((path / "manifest.json").read_text())
        rows.append({"model": name, "objective": manifest["objective"] if spec(name).objective
                     else "none", "parameters (M)": manifest["n_parameters"] / 1e6,
                     "steps": manifest["settings"]["steps"],
                     "training (min)": manifest["seconds"] / 60,
                     "weights": "shipped" if manifest.get("shipped") else "trained here",
                     "checkpoints": len(manifest["checkpoints"]),
                     "description": spec(name).description})
    return pd.DataFrame(rows)


def curves(name: str) -> pd.DataFrame:
    """Training curves of ``name`` (see :data:`analysis.demo.training.CURVE_FIELDS`)."""
    return pd.DataFrame(training.read_curves(ensure(name)),
                        columns=list(training.CURVE_FIELDS))


class _Family:
    """The demo's models as a family of :mod:`analysis.models` (see
    :class:`analysis.models.ModelProvider`): ``NAME`` or ``NAME@STEP``."""

    conditions = {"random": "demo-random", "non-speech": "demo-non-speech",
                  "supervised": "demo-supervised", "en": "demo-english", "fr": "demo-french",
                  "cn": "demo-mandarin"}

    @staticmethod
    def _parse(name: str) -> tuple[str, int | None] | None:
        base, _, step = name.partition("@")
        if base not in DEMO_MODELS:
            return None
        if step and not step.isdigit():
            raise ValueError(f"model={name!r}: a demo checkpoint is NAME@STEP with STEP a "
                             "training step, e.g. 'demo-english@200'.")
        return base, int(step) if step else None

    def describe(self, name: str) -> str | None:
        parsed = self._parse(name)
        return None if parsed is None else DEMO_MODELS[parsed[0]].description

    def config(self, name: str):
        return config(self._parse(name)[0])

    def fingerprint(self, name: str) -> dict:
        return {"name": name, "training": key_digest(training_key(self._parse(name)[0]))}

    def folder(self, name: str) -> Path:
        base, step = self._parse(name)
        return ensure(base) if step is None else checkpoint(base, step)


PROVIDER = _Family()  # the entry point ``demo`` of ``analysis.model_families``
