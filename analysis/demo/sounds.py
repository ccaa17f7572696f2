"""Environmental sounds the project synthesises itself, for training a non-speech model.

Each clip is a short scene: a background texture (coloured or band-passed noise, rain-like
crackle, wind) with a few foreground events on top (steady or gliding tones, harmonic
complexes, chirps, impacts and clicks with exponential decays, bird- or frog-like frequency-
modulated calls). Every draw comes from one ``numpy.random.Generator`` seeded per clip, so a
clip depends only on ``(seed, index)`` and the corpus is the same on every machine. Clips are
16 kHz mono float32, peak-normalised into [-1, 1]; none contains speech.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy import signal

from analysis.framing import SAMPLE_RATE

log = logging.getLogger(__name__)



def _envelope(rng: np.random.Generator, n: int, attack: float, release: float) -> np.ndarray:
    """Linear attack, sustain, linear release: array of shape (n,) in [0, 1]."""
    sr = SAMPLE_RATE
    a, r = max(1, int(attack * sr)), max(1, int(release * sr))
    env = np.ones(n)
    env[:min(a, n)] = np.linspace(0, 1, min(a, n))
    env[max(0, n - r):] *= np.linspace(1, 0, n - max(0, n - r))
    return env


def coloured_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise with a power spectrum 1/f^beta (beta in [0, 2]: white to brown), random band."""
    beta = rng.uniform(0, 2)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    spectrum *= freqs ** (-beta / 2)
    low = rng.uniform(20, 1500)
    high = rng.uniform(low * 1.5, 7900)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n)


def rain(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rain-like crackle: many short filtered drops at Poisson times over soft noise."""
    out = 0.05 * rng.standard_normal(n)
    n_drops = rng.poisson(rng.uniform(50, 400) * n / SAMPLE_RATE)
    drop_len = int(0.008 * SAMPLE_RATE)
    t = np.arange(drop_len) / SAMPLE_RATE
    for start in rng.integers(0, max(1, n - drop_len), n_drops):
        freq = rng.uniform(1500, 7000)
        out[start:start + drop_len] += (rng.uniform(0.2, 1) * np.sin(2 * np.pi * freq * t)
                                        * np.exp(-t / rng.uniform(0.001, 0.004)))
    b, a = signal.butter(2, rng.uniform(2000, 7500), fs=SAMPLE_RATE)
    return signal.lfilter(b, a, out)


def wind(rng: np.random.Generator, n: int) -> np.ndarray:
    """Wind: band-passed noise whose centre frequency and level drift slowly."""
    noise = rng.standard_normal(n)
    centre = rng.uniform(200, 1200)
    b, a = signal.butter(2, [centre / 1.6, centre * 1.6], btype="band", fs=SAMPLE_RATE)
    slow = signal.lfilter(*signal.butter(1, rng.uniform(0.3, 2), fs=SAMPLE_RATE),
                          rng.standard_normal(n))
    gain = 1 + 2 * np.abs(slow) / (np.abs(slow).max() + 1e-9)
    return signal.lfilter(b, a, noise) * gain


def tone(rng: np.random.Generator, n: int) -> np.ndarray:
    """A pure tone, steady or gliding, with vibrato sometimes."""
    t = np.arange(n) / SAMPLE_RATE
    f0 = rng.uniform(150, 4000)
    f1 = f0 * rng.choice([1.0, rng.uniform(0.5, 2.0)])
    freq = np.linspace(f0, f1, n) * (1 + rng.choice([0, 0.02]) * np.sin(2 * np.pi * 5 * t))
    return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * _envelope(rng, n, 0.01, 0.05)


def harmonic(rng: np.random.Generator, n: int) -> np.ndarray:
    """A harmonic complex (a horn, a bell-less organ pipe): f0 with decaying harmonics."""
    t = np.arange(n) / SAMPLE_RATE
    f0 = rng.uniform(60, 800)
    tilt = rng.uniform(0.5, 2.0)
    out = np.zeros(n)
    for k in range(1, int(7900 // f0) + 1):
        out += k ** -tilt * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    return out * _envelope(rng, n, rng.uniform(0.005, 0.2), rng.uniform(0.02, 0.3))


def chirp(rng: np.random.Generator, n: int) -> np.ndarray:
    """A linear or logarithmic frequency sweep, up or down."""
    t = np.arange(n) / SAMPLE_RATE
    f0, f1 = rng.uniform(100, 7000, 2)
    method = rng.choice(["linear", "logarithmic"])
    return signal.chirp(t, f0, t[-1], f1, method=method) * _envelope(rng, n, 0.005, 0.02)


def impact(rng: np.random.Generator, n: int) -> np.ndarray:
    """A knock or click: a noise burst through a few damped resonances."""
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros(n)
    for _ in range(rng.integers(1, 4)):
        freq = rng.uniform(80, 5000)
        out += rng.uniform(0.3, 1) * np.sin(2 * np.pi * freq * t) * np.exp(
            -t / rng.uniform(0.01, 0.3))
    burst = min(n, int(0.003 * SAMPLE_RATE))
    out[:burst] += rng.standard_normal(burst)
    return out


def call(rng: np.random.Generator, n: int) -> np.ndarray:
    """An animal-like call: a carrier whose frequency is modulated fast (bird trill) or slowly
    (frog croak), with an amplitude pulse train."""
    t = np.arange(n) / SAMPLE_RATE
    carrier = rng.uniform(300, 6000)
    fm_rate, depth = rng.uniform(2, 40), rng.uniform(0.05, 0.4)
    freq = carrier * (1 + depth * np.sin(2 * np.pi * fm_rate * t))
    pulses = 0.5 * (1 + np.sign(np.sin(2 * np.pi * rng.uniform(3, 25) * t)))
    am = signal.lfilter(*signal.butter(1, 80, fs=SAMPLE_RATE), pulses)
    return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * am * _envelope(rng, n, 0.01,
                                                                              0.05)


BACKGROUNDS: dict[str, Callable] = {"coloured_noise": coloured_noise, "rain": rain,
                                    "wind": wind}
EVENTS: dict[str, Callable] = {"tone": tone, "harmonic": harmonic, "chirp": chirp,
                               "impact": impact, "call": call}


def clip(seed: int, index: int, duration: float = 4.0) -> np.ndarray:
    """One scene: a background texture and 0 to 4 events at random times and levels.

    Parameters
    ----------
    seed : seed of the corpus
    index : clip number (each clip has its own generator, seeded by ``(seed, index)``)
    duration : seconds

    Returns
    -------
    array of shape (round(duration * 16000),), float32, peak in [0.3, 0.9]
    """
    if duration <= 0:
        raise ValueError(f"duration={duration!r} must be positive (seconds).")
    rng = np.random.default_rng([seed, index])
    n = int(round(duration * SAMPLE_RATE))
    background = BACKGROUNDS[rng.choice(sorted(BACKGROUNDS))](rng, n)
    out = background / (np.abs(background).max() + 1e-9) * rng.uniform(0.05, 1.0)
    for _ in range(rng.integers(0, 5)):
        length = int(rng.uniform(0.05, min(1.5, duration)) * SAMPLE_RATE)
        start = rng.integers(0, max(1, n - length))
        event = EVENTS[rng.choice(sorted(EVENTS))](rng, min(length, n - start))
        out[start:start + len(event)] += (event / (np.abs(event).max() + 1e-9)
                                          * rng.uniform(0.2, 1.0))
    return (out / (np.abs(out).max() + 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)


def corpus(total_seconds: float, seed: int = 0, clip_seconds: float = 4.0) -> list[np.ndarray]:
    """Clips adding up to ``total_seconds`` of non-speech audio.

    Returns
    -------
    list of arrays of shape (clip_seconds * 16000,), float32 in [-1, 1]
    """
    if total_seconds < clip_seconds:
        raise ValueError(f"total_seconds={total_seconds!r} must be at least one clip "
                         f"({clip_seconds} s).")
    n_clips = int(total_seconds // clip_seconds)
    log.info("synthesising %d non-speech clips of %.1f s", n_clips, clip_seconds)
    return [clip(seed, i, clip_seconds) for i in range(n_clips)]
