"""Data sets in one form, whatever their source: stimuli with timings, and participants' BOLD.

Every data source returns a :class:`Dataset`, so that nothing downstream can tell simulated
from real data. Sources register a loader under a name (an entry point of the group
:data:`analysis.plugins.SOURCES`; Le Petit Prince as ``lpp``, the demo world as ``demo``) and a
profile names the corpora it analyses (``corpora``); :func:`load_dataset` calls each one's
loader and :func:`merge` joins their data sets.

Who heard what: in Le Petit Prince and the demo world every listener of a language heard every
section of the story (``Participant.stimuli`` is None: the data set's stimuli of that
language, in order). In the Narratives corpus each listener heard one or a few of its stories,
so a Narratives participant carries the stimuli it heard (``Participant.stimuli``, one per
run), and :meth:`Dataset.groups` gathers the listeners of one language who heard the same
stimuli: each group is fitted on its own designs (regressors of its stimuli stacked), which a
Le Petit Prince language forms one group of. ``Dataset.stimuli[language]`` lists every
stimulus of the language once (Le Petit Prince's sections, then the Narratives stories).
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
    name : a readable name, e.g. the Narratives story ``"pieman"`` (None: ``section <k>``)
    audio_start, audio_duration : the part of the WAV heard (s; None: to its end), e.g. the
        story segment of a Narratives WAV whose first seconds are a music clip; word
        onsets and the activations are in seconds from ``audio_start``
    scan_start : time of the first volume after the audio onset (s, >= 0; a Narratives
        story may start between two volumes)
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
    name: str | None = None
    audio_start: float = 0.0
    audio_duration: float | None = None
    scan_start: float = 0.0

    def __init__(self, language: str, section: int, audio_path: Path,
                 words: pd.DataFrame | None = None, n_scans: int | None = None,
                 tr: float | None = None, phones: pd.DataFrame | None = None,
                 words_loader: Callable[[], pd.DataFrame] | None = None,
                 name: str | None = None, audio_start: float = 0.0,
                 audio_duration: float | None = None, scan_start: float = 0.0):
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
                            ("_words", words), ("name", name),
                            ("audio_start", float(audio_start)),
                            ("audio_duration", None if audio_duration is None
                             else float(audio_duration)),
                            ("scan_start", float(scan_start))):
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

    @property
    def cut(self) -> bool:
        """Whether only a part of the WAV is heard (``audio_start``, ``audio_duration``)."""
        return self.audio_start > 0 or self.audio_duration is not None

    def waveform(self) -> np.ndarray:
        """The audio heard (from ``audio_start``, for ``audio_duration``) as an array of shape
        (n_samples,), float32, mono, 16 kHz.

        Raises
        ------
        ValueError
            naming the file when it ends before ``audio_start + audio_duration``.
        """
        audio = read_audio(self.audio_path)
        if not self.cut:
            return audio
        start = int(round(self.audio_start * SAMPLE_RATE))
        stop = None if self.audio_duration is None else start + int(
            round(self.audio_duration * SAMPLE_RATE))
        if start >= len(audio) or (stop is not None and stop > len(audio) + SAMPLE_RATE):
            raise ValueError(f"{self.audio_path}: {len(audio) / SAMPLE_RATE:g} s of audio, but "
                             f"the {self.label} is heard from {self.audio_start:g} s for "
                             f"{self.audio_duration} s; is the file complete?")
        return audio[start:stop]

    @property
    def label(self) -> str:
        """``name``, or ``section <k>``."""
        return self.name or f"section {self.section}"

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
        """SHA-256 of the audio file, and the part heard when ``cut``: the stimulus's
        identity in cache keys."""
        whole = file_digest(self.audio_path)
        return f"{whole}@{self.audio_start:g}+{self.audio_duration}" if self.cut else whole

    def scan_times(self) -> np.ndarray:
        """Acquisition time of each volume from the audio onset (``audio_start`` of the WAV):
        array of shape (n_scans,)."""
        return self.scan_start + np.arange(self.n_scans) * self.tr

    def identity(self) -> tuple:
        """What tells two stimuli apart: the audio heard, its volumes and their times."""
        return (str(self.audio_path), self.audio_start, self.audio_duration, self.n_scans,
                self.tr, self.scan_start)


@dataclass(frozen=True)
class Participant:
    """One listener: a BOLD file per section, each an array of shape (n_scans, n_vertices).

    Attributes
    ----------
    id : e.g. ``"sub-EN01"``
    language : the language heard
    bold_paths : one ``.npy`` file per section, in section order
    stimuli : the stimuli heard, one per file of ``bold_paths`` (a Narratives listener's
        stories); None: every stimulus of ``language`` in the data set, in order
    corpus : the corpus the listener belongs to (``"lpp"``, ``"narratives"``; None: the data
        set's), which chooses its outer folds (:meth:`analysis.config.Profile.folds_of`)
    """

    id: str
    language: str
    bold_paths: tuple[Path, ...]
    stimuli: tuple[Stimulus, ...] | None = field(default=None, repr=False, compare=False)
    corpus: str | None = None

    def bold(self) -> np.ndarray:
        """All sections stacked in time: array of shape (n_scans_total, n_vertices), float32."""
        return np.vstack([np.load(p).astype(np.float32) for p in self.bold_paths])

    def digest(self) -> str:
        """Checksum of the BOLD files: the participant's identity in cache keys."""
        return "-".join(file_digest(p)[:16] for p in self.bold_paths)


@dataclass(frozen=True)
class Dataset:
    """Stimuli per language and the participants who heard them.

    ``corpus_size`` (language -> listeners) counts the listeners of the whole source the data
    set was drawn from when it holds only some of them and no participants table says so
    (the demo world); ``None``: the source's own table, else the participants held.
    """

    name: str
    stimuli: dict[str, list[Stimulus]]
    participants: list[Participant]
    simulated: bool
    corpus_size: dict[str, int] | None = field(default=None, compare=False)

    def participants_of(self, language: str) -> list[Participant]:
        return [p for p in self.participants if p.language == language]

    def check_language(self, language: str) -> None:
        """Raise a ValueError naming the languages of the data set unless it has stimuli in
        ``language``."""
        if language not in self.stimuli:
            raise ValueError(f"language={language!r}: the {self.name} data set has stimuli in "
                             f"{', '.join(self.stimuli)} only.")

    def stimuli_of(self, participant: Participant) -> list[Stimulus]:
        """The stimuli ``participant`` heard, one per BOLD file, in order."""
        if participant.stimuli is not None:
            return list(participant.stimuli)
        return list(self.stimuli[participant.language])

    def groups(self, language: str, participants=None
               ) -> list[tuple[list[Stimulus], list[Participant]]]:
        """The listeners of ``language`` (only those of ``participants`` ids, when given)
        gathered by the stimuli they heard: ``[(stimuli, listeners), ...]`` in the order of
        each group's first listener (Le Petit Prince: one group per language).

        Raises
        ------
        ValueError
            naming ``participants`` when it is given and none of them listened in ``language``.
        """
        found: dict[tuple, tuple[list[Stimulus], list[Participant]]] = {}
        for person in self.participants_of(language):
            if participants is not None and person.id not in participants:
                continue
            heard = self.stimuli_of(person)
            found.setdefault(tuple(s.identity() for s in heard), (heard, []))[1].append(person)
        if participants is not None and not found:
            raise ValueError(f"participants={participants}: no participant of language "
                             f"{language!r} matches.")
        return list(found.values())


def merge(datasets) -> Dataset:
    """One data set of several corpora's (e.g. Le Petit Prince's and Narratives' English
    listeners): stimuli of each language concatenated, participants in order, each given the
    stimuli it heard and its corpus.

    Raises
    ------
    ValueError
        when two data sets have a participant of the same id, or mix simulated and real data.
    """
    datasets = list(datasets)
    if len(datasets) == 1:
        return datasets[0]
    if len({d.simulated for d in datasets}) > 1:
        raise ValueError(f"corpora {[d.name for d in datasets]}: simulated and real data sets "
                         "cannot be analysed together; choose the corpora of one world.")
    stimuli: dict[str, list[Stimulus]] = {}
    people: list[Participant] = []
    for dataset in datasets:
        for language, stims in dataset.stimuli.items():
            stimuli.setdefault(language, []).extend(stims)
        for person in dataset.participants:
            people.append(Participant(person.id, person.language, person.bold_paths,
                                      tuple(dataset.stimuli_of(person)),
                                      person.corpus or dataset.name))
    ids = [p.id for p in people]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"participants {twice} are in more than one of the corpora "
                         f"{[d.name for d in datasets]}; ids must be unique.")
    return Dataset("+".join(d.name for d in datasets), stimuli, people,
                   datasets[0].simulated)


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

    Each of the profile's corpora (:meth:`analysis.config.Profile.corpora_loaded`) is loaded
    by its source and the data sets merged (:func:`merge`). The demo world is built on first
    use; Le Petit Prince and Narratives are downloaded on first use (``lpp``: the first
    participants of each language and corpus; ``paper``: all), and a machine without internet
    gets an error saying what to run.
    """
    spec = profile if isinstance(profile, Profile) else get_profile(profile)
    n = spec.n_participants if n_participants is None else n_participants
    languages = tuple(languages or spec.languages)
    return merge(plugins.load(plugins.SOURCES, name)(spec, languages, n)
                 for name in spec.corpora_loaded())


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
    participants = []
    for p in dataset.participants:
        if p.stimuli is None:
            chosen = keep[p.language]
        else:  # a listener of its own stimuli (Narratives: each story is section 1)
            chosen = [i for i, s in enumerate(p.stimuli) if s.section in sections]
        if not chosen:
            continue
        participants.append(Participant(
            p.id, p.language, tuple(p.bold_paths[i] for i in chosen),
            None if p.stimuli is None else tuple(p.stimuli[i] for i in chosen), p.corpus))
    return Dataset(dataset.name, stimuli, participants, dataset.simulated)
