"""Speech synthesis with espeak-ng through ctypes, with word and phone timings.

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

log = logging.getLogger(__name__)

TARGET_SR = 16_000

# espeak_AUDIO_OUTPUT / options / event types / flags, from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_EVENT_WORD, _EVENT_SENTENCE, _EVENT_END, _EVENT_MSG_TERMINATED, _EVENT_PHONEME = 1, 2, 5, 6, 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # espeakPHONEMES: text between [[ and ]] is read as phoneme mnemonics


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
    phones : DataFrame with columns ``phone, onset, offset`` (seconds, IPA labels)
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
               phonemes: bool = False) -> Utterance:
    """Speak ``text`` with espeak-ng and return audio at 16 kHz with word and phone timings.

    Parameters
    ----------
    text : the text to speak (UTF-8; several sentences are fine).
    voice : an espeak-ng voice name, e.g. ``"en"``, ``"fr"``, ``"cmn"``.
    rate : speaking rate in words per minute.
    phonemes : read text between ``[[`` and ``]]`` as espeak-ng phoneme mnemonics (the names
        its PHONEME events report), e.g. ``"[[a'ba]]"``.

    espeak-ng keeps some state from one utterance to the next (its pitch flutter), so the
    same text spoken twice in one process can differ slightly; for reproducible audio, speak
    a fixed sequence of texts in a fresh process (as :mod:`analysis.demo.world` does).
    """
    if not text.strip():
        raise ValueError("synthesize: `text` is empty; give at least one word to speak.")
    with _Engine._lock:
        lib = _Engine.library()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"synthesize: espeak-ng has no voice {voice!r}; try 'en', 'fr' "
                             "or 'cmn'.")
        lib.espeak_SetParameter(1, rate, 0)  # espeakRATE
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
    waveform = resample_poly(audio, TARGET_SR, native_sr).astype(np.float32)
    # text_position counts characters from 1, not bytes
    words = _intervals([(pos, text[tp - 1: tp - 1 + ln])
                        for kind, pos, tp, ln, _ in events if kind == _EVENT_WORD], duration)
    phones = _intervals([(pos, lab.decode("utf-8", "replace"))
                         for kind, pos, _, _, lab in events
                         if kind == _EVENT_PHONEME and lab and not lab.startswith(b"_")],
                        duration)
    return Utterance(waveform, TARGET_SR, words.rename(columns={"label": "word"}),
                     phones.rename(columns={"label": "phone"}))


def _intervals(onsets_ms: list[tuple[int, str]], duration: float) -> pd.DataFrame:
    """Turn (onset in ms, label) events into a table of labelled intervals (seconds)."""
    table = pd.DataFrame(onsets_ms, columns=["onset", "label"])
    table["onset"] = table["onset"] / 1000.0
    table = table[table["label"].str.strip() != ""].sort_values("onset", kind="stable")
    table["offset"] = np.append(table["onset"].to_numpy()[1:], duration)
    return table[["label", "onset", "offset"]].reset_index(drop=True)
