"""Speak texts of the demo sentence by sentence, each in its own voice, and store them.

Used for the story the listeners hear (:mod:`analysis.demo.world`) and for the text the
demo's models pretrain on (:mod:`analysis.demo.training_speech`). A text is a list of sections,
each a list of sentences as written (Mandarin segmented by spaces, see
:mod:`analysis.demo.story`). Each section is spoken with :data:`SENTENCE_PAUSE` s of silence
between sentences, each sentence with the voice and prosody :mod:`analysis.demo.voices` draws,
then noise is added to the section. On disk a section is four files beside each other::

    <stem>.wav              16 kHz mono PCM
    <stem>_words.tsv        word, onset, offset, sentence (s from the audio onset)
    <stem>_phones.tsv       phone, onset, offset
    <stem>_sentences.tsv    sentence, onset, offset, text, voice, pitch, pitch_range, rate
"""
from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
from tqdm import tqdm

from analysis import synthesis
from analysis.cache import atomic_write
from analysis.demo import story, voices
from analysis.framing import SAMPLE_RATE

log = logging.getLogger(__name__)

SENTENCE_PAUSE = 0.35  # seconds of silence between sentences


@dataclass(frozen=True)
class SpokenSection:
    """One spoken section.

    Attributes
    ----------
    waveform : array of shape (n_samples,), float32 at 16 kHz
    words : DataFrame with columns ``word, onset, offset, sentence`` (s; one row per word of
        the text as written)
    phones : DataFrame with columns ``phone, onset, offset`` (s; espeak-ng's mnemonics)
    sentences : DataFrame with columns ``sentence, onset, offset, text, voice, pitch,
        pitch_range, rate``: each sentence's time span and how it was spoken
    """

    waveform: np.ndarray
    words: pd.DataFrame
    phones: pd.DataFrame
    sentences: pd.DataFrame


def speak(sections: list[list[str]], language: str, base_rate: int,
          seed: Sequence[int] | None) -> list[SpokenSection]:
    """Speak every section in a new process.

    espeak-ng keeps state between utterances (its pitch flutter runs on), and re-initialising
    it does not reset that state, so the same text spoken twice in one process differs
    slightly. A fresh process always starts from the same state, so the audio is reproducible.

    Parameters
    ----------
    sections : sentences (as written) of each section
    language : a language of :data:`analysis.demo.story.LANGUAGES`
    base_rate : the language's speaking rate (espeak-ng words per minute)
    seed : entropy of the draws (voices, prosody, noise), e.g. ``(world_seed, stream,
        language_index)``; section ``k`` draws from ``(*seed, k)``. None: one voice at its
        own pitch and the base rate, no noise (the demo's speech before voices varied)
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_speak_sections, sections, language, base_rate,
                           None if seed is None else tuple(seed)).result()


def _speak_sections(sections, language, base_rate, seed) -> list[SpokenSection]:
    spoken = []
    for k, sentences in enumerate(tqdm(sections, desc=f"speaking ({language})")):
        rng = None if seed is None else np.random.default_rng([*seed, k])
        deliveries = voices.draw_deliveries(len(sentences), language, base_rate, rng)
        spoken.append(speak_section(sentences, language, deliveries, rng))
    return spoken


def speak_section(sentences: list[str], language: str, deliveries: pd.DataFrame,
                  rng: np.random.Generator | None) -> SpokenSection:
    """Speak sentence by sentence with pauses, then add noise (none if ``rng`` is None).

    ``sentences`` are as written; languages written without spaces are spoken without them.
    ``deliveries`` has one row per sentence (see :func:`analysis.demo.voices.draw_deliveries`).
    """
    pieces, words, phones, rows, t = [], [], [], [], 0.0
    pause = np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), dtype=np.float32)
    power, n_speech = 0.0, 0
    for s, (sentence, how) in enumerate(zip(sentences, deliveries.itertuples(index=False))):
        text = story.display(sentence, language)
        utt = synthesis.synthesize(text, voice=how.voice, rate=int(how.rate),
                                   pitch=int(how.pitch), pitch_range=int(how.pitch_range),
                                   words=story.words_of(sentence, language))
        duration = len(utt.waveform) / SAMPLE_RATE
        words.append(utt.words.assign(onset=utt.words.onset + t, offset=utt.words.offset + t,
                                      sentence=s))
        phones.append(utt.phones.assign(onset=utt.phones.onset + t,
                                        offset=utt.phones.offset + t))
        rows.append({"sentence": s, "onset": t, "offset": t + duration, "text": text,
                     **how._asdict()})
        power += float(np.sum(utt.waveform.astype(np.float64) ** 2))
        n_speech += len(utt.waveform)
        pieces += [utt.waveform, pause]
        t += duration + SENTENCE_PAUSE
    waveform = voices.add_noise(np.concatenate(pieces), power / max(n_speech, 1), rng)
    return SpokenSection(waveform, pd.concat(words, ignore_index=True),
                         pd.concat(phones, ignore_index=True), pd.DataFrame(rows))


def save(section: SpokenSection, stem: Path) -> list[Path]:
    """Write ``section``'s four files at ``stem`` (see the module's docstring); their paths."""
    paths = [stem.with_suffix(".wav")] + [Path(f"{stem}_{part}.tsv")
                                          for part in ("words", "phones", "sentences")]
    atomic_write(paths[0], lambda tmp: soundfile.write(tmp, section.waveform, SAMPLE_RATE,
                                                       format="WAV", subtype="PCM_16"))
    for path, table in zip(paths[1:], (section.words, section.phones, section.sentences)):
        atomic_write(path, lambda tmp, table=table: table.to_csv(tmp, sep="\t", index=False))
    return paths


def read_table(stem: Path, part: str) -> pd.DataFrame:
    """The ``words``, ``phones`` or ``sentences`` table stored at ``stem``."""
    return pd.read_csv(f"{stem}_{part}.tsv", sep="\t", keep_default_na=False)
