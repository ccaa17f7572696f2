"""Data sets in one form, whatever their source: stimuli with timings, and participants' BOLD.

Every data source returns a :class:`Dataset`, so that nothing downstream can tell simulated
from real data. Sources register a loader under a name (an entry point of the group
:data:`analysis.plugins.SOURCES`; Le Petit Prince as ``lpp``, the demo world as ``demo``) and a
profile names its source; :func:`load_dataset` calls it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import soundfile
from scipy.signal import resample_poly

from analysis import plugins
from analysis.cache import file_digest
from analysis.config import Profile, get_profile
from analysis.framing import SAMPLE_RATE


class _Given:
    """The ``words_loader`` of a stimulus built with its words table: returns it."""

    def __init__(self, table: pd.DataFrame):
        self.table = table

    def __call__(self) -> pd.DataFrame:
        return self.table


@dataclass(frozen=True, init=False)
class Stimulus:
    """One section of the story in one language.

    Attributes
    ----------
    language, section : e.g. ``"en"``, 1
    audio_path : WAV file (any rate; read at 16 kHz)
    words : DataFrame with columns ``word, onset, offset`` (s from the audio onset): the table
        given, or the one ``words_loader`` returns, read on first access and kept
    n_scans : volumes acquired during this section (t=0 at the audio onset)
    tr : repetition time (s)
    phones : DataFrame with columns ``phone, onset, offset``, when known
    words_loader : a callable returning the words table, e.g.
        ``functools.partial(lpp.read_textgrid, path)``, when ``words`` is not given: sources
        whose annotations cost a read (Le Petit Prince's TextGrids) read them only where a
        figure uses the words (for a table given, a callable returning it, so that
        ``dataclasses.replace`` keeps the words)

    Give ``words`` or ``words_loader``, not both: ``Stimulus(language="en", section=1,
    audio_path=path, words=table, n_scans=282, tr=2.0)`` or ``..., words_loader=read, ...``.
    """

    language: str
    section: int
    audio_path: Path
    n_scans: int
    tr: float
    phones: pd.DataFrame | None = None
    words_loader: Callable[[], pd.DataFrame] | None = field(default=None, repr=False,
                                                             compare=False)

    def __init__(self, language: str, section: int, audio_path: Path,
                 words: pd.DataFrame | None = None, n_scans: int | None = None,
                 tr: float | None = None, phones: pd.DataFrame | None = None,
                 words_loader: Callable[[], pd.DataFrame] | None = None):
        if isinstance(words_loader, _Given) and words is not None:
            words_loader = None  # dataclasses.replace(stimulus, words=...)
        if (words is None) == (words_loader is None):
            raise TypeError(f"Stimulus({language!r}, section={section}): give words (a "
                            "DataFrame) or words_loader (a callable returning it), exactly "
                            "one.")
        if n_scans is None or tr is None:
            raise TypeError(f"Stimulus({language!r}, section={section}): n_scans and tr are "
                            "required.")
        if words is not None:
            words_loader = _Given(words)
        elif isinstance(words_loader, _Given):  # dataclasses.replace of a table given
            words = words_loader.table
        for name, value in (("language", language), ("section", section),
                            ("audio_path", audio_path), ("n_scans", n_scans), ("tr", tr),
                            ("phones", phones), ("words_loader", words_loader),
                            ("_words", words)):
            object.__setattr__(self, name, value)

    @property
    def words(self) -> pd.DataFrame:
        """The words table, columns ``word, onset, offset``: read by ``words_loader`` on first
        access, then kept."""
        if self._words is None:
            table = self.words_loader()
            missing = {"word", "onset", "offset"} - set(getattr(table, "columns", ()))
            if missing:
                raise ValueError(f"words_loader of the {self.language} stimulus of section "
                                 f"{self.section} ({self.audio_path}) returned a table without "
                                 f"columns {sorted(missing)}; it must return a DataFrame with "
                                 "word, onset, offset.")
            object.__setattr__(self, "_words", table)
        return self._words

    @property
    def words_loaded(self) -> bool:
        """Whether the words table is in memory (given, or read already)."""
        return self._words is not None

    def waveform(self) -> np.ndarray:
        """The audio as an array of shape (n_samples,), float32, mono, 16 kHz."""
        return read_audio(self.audio_path)

    def excerpt(self, seconds: float, n_words: int = 6) -> tuple[np.ndarray, str]:
        """The first ``seconds`` of the audio and its first words (Figure 1B).

        Returns
        -------
        waveform : array of shape (round(seconds * 16000),) at most
        caption : up to ``n_words`` words starting before ``seconds - 0.5`` s, then " …"
        """
        words = self.words
        caption = " ".join(words.word[words.onset < seconds - 0.5].head(n_words)) + " …"
        return self.waveform()[: int(seconds * SAMPLE_RATE)], caption

    def digest(self) -> str:
        """SHA-256 of the audio file: the stimulus's identity in cache keys."""
        return file_digest(self.audio_path)

    def scan_times(self) -> np.ndarray:
        """Acquisition time of each volume: array of shape (n_scans,)."""
        return np.arange(self.n_scans) * self.tr


@dataclass(frozen=True)
class Participant:
    """One listener: a BOLD file per section, each an array of shape (n_scans, n_vertices).

    Attributes
    ----------
    id : e.g. ``"sub-EN01"``
    language : the language heard
    bold_paths : one ``.npy`` file per section, in section order
    """

    id: str
    language: str
    bold_paths: tuple[Path, ...]

    def bold(self) -> np.ndarray:
        """All sections stacked in time: array of shape (n_scans_total, n_vertices), float32."""
        return np.vstack([np.load(p).astype(np.float32) for p in self.bold_paths])

    def digest(self) -> str:
        """Checksum of the BOLD files: the participant's identity in cache keys."""
        return "-".join(file_digest(p)[:16] for p in self.bold_paths)


@dataclass(frozen=True)
class Dataset:
    """Stimuli per language and the participants who heard them."""

    name: str
    stimuli: dict[str, list[Stimulus]]
    participants: list[Participant]
    simulated: bool

    def participants_of(self, language: str) -> list[Participant]:
        return [p for p in self.participants if p.language == language]


def read_audio(path: Path) -> np.ndarray:
    """Read a WAV file as mono float32 at 16 kHz: array of shape (n_samples,)."""
    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read audio ({exc}); is the file complete?") from exc
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)
    return audio


def load_dataset(profile, n_participants: int | None = None,
                 languages=None) -> Dataset:
    """The data set of ``profile`` (see :mod:`analysis.config`), from the profile's source.

    Parameters
    ----------
    profile : a profile name (``demo``, ``lpp``, ``paper``) or a :class:`Profile`
    n_participants : participants per language (default: the profile's; 0: all)
    languages : languages to load (default: the profile's)

    The demo world is built on first use; Le Petit Prince is downloaded on first use
    (``lpp``: the first participants of each language; ``paper``: all), and a machine
    without internet gets an error saying what to run.
    """
    spec = profile if isinstance(profile, Profile) else get_profile(profile)
    n = spec.n_participants if n_participants is None else n_participants
    load = plugins.load(plugins.SOURCES, spec.source)
    return load(spec, tuple(languages or spec.languages), n)


def restrict(dataset: Dataset, sections=None) -> Dataset:
    """The same data set with only ``sections`` (None: all) of every stimulus and BOLD."""
    if sections is None:
        return dataset
    sections = set(sections)
    stimuli, keep = {}, {}
    for language, stims in dataset.stimuli.items():
        keep[language] = [i for i, s in enumerate(stims) if s.section in sections]
        stimuli[language] = [stims[i] for i in keep[language]]
        if not stimuli[language]:
            raise ValueError(f"sections={sorted(sections)}: the {dataset.name} data set has "
                             f"sections {[s.section for s in stims]} in {language}.")
    participants = [Participant(p.id, p.language, tuple(p.bold_paths[i]
                                                        for i in keep[p.language]))
                    for p in dataset.participants]
    return Dataset(dataset.name, stimuli, participants, dataset.simulated)
