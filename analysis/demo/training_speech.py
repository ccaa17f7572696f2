"""The speech the demo's models pretrain on: a training text per language, spoken once, cached.

The text (:mod:`analysis.demo.training_text`) shares the listeners' languages but none of their
story's sentences; it is spoken with the story's variability (several voices per language,
pitch, pitch range and rate drawn per sentence, light noise; :mod:`analysis.demo.voices`) under
its own seed stream. It lives in ``<data home>/demo/training-speech/<L>-<digest>/``, the digest
covering the text, the seed and the code that writes and speaks it::

    section-<k>.wav, section-<k>_words.tsv, ..._phones.tsv, ..._sentences.tsv   (:mod:`.speaking`)
    speech.json   written last: the key and the files with their checksums

A folder without a valid ``speech.json`` is unfinished and is spoken again from scratch.
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from analysis import synthesis
from analysis.cache import (atomic_write, file_digest, key_digest, manifest_verified,
                            source_digest)
from analysis.config import data_home
from analysis.demo import speaking, story, training_text, voices

log = logging.getLogger(__name__)

N_SENTENCES = 260  # per language: 21 (en, fr) to 25 (cn) minutes of speech
PER_SECTION = 20  # sentences per stored section (about 1.5 minutes)
TRAINING_STREAM = 1  # seed stream of the training speech (the story's is world.STORY_STREAM)


@dataclass(frozen=True)
class TrainingSection:
    """One stored section of training speech.

    Attributes
    ----------
    language, section : e.g. ``"en"``, 1
    audio_path : its 16 kHz WAV file
    phones : DataFrame with columns ``phone, onset, offset`` (s)
    sentences : DataFrame with columns ``sentence, onset, offset, text, voice, pitch,
        pitch_range, rate``
    """

    language: str
    section: int
    audio_path: Path
    phones: pd.DataFrame
    sentences: pd.DataFrame

    def waveform(self) -> np.ndarray:
        """The audio: array of shape (n_samples,), float32 at 16 kHz."""
        audio, _ = soundfile.read(self.audio_path, dtype="float32")
        return audio

    def digest(self) -> str:
        """SHA-256 of the audio file."""
        return file_digest(self.audio_path)


def load(language: str, n_sentences: int = N_SENTENCES, seed: int = 0,
         root: Path | None = None) -> list[TrainingSection]:
    """The training speech of ``language``, spoken on first use and verified on every later one.

    Parameters
    ----------
    language : a language of :data:`analysis.demo.training_text.GRAMMARS`
    n_sentences : sentences of the training text
    seed : seed of the text and of its voices, prosody and noise
    root : parent folder (default ``<data home>/demo/training-speech``)

    Returns
    -------
    list of TrainingSection, in order
    """
    key = {"language": language, "n_sentences": n_sentences, "per_section": PER_SECTION,
           "seed": seed, "rate": story.RATES[language],
           "code": source_digest(sys.modules[__name__], training_text, speaking, voices,
                                 synthesis)}
    folder = (root or data_home() / "demo" / "training-speech") / f"{language}-{key_digest(key)}"
    manifest = folder / "speech.json"
    if not manifest_verified(manifest):
        if folder.exists():
            log.warning("training speech at %s is unfinished or corrupted; speaking it again",
                        folder)
            shutil.rmtree(folder)
        _build(folder, key)
    meta = json.loads(manifest.read_text())
    return [TrainingSection(language, k, folder / f"section-{k}.wav",
                            speaking.read_table(folder / f"section-{k}", "phones"),
                            speaking.read_table(folder / f"section-{k}", "sentences"))
            for k in range(1, meta["n_sections"] + 1)]


def _build(folder: Path, key: dict) -> None:
    language = key["language"]
    sections = training_text.sections(language, key["n_sentences"], key["per_section"],
                                      key["seed"])
    started = time.perf_counter()
    spoken = speaking.speak(sections, language, key["rate"],
                            seed=(key["seed"], TRAINING_STREAM,
                                  story.LANGUAGES.index(language)))
    seconds = sum(len(s.waveform) for s in spoken) / 16000
    log.info("spoke the %s training text: %d sentences, %.1f min of audio in %.1f s", language,
             key["n_sentences"], seconds / 60, time.perf_counter() - started)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for k, section in enumerate(spoken, 1):
        for path in speaking.save(section, folder / f"section-{k}"):
            files[path.name] = file_digest(path)
    text = json.dumps({"key": key, "n_sections": len(spoken), "seconds": seconds,
                       "files": files}, indent=1)
    atomic_write(folder / "speech.json", lambda tmp: tmp.write_text(text))
