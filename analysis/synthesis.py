"""Speech synthesis with espeak-ng through ctypes, with word and phone timings.

Used by the ABX stimuli of Figure 4B under every profile, and by the demo world's story.

The engine and its voices come from the PyPI package ``espeakng-loader``; this module calls
the shared library directly (``espeak_Synth`` in synchronous mode) and collects the audio
and the engine's WORD and PHONEME events, whose ``audio_position`` gives onsets in ms.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

from analysis.framing import SAMPLE_RATE

log = logging.getLogger(__name__)


# espeak_AUDIO_OUTPUT / options / event types / flags, from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_EVENT_WORD, _EVENT_SENTENCE, _EVENT_END, _EVENT_MSG_TERMINATED, _EVENT_PHONEME = 1, 2, 5, 6, 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # espeakPHONEMES: text between [[ and ]] is read as phoneme mnemonics
_RATE, _PITCH, _RANGE = 1, 3, 4  # espeak_PARAMETER: espeakRATE, espeakPITCH, espeakRANGE


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech.

    Attributes
    ----------
    waveform : array of shape (n_samples,), float32 in [-1, 1] at ``sample_rate``
    sample_rate : int
    words : DataFrame with columns ``word, onset, offset`` (seconds)
    phones : DataFrame with columns ``phone, onset, offset`` (seconds; espeak-ng's phoneme
        mnemonics, e.g. ``'a``, ``S;``, with stress marks)
    """

    waveform: np.ndarray
    sample_rate: int
    words: pd.DataFrame
    phones: pd.DataFrame


class _Engine:
    """One process-wide espeak-ng instance (the library keeps global state)."""

    _lock = threading.Lock()
    _lib = None
    _native_sr = 0

    @classmethod
    def library(cls):
        if cls._lib is None:
            try:
                import espeakng_loader
            except ImportError as exc:  # pragma: no cover - dependency is pinned
                raise ImportError("espeak-ng is needed for the demo world: pip install "
                                  "espeakng-loader") from exc
            lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
            lib.espeak_Initialize.restype = ctypes.c_int
            data = espeakng_loader.get_data_path().encode()
            sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, ctypes.c_char_p(data),
                                       _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT)
            if sr <= 0:
                raise RuntimeError(f"espeak-ng failed to initialise with data at {data!r}")
            cls._lib, cls._native_sr = lib, sr
        return cls._lib


def synthesize(text: str, voice: str = "en", rate: int = 160,
               words: list[str] | None = None, phonemes: bool = False, pitch: int = 50,
               pitch_range: int = 50) -> Utterance:
    """Speak ``text`` with espeak-ng and return audio at 16 kHz with word and phone timings.

    Parameters
    ----------
    text : the text to speak (UTF-8; several sentences are fine).
    voice : an espeak-ng voice name, e.g. ``"en"``, ``"fr"``, ``"cmn"``, optionally with a
        variant, e.g. ``"en-gb-x-rp+m3"``.
    rate : speaking rate in words per minute (espeak-ng accepts 80 to 450).
    pitch, pitch_range : espeak-ng's base pitch and pitch range, 0 to 100 (50: the voice's
        own), set before each utterance (the engine would otherwise keep the last ones).
    words : the words of ``text`` in order, for languages written without spaces (Mandarin),
        whose words espeak-ng does not segment; each must occur in ``text`` after the previous
        one. The word table then has one row per given word, timed by
        :func:`align_words`. None: the words are espeak-ng's WORD events.
    phonemes : read text between ``[[`` and ``]]`` as espeak-ng phoneme mnemonics (the names
        its PHONEME events report), e.g. ``"[[a'ba]]"``.

    espeak-ng keeps some state from one utterance to the next (its pitch flutter), so the
    same text spoken twice in one process can differ slightly; for reproducible audio, speak
    a fixed sequence of texts in a fresh process (as :mod:`analysis.demo.world` does).
    """
    if not text.strip():
        raise ValueError("synthesize: `text` is empty; give at least one word to speak.")
    for name, value in (("pitch", pitch), ("pitch_range", pitch_range)):
        if not 0 <= value <= 100:
            raise ValueError(f"synthesize: {name}={value!r} is outside espeak-ng's 0 to 100.")
    with _Engine._lock:
        lib = _Engine.library()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"synthesize: espeak-ng has no voice {voice!r}; try 'en', 'fr' "
                             "or 'cmn'.")
        for parameter, value, name in ((_RATE, rate, "rate"), (_PITCH, pitch, "pitch"),
                                       (_RANGE, pitch_range, "pitch_range")):
            if lib.espeak_SetParameter(parameter, int(value), 0) != 0:
                raise ValueError(f"synthesize: espeak-ng refused {name}={value!r}.")
        chunks: list[np.ndarray] = []
        events: list[tuple[int, int, int, int, bytes]] = []

        def on_audio(wav, n_samples, event_ptr):
            if n_samples > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
            i = 0
            while event_ptr[i].type != 0:  # espeakEVENT_LIST_TERMINATED
                ev = event_ptr[i]
                if ev.type in (_EVENT_WORD, _EVENT_PHONEME):
                    label = bytes(ev.id.string).split(b"\0")[0] if ev.type == _EVENT_PHONEME else b""
                    events.append((ev.type, ev.audio_position, ev.text_position, ev.length, label))
                i += 1
            return 0

        callback = _CALLBACK(on_audio)
        lib.espeak_SetSynthCallback(callback)
        raw = text.encode("utf-8")
        buf = ctypes.create_string_buffer(raw)
        flags = _CHARS_UTF8 | (_PHONEMES if phonemes else 0)
        status = lib.espeak_Synth(buf, len(raw) + 1, 0, _POS_CHARACTER, 0, flags, None, None)
        if status != 0:
            raise RuntimeError(f"espeak-ng failed to synthesise (status {status}).")
        lib.espeak_Synchronize()
        native_sr = _Engine._native_sr

    audio = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    duration = len(audio) / native_sr
    waveform = resample_poly(audio, SAMPLE_RATE, native_sr).astype(np.float32)
    phone_events = [(pos, tp, lab.decode("utf-8", "replace"))
                    for kind, pos, tp, _, lab in events if kind == _EVENT_PHONEME and lab]
    word_events = [(pos, tp, ln) for kind, pos, tp, ln, _ in events if kind == _EVENT_WORD]
    if words is None:
        # text_position counts characters from 1, not bytes
        words_table = _intervals([(pos, text[tp - 1: tp - 1 + ln])
                                  for pos, tp, ln in word_events], duration)
    else:
        onsets = align_words(text, words, word_events, phone_events)
        words_table = _intervals(list(zip((1000 * onsets).round().astype(int), words)),
                                 duration)
    phones = _intervals([(pos, lab) for pos, _, lab in phone_events
                         if not lab.startswith("_")], duration)
    return Utterance(waveform, SAMPLE_RATE, words_table.rename(columns={"label": "word"}),
                     phones.rename(columns={"label": "phone"}))


def align_words(text: str, words: list[str], word_events: list[tuple[int, int, int]],
                phone_events: list[tuple[int, int, str]]) -> np.ndarray:
    """Onsets (s) of ``words`` in ``text`` from espeak-ng's events.

    espeak-ng's WORD events give the audio position of the first character of each of *its*
    words, which are not always the text's: in English it joins some unstressed words to
    their neighbour ("the far" is one event), and in Mandarin it groups characters by its own
    dictionary. Each phoneme event carries its word event's character position. So:

    - a word that starts where an event starts takes that event's onset;
    - within an event, each CJK character is one syllable: syllables are cut at vowel nuclei
      (a consonant between two nuclei starts the second syllable, except the coda ``N``; of
      two consonants, the first is the coda); when the nuclei do not match the characters,
      the event's time is shared evenly among its characters;
    - any other word is placed by interpolating over character positions, then moved to the
      nearest phoneme onset after the previous word's.

    Parameters
    ----------
    text : the spoken text
    words : its words in order, each a substring of ``text``
    word_events : (audio position in ms, character position from 1, length) per WORD event
    phone_events : (audio position in ms, character position from 1, label) per PHONEME event

    Returns
    -------
    array of shape (len(words),): onsets in seconds, non-decreasing
    """
    spans, start = [], 0
    for word in words:
        at = text.find(word, start)
        if at < 0:
            raise ValueError(f"words: {word!r} is not in the text after position {start} "
                             f"({text!r}); give the words of the text in order.")
        spans.append(at)
        start = at + len(word)
    events = sorted((tp - 1, pos) for pos, tp, _ in word_events)
    spoken = [(p, tp - 1, lab) for p, tp, lab in phone_events if not lab.startswith("_")]
    char_onset = np.full(len(text), np.nan)
    for i, (first, pos) in enumerate(events):
        char_onset[first] = pos
        stop = events[i + 1][0] if i + 1 < len(events) else len(text)
        chars = [c for c in range(first, stop) if _is_syllable(text[c])]
        if not chars:
            continue
        phones = [(p, lab) for p, tp, lab in spoken if tp == first]
        starts = _syllable_onsets(phones, len(chars))
        if starts is None:
            end = events[i + 1][1] if i + 1 < len(events) else (phones[-1][0] if phones else pos)
            starts = list(np.linspace(pos, max(end, pos), len(chars), endpoint=False))
        starts[0] = pos
        char_onset[chars] = starts
    known = np.flatnonzero(~np.isnan(char_onset))
    if len(known) == 0:
        return np.zeros(len(words))
    filled = np.interp(np.arange(len(text)), known, char_onset[known])
    phone_onsets = np.array(sorted(p for p, _, _ in spoken), dtype=float)
    onsets, previous = [], -np.inf
    for at in spans:
        onset = filled[at]
        if np.isnan(char_onset[at]) and len(phone_onsets):
            later = phone_onsets[phone_onsets > previous]
            if len(later):
                onset = later[np.abs(later - onset).argmin()]
        onset = max(onset, previous if np.isfinite(previous) else onset)
        onsets.append(onset)
        previous = onset
    return np.asarray(onsets) / 1000.0


def _is_syllable(char: str) -> bool:
    """Whether a character is a CJK ideograph (one spoken syllable)."""
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _is_vowel(label: str) -> bool:
    core = label.lstrip("',%=")
    return bool(core) and core[0] in "aeiouyAEIOUVY@03"


def _syllable_onsets(phones: list[tuple[int, str]], n_syllables: int) -> list[float] | None:
    """Onset (ms) of each syllable of one espeak word, or None if the nuclei do not match."""
    nuclei = [i for i, (_, lab) in enumerate(phones) if _is_vowel(lab)]
    if len(nuclei) != n_syllables:
        return None
    starts = [float(phones[0][0])]
    for prev, nxt in zip(nuclei[:-1], nuclei[1:]):
        between = list(range(prev + 1, nxt))
        if len(between) >= 2:
            first = between[1]
        elif len(between) == 1 and phones[between[0]][1] != "N":
            first = between[0]
        else:
            first = nxt
        starts.append(float(phones[first][0]))
    return starts


def _intervals(onsets_ms: list[tuple[int, str]], duration: float) -> pd.DataFrame:
    """Turn (onset in ms, label) events into a table of labelled intervals (seconds)."""
    table = pd.DataFrame(onsets_ms, columns=["onset", "label"])
    table["onset"] = table["onset"] / 1000.0
    table = table[table["label"].str.strip() != ""].sort_values("onset", kind="stable")
    table["offset"] = np.append(table["onset"].to_numpy()[1:], duration)
    return table[["label", "onset", "offset"]].reset_index(drop=True)
