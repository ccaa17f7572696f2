"""Simulated listeners: BOLD on fsaverage5 from a planted hierarchy that uses no model.

Three levels of stimulus features, each computed from the stimulus alone, drive the regions:

- acoustic: log energy in frequency bands (the spectral envelope), around Heschl's gyrus;
- phonetic: the phone class being spoken (vowel, plosive, fricative, nasal, approximant),
  along the STG (and weakly in motor cortex);
- lexical: word onsets, word length, and context integrated over the sentence, along the
  STS and the IFG.

Each level becomes regressors by exactly the code used for model features
(:func:`analysis.regressors.build_regressors`), from which the sound envelope (speech versus
silence, shared by every level) is projected out: otherwise any model that hears when speech
is on would predict every region equally well, and no hierarchy could show. The envelope
itself then drives every region with a small, explicit share (``envelope_share``). A vertex mixes its region's levels with
weights that vary smoothly over the cortex and across participants; its signal-to-noise
amplitude falls off with distance from the region's centres. Noise is smooth over the mesh
and autocorrelated in time. The noise ceiling of a vertex, the best r any model can reach,
is ``a / sqrt(1 + a**2)`` for signal amplitude ``a`` (signal and noise of unit variance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import stft

from analysis.regions import ROI_NAMES, distance_to_region, smoothing_matrix
from analysis.regressors import build_regressors

LEVELS = ("acoustic", "phonetic", "lexical")
FEATURE_RATE = 100.0  # Hz, grid of the planted feature time series

# Which levels drive each region, with their share of the region's signal.
REGION_LEVELS: dict[str, dict[str, float]] = {
    "A1+A2": {"acoustic": 1.0},
    "STG": {"phonetic": 0.8, "acoustic": 0.2},
    "STS": {"lexical": 0.7, "phonetic": 0.3},
    "IFG": {"lexical": 1.0},
    "motor": {"phonetic": 1.0},
}
# Signal amplitude (signal std / noise std) at the region's centres.
REGION_AMPLITUDE = {"A1+A2": 1.2, "STG": 1.0, "STS": 0.8, "IFG": 0.6, "motor": 0.4}

PHONE_CLASSES = ("vowel", "plosive", "fricative", "nasal", "approximant")
_CLASS_OF_LETTER = {**{c: "plosive" for c in "pbtdkgcq?"},
                    **{c: "fricative" for c in "fvTDszSZhxCGJ"},
                    **{c: "nasal" for c in "mnN"}, **{c: "approximant" for c in "lrRwjL"}}


@dataclass(frozen=True)
class ListenerParameters:
    """Knobs of the simulation (all documented in the demo-world chapter).

    Attributes
    ----------
    spread : width (mm) of each region's amplitude fall-off
    individual : share of per-participant variation in the vertex weights
    noise_smoothing : neighbour-averaging iterations of the spatial noise
    noise_autocorrelation : AR(1) coefficient of the noise over scans
    envelope_share : share of each region's signal variance driven by the sound envelope
    """

    spread: float = 8.0
    individual: float = 0.3
    noise_smoothing: int = 3
    noise_autocorrelation: float = 0.3
    envelope_share: float = 0.2


def phone_class(label: str) -> str:
    """Broad class of an espeak phone mnemonic (stress marks ignored)."""
    core = label.lstrip("',%=")
    return _CLASS_OF_LETTER.get(core[:1], "vowel")


def planted_features(waveform: np.ndarray, sample_rate: int, words: pd.DataFrame,
                     phones: pd.DataFrame) -> dict[str, np.ndarray]:
    """Feature time series of each level at ``FEATURE_RATE``.

    Returns
    -------
    dict level -> array of shape (n_frames, n_features_level), frame k centred at
    ``(k + 0.5) / FEATURE_RATE`` seconds
    """
    hop = int(sample_rate / FEATURE_RATE)
    n_frames = len(waveform) // hop
    _, _, spec = stft(waveform, fs=sample_rate, nperseg=4 * hop, noverlap=3 * hop,
                      boundary=None, padded=True)
    power = np.abs(spec[:, :n_frames]) ** 2
    freqs = np.linspace(0, sample_rate / 2, power.shape[0])
    edges = np.geomspace(100, 7000, 9)
    bands = np.stack([power[(freqs >= lo) & (freqs < hi)].mean(axis=0)
                      for lo, hi in zip(edges[:-1], edges[1:])], axis=1)
    acoustic = np.log(bands + 1e-8)
    acoustic = np.pad(acoustic, ((0, n_frames - len(acoustic)), (0, 0)), mode="edge")

    times = (np.arange(n_frames) + 0.5) / FEATURE_RATE
    phonetic = np.zeros((n_frames, len(PHONE_CLASSES)))
    for row in phones.itertuples():
        k = PHONE_CLASSES.index(phone_class(row.phone))
        phonetic[(times >= row.onset) & (times < row.offset), k] = 1.0

    lexical = np.zeros((n_frames, 3))
    onset_frames = np.clip((words["onset"].to_numpy() * FEATURE_RATE).astype(int), 0, n_frames - 1)
    lexical[onset_frames, 0] = 1.0
    lexical[onset_frames, 1] = words["word"].str.len().to_numpy()
    if "sentence" in words:
        position = words.groupby("sentence").cumcount().to_numpy() + 1.0
    else:
        position = np.arange(1, len(words) + 1, dtype=float)
    for start, stop, value in zip(onset_frames, np.append(onset_frames[1:], n_frames), position):
        lexical[start:stop, 2] = value  # context: words integrated so far in the sentence
    envelope = np.log(power.sum(axis=0)[:n_frames, None] + 1e-8)
    envelope = np.pad(envelope, ((0, n_frames - len(envelope)), (0, 0)), mode="edge")
    return {"acoustic": acoustic, "phonetic": phonetic, "lexical": lexical,
            "envelope": envelope}


def level_regressors(features: list[dict[str, np.ndarray]], scan_times: list[np.ndarray]
                     ) -> dict[str, np.ndarray]:
    """Regressors of each level, sections stacked, with the sound envelope projected out,
    and the envelope itself: dict name -> array of shape (n_scans_total, n_features)."""
    stacked = {}
    for level in (*LEVELS, "envelope"):
        runs = []
        for feats, frame_times in zip(features, scan_times):
            times = (np.arange(len(feats[level])) + 0.5) / FEATURE_RATE
            runs.append(build_regressors(feats[level], times, frame_times))
        stacked[level] = np.vstack(runs).astype(np.float64)
    envelope = stacked.pop("envelope")
    design = np.hstack([envelope, np.ones_like(envelope)])
    out = {level: regs - design @ np.linalg.lstsq(design, regs, rcond=None)[0]
           for level, regs in stacked.items()}
    return {**out, "envelope": envelope}


def simulate_listeners(regressors: dict[str, np.ndarray], section_lengths: list[int],
                       n_participants: int, seed: int,
                       params: ListenerParameters = ListenerParameters()):
    """BOLD of ``n_participants`` simulated listeners.

    Parameters
    ----------
    regressors : dict level (and ``"envelope"``) -> array of shape (n_scans_total, n_features)
    section_lengths : scans of each section (they sum to n_scans_total)

    Returns
    -------
    bold : list (participants) of lists (sections) of arrays of shape (n_scans, 20484), float32
    truth : dict with ``amplitude`` (n_participants, 20484), ``ceiling`` (n_participants, 20484),
        ``level_share`` (n_levels, 20484) and ``region`` (20484,) (index into ROI_NAMES, -1 none)
    """
    rng = np.random.default_rng(seed)
    smooth = smoothing_matrix(1)
    n_vertices = smooth.shape[0]
    n_scans = sum(section_lengths)

    amplitude = np.zeros(n_vertices)
    share = np.zeros((len(LEVELS), n_vertices))
    region = np.full(n_vertices, -1)
    for r, name in enumerate(ROI_NAMES):
        falloff = np.exp(-distance_to_region(name) ** 2 / (2 * params.spread ** 2))
        stronger = REGION_AMPLITUDE[name] * falloff > amplitude
        amplitude = np.where(stronger, REGION_AMPLITUDE[name] * falloff, amplitude)
        region[stronger] = -1
        region[stronger & (falloff > np.exp(-0.5))] = r
        share[:, stronger] = 0.0
        for level, weight in REGION_LEVELS[name].items():
            share[LEVELS.index(level), stronger] = weight

    def smooth_field(shape, n_iter=20):
        field = rng.standard_normal(shape)
        for _ in range(n_iter):
            field = smooth @ field
        return field / field.std(axis=0, keepdims=True)

    shared = {lv: smooth_field((n_vertices, regressors[lv].shape[1])) for lv in LEVELS}
    bold, amplitudes = [], []
    for _ in range(n_participants):
        signal = np.zeros((n_scans, n_vertices))
        for i, level in enumerate(LEVELS):
            own = smooth_field((n_vertices, regressors[level].shape[1]))
            weights = (1 - params.individual) * shared[level] + params.individual * own
            part = regressors[level] @ weights.T
            part /= part.std(axis=0, keepdims=True) + 1e-12
            signal += np.sqrt(share[i]) * part
        signal /= signal.std(axis=0, keepdims=True) + 1e-12
        envelope = regressors["envelope"] / regressors["envelope"].std()
        signal = (np.sqrt(1 - params.envelope_share) * signal
                  + np.sqrt(params.envelope_share) * envelope)
        amp = amplitude * np.exp(0.15 * rng.standard_normal())
        noise = _noise(rng, smooth, section_lengths, n_vertices, params)
        data = amp * signal + noise
        bold.append(np.split(data.astype(np.float32), np.cumsum(section_lengths)[:-1]))
        amplitudes.append(amp)
    amplitudes = np.stack(amplitudes)
    truth = {"amplitude": amplitudes, "ceiling": amplitudes / np.sqrt(1 + amplitudes ** 2),
             "level_share": share, "region": region}
    return bold, truth


def _noise(rng, smooth, section_lengths, n_vertices, params: ListenerParameters) -> np.ndarray:
    """Unit-variance noise, smooth over the mesh, AR(1) in time within each section."""
    runs = []
    for n in section_lengths:
        noise = rng.standard_normal((n, n_vertices))
        for _ in range(params.noise_smoothing):
            noise = (smooth @ noise.T).T
        rho = params.noise_autocorrelation
        for t in range(1, n):
            noise[t] = rho * noise[t - 1] + np.sqrt(1 - rho ** 2) * noise[t]
        runs.append(noise / noise.std(axis=0, keepdims=True))
    return np.vstack(runs)
