"""Who speaks each sentence of the demo's speech, and how: voices, prosody, background noise.

Real speech varies from sentence to sentence: speakers, accents, pitch, pitch range, speaking
rate, the room. Spoken by one espeak-ng voice, a phone is nearly one fixed spectral pattern,
so that anything linear in the spectrum finds it. Here each sentence is spoken by one voice of
its language, drawn among the language's espeak-ng accents (:data:`ACCENTS`) combined with
speaker variants (:data:`VARIANTS`), at a base pitch, pitch range and speaking rate drawn per
sentence; each section then gets light pink noise (:data:`SNR_DB`).

Every draw comes from a ``numpy.random.Generator`` the caller seeds, so the same seed gives the
same voices, prosody and noise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.demo.story import VOICES

# espeak-ng languages and regional accents spoken for each language of the demo (all bundled
# with espeakng-loader). The English ones differ in pronunciation and in some phones (rhotic
# vowels, reduced vowels). The bundled fr-be and fr-ch speak the story with the phones and
# sounds of fr, and Mandarin has one: there, voices differ by speaker variant and prosody only.
ACCENTS = {"en": ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-us-nyc"),
           "fr": ("fr",),
           "cn": ("cmn",)}
# Speaker variants of espeak-ng's voices/!v (formants, pitch register, roughness, echo,
# tone; klatt*: another synthesiser). Only variants whose audio is the same in every process:
# those with breath noise (f2, f3, f5, Alicia, caleb, whisper...) draw it from an unseeded
# generator; robot-like ones (robosoft*, UniRobot, croak, Demonic...) are left out.
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+m8", "+f1", "+f4",
            "+klatt", "+klatt2", "+klatt3", "+klatt4", "+Annie", "+linda", "+belinda",
            "+aunty", "+grandma", "+grandpa", "+david", "+john", "+max", "+steph", "+edward",
            "+michel", "+gustave", "+norbert", "+Andy", "+Lee")
PITCH = (20, 80)  # espeak-ng base pitch (0-100; 50 is the voice's own), uniform
PITCH_RANGE = (15, 95)  # espeak-ng pitch range (0: monotone, 50: the voice's own), uniform
RATE_FACTOR = (0.85, 1.2)  # speaking rate over the language's base rate, log-uniform
SNR_DB = 30.0  # speech power over pink-noise power, per section
DELIVERY_COLUMNS = ("voice", "pitch", "pitch_range", "rate")


def draw_deliveries(n_sentences: int, language: str, base_rate: int,
                    rng: np.random.Generator | None) -> pd.DataFrame:
    """The voice and prosody of each of ``n_sentences`` sentences.

    Parameters
    ----------
    n_sentences : sentences to speak
    language : a language of :data:`ACCENTS`
    base_rate : the language's speaking rate (espeak-ng words per minute), scaled per sentence
        by a factor in :data:`RATE_FACTOR`
    rng : the generator of every draw; None: one voice (the language's default), its own
        pitch and range, the base rate, for every sentence

    Returns
    -------
    DataFrame of n_sentences rows with columns ``voice`` (espeak-ng name, e.g.
    ``"en-gb-x-rp+m3"``), ``pitch``, ``pitch_range``, ``rate`` (int)
    """
    if language not in ACCENTS:
        raise ValueError(f"language={language!r}: voices are defined for "
                         f"{', '.join(ACCENTS)}.")
    if rng is None:
        return pd.DataFrame({"voice": [VOICES[language]] * n_sentences,
                             "pitch": 50, "pitch_range": 50, "rate": int(base_rate)},
                            index=pd.RangeIndex(n_sentences))[list(DELIVERY_COLUMNS)]
    accents = rng.choice(ACCENTS[language], n_sentences)
    variants = rng.choice(VARIANTS, n_sentences)
    factor = np.exp(rng.uniform(*np.log(RATE_FACTOR), n_sentences))
    return pd.DataFrame({
        "voice": [a + v for a, v in zip(accents, variants)],
        "pitch": rng.integers(PITCH[0], PITCH[1] + 1, n_sentences),
        "pitch_range": rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1, n_sentences),
        "rate": np.round(base_rate * factor).astype(int)})


def pink_noise(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise of unit variance: array of shape (n_samples,), float64."""
    if n_samples < 2:
        return np.zeros(n_samples)
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    freqs = np.fft.rfftfreq(n_samples)
    spectrum[1:] /= np.sqrt(freqs[1:] / freqs[1])
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n_samples)
    return noise / noise.std()


def add_noise(waveform: np.ndarray, speech_power: float, rng: np.random.Generator | None,
              snr_db: float = SNR_DB) -> np.ndarray:
    """``waveform`` with pink noise ``snr_db`` below ``speech_power``, clipped to [-1, 1].

    Parameters
    ----------
    waveform : array of shape (n_samples,)
    speech_power : mean square of the speech (without the pauses between sentences)
    rng : generator of the noise; None: ``waveform`` is returned unchanged (as float32)

    Returns
    -------
    array of shape (n_samples,), float32
    """
    if rng is None:
        return waveform.astype(np.float32)
    scale = np.sqrt(speech_power / 10 ** (snr_db / 10))
    noisy = waveform + scale * pink_noise(len(waveform), rng)
    return np.clip(noisy, -1.0, 1.0).astype(np.float32)
