"""Simulated listeners: BOLD on fsaverage5 from a planted hierarchy that uses no model.

Four levels of stimulus features, each computed from the stimulus and its timing tables
alone, drive the regions:

- acoustic: log energy in eight frequency bands (the spectral envelope), around Heschl's
  gyrus (A1+A2);
- phonetic: which phone of the listener's own language is being spoken (one column per phone
  of that language's inventory, :func:`phone_categories`), along the STG and in motor cortex;
- lexical: word onsets, word length and the word's identity (a fixed random embedding of the
  word's form), along the STS;
- contextual: the same embeddings averaged over the sentence so far (context integrated
  word by word), along the STS and in the IFG.

Each level becomes regressors by exactly the code used for model features
(:func:`analysis.regressors.build_regressors`); the sound envelope (speech versus silence,
shared by every level) is projected out, otherwise anything that hears when speech is on
would predict every region equally well and no hierarchy could show. Each level then drives
the cortex through its first ``n_components`` principal components (the *planted
regressors*), and the envelope itself drives every region with a small explicit share. A
vertex mixes its region's levels with weights that vary smoothly over the cortex and across
participants; its signal amplitude ``a`` (signal std over noise std) falls off with distance
from the region's centres and is exactly 0 beyond ``cutoff`` widths (noise-only vertices).
Noise is smooth over the mesh and AR(1) in time.

Signal and noise both have unit variance over the scans, and the signal is a linear function
of the planted regressors, so the noise ceiling of a vertex, the correlation between its
BOLD and its planted signal, is ``a / sqrt(1 + a**2)`` up to chance (the one measured on the
simulated scans is saved too): what a model that knows the planted regressors and their
weights reaches. Few planted dimensions keep the cost of learning those
weights from a 16-minute run small (see :mod:`analysis.demo.oracle`).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import stft

from analysis.framing import phone_label
from analysis.regions import ROI_NAMES, distance_to_region, smoothing_matrix
from analysis.regressors import build_regressors, reduce_components

LEVELS = ("acoustic", "phonetic", "lexical", "contextual")
FEATURE_RATE = 100.0  # Hz, grid of the planted feature time series
EMBEDDING_SIZE = 8  # dimensions of the random word embeddings

# Which levels drive each region, with their share of the region's signal variance.
REGION_LEVELS: dict[str, dict[str, float]] = {
    "A1+A2": {"acoustic": 0.9, "phonetic": 0.1},
    "STG": {"phonetic": 0.7, "acoustic": 0.3},
    "STS": {"lexical": 0.5, "contextual": 0.3, "phonetic": 0.2},
    "IFG": {"contextual": 0.7, "lexical": 0.3},
    "motor": {"phonetic": 1.0},
}
# Signal amplitude (signal std / noise std) at the region's centres.
REGION_AMPLITUDE = {"A1+A2": 0.85, "STG": 0.75, "STS": 0.7, "IFG": 0.6, "motor": 0.45}

PHONE_CLASSES = ("vowel", "plosive", "fricative", "nasal", "approximant")
_CLASS_OF_LETTER = {**{c: "plosive" for c in "pbtdkgcq?"},
                    **{c: "fricative" for c in "fvTDszSZhxCGJX"},
                    **{c: "nasal" for c in "mnN"}, **{c: "approximant" for c in "lrRwjL"}}
MIN_PHONE_SHARE = 0.005  # phones rarer than this in a language count as their broad class


@dataclass(frozen=True)
class ListenerParameters:
    """Knobs of the simulation (all documented in the demo-world chapter).

    Attributes
    ----------
    spread : width (mm) of each region's amplitude fall-off
    cutoff : amplitude is 0 beyond this many widths from every region (noise-only vertices)
    individual : share of per-participant variation in the vertex weights
    amplitude_jitter : std of each participant's log amplitude factor
    noise_smoothing : neighbour-averaging iterations of the spatial noise
    noise_autocorrelation : AR(1) coefficient of the noise over scans
    envelope_share : share of each region's signal variance driven by the sound envelope
    n_components : planted regressors of each level of ``LEVELS`` (principal components of
        its regressors): few, so that learning their weights from a 16-minute run costs an
        encoding model little; the phonetic level, where the listener's language matters,
        gets two
    """

    spread: float = 8.0
    cutoff: float = 3.0
    individual: float = 0.3
    amplitude_jitter: float = 0.15
    noise_smoothing: int = 3
    noise_autocorrelation: float = 0.3
    envelope_share: float = 0.2
    n_components: tuple[int, ...] = (1, 2, 1, 1)


def phone_class(label: str) -> str:
    """Broad class of an espeak phone mnemonic (stress marks ignored)."""
    return _CLASS_OF_LETTER.get(phone_label(label)[:1], "vowel")


def phone_categories(phone_tables: list[pd.DataFrame]) -> tuple[str, ...]:
    """A language's phone categories, from its phone tables: every phone making up at least
    ``MIN_PHONE_SHARE`` of its phones (stress ignored), sorted, then the broad classes that
    collect the rarer ones."""
    counts = Counter(phone_label(p) for table in phone_tables for p in table["phone"])
    total = sum(counts.values())
    if not total:
        raise ValueError("phone_categories: the phone tables are empty.")
    common = sorted(p for p, n in counts.items() if n >= MIN_PHONE_SHARE * total)
    return (*common, *(f"<{c}>" for c in PHONE_CLASSES))


def _phone_column(label: str, inventory: tuple[str, ...]) -> int:
    core = phone_label(label)
    return inventory.index(core) if core in inventory else inventory.index(
        f"<{phone_class(label)}>")


def word_embedding(word: str, size: int = EMBEDDING_SIZE) -> np.ndarray:
    """A fixed random vector of shape (size,) for a word's lower-cased form (seeded by its
    SHA-256, so the same word always gets the same vector, in any process)."""
    seed = int.from_bytes(hashlib.sha256(word.lower().encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(size)


def planted_features(waveform: np.ndarray, sample_rate: int, words: pd.DataFrame,
                     phones: pd.DataFrame, inventory: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Feature time series of each level, and the sound envelope, at ``FEATURE_RATE``.

    Parameters
    ----------
    waveform : array of shape (n_samples,)
    words : table with columns ``word, onset, offset`` (and ``sentence``, when known)
    phones : table with columns ``phone, onset, offset``
    inventory : the listener's phone categories (:func:`phone_categories`)

    Returns
    -------
    dict level -> array of shape (n_frames, n_features_level), frame k centred at
    ``(k + 0.5) / FEATURE_RATE`` seconds; ``"envelope"`` has shape (n_frames, 1)
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
    acoustic = np.pad(np.log(bands + 1e-8), ((0, n_frames - len(bands)), (0, 0)), mode="edge")
    envelope = np.log(power.sum(axis=0)[:n_frames, None] + 1e-8)
    envelope = np.pad(envelope, ((0, n_frames - len(envelope)), (0, 0)), mode="edge")

    times = (np.arange(n_frames) + 0.5) / FEATURE_RATE
    phonetic = np.zeros((n_frames, len(inventory)))
    for row in phones.itertuples():
        phonetic[(times >= row.onset) & (times < row.offset), _phone_column(row.phone,
                                                                            inventory)] = 1.0

    lexical = np.zeros((n_frames, 2 + EMBEDDING_SIZE))
    contextual = np.zeros((n_frames, EMBEDDING_SIZE))
    sentence = (words["sentence"].to_numpy() if "sentence" in words
                else np.zeros(len(words), dtype=int))
    context, previous = np.zeros(EMBEDDING_SIZE), None
    for i, row in enumerate(words.itertuples()):
        span = (times >= row.onset) & (times < row.offset)
        onset = min(int(row.onset * FEATURE_RATE), n_frames - 1)
        vector = word_embedding(str(row.word))
        if sentence[i] != previous:
            context, count, previous = np.zeros(EMBEDDING_SIZE), 0, sentence[i]
        count += 1
        context = context + (vector - context) / count  # mean of the sentence's words so far
        lexical[onset, 0] = 1.0
        lexical[span, 1] = len(str(row.word))
        lexical[span, 2:] = vector
        contextual[span] = context
    return {"acoustic": acoustic, "phonetic": phonetic, "lexical": lexical,
            "contextual": contextual, "envelope": envelope}


def level_regressors(features: list[dict[str, np.ndarray]], scan_times: list[np.ndarray],
                     n_components: tuple[int, ...] = (1, 2, 1, 1)) -> dict[str, np.ndarray]:
    """The planted regressors: for each level, the first principal components of its
    regressors (sections stacked, sound envelope projected out), and the envelope itself.

    Parameters
    ----------
    features : per section, :func:`planted_features`'s output
    scan_times : per section, scan times (s) of shape (n_scans_section,)
    n_components : components kept for each level of ``LEVELS``

    Returns
    -------
    dict name -> array of shape (n_scans_total, n_components_level) (``"envelope"``: 1 column),
    float64, each column of unit variance
    """
    stacked = {}
    for level in (*LEVELS, "envelope"):
        runs = []
        for feats, frame_times in zip(features, scan_times):
            times = (np.arange(len(feats[level])) + 0.5) / FEATURE_RATE
            runs.append(build_regressors(feats[level], times, frame_times))
        stacked[level] = np.vstack(runs).astype(np.float64)
    if len(n_components) != len(LEVELS):
        raise ValueError(f"n_components={n_components}: give one count per level of {LEVELS}.")
    envelope = stacked.pop("envelope")
    design = np.hstack([envelope, np.ones_like(envelope)])
    out = {}
    for level, regs in stacked.items():
        residual = regs - design @ np.linalg.lstsq(design, regs, rcond=None)[0]
        components = reduce_components(residual, int(n_components[LEVELS.index(level)]))
        components = components.astype(np.float64)
        out[level] = components / components.std(axis=0)
    return {**out, "envelope": envelope / envelope.std()}


def planted_layout(params: ListenerParameters = ListenerParameters()):
    """Where each level is planted: the same for every participant and language.

    Returns
    -------
    amplitude : array of shape (20484,), signal amplitude before per-participant variation
        (0 on noise-only vertices)
    share : array of shape (n_levels, 20484), each level's share of the signal variance
    region : array of shape (20484,), index into ``ROI_NAMES`` of the region a vertex lies in
        (within one width of its centres), -1 elsewhere
    """
    n_vertices = smoothing_matrix(1).shape[0]
    amplitude = np.zeros(n_vertices)
    share = np.zeros((len(LEVELS), n_vertices))
    region = np.full(n_vertices, -1)
    for r, name in enumerate(ROI_NAMES):
        distance = distance_to_region(name)
        falloff = np.exp(-distance ** 2 / (2 * params.spread ** 2))
        falloff[distance > params.cutoff * params.spread] = 0.0
        stronger = REGION_AMPLITUDE[name] * falloff > amplitude
        amplitude = np.where(stronger, REGION_AMPLITUDE[name] * falloff, amplitude)
        region[stronger] = -1
        region[stronger & (distance <= params.spread)] = r
        share[:, stronger] = 0.0
        for level, weight in REGION_LEVELS[name].items():
            share[LEVELS.index(level), stronger] = weight
    return amplitude, share, region


def simulate_listeners(regressors: dict[str, np.ndarray], section_lengths: list[int],
                       n_participants: int, seed: int,
                       params: ListenerParameters = ListenerParameters()):
    """BOLD of ``n_participants`` simulated listeners.

    Parameters
    ----------
    regressors : :func:`level_regressors`'s output: dict level (and ``"envelope"``) -> array
        of shape (n_scans_total, n_features)
    section_lengths : scans of each section (they sum to n_scans_total)
    seed : seed of every random draw

    Returns
    -------
    bold : list (participants) of lists (sections) of arrays of shape (n_scans, 20484), float32
    truth : dict with ``amplitude``, ``ceiling`` and ``ceiling_measured`` (n_participants,
        20484): the ceiling is ``a / sqrt(1 + a**2)``, the expected correlation between the
        BOLD and its planted signal; the measured one is that correlation over these scans
        (it differs by chance, by about ``1 / sqrt(n_scans)``); both are 0 on noise-only
        vertices), ``level_share``
        (n_levels, 20484), ``region`` (20484,) (index into ROI_NAMES, -1: none),
        ``example_vertices`` (n_regions,), the vertex of largest amplitude of each region in
        the left hemisphere, and ``example_signal`` (n_participants, n_scans_total,
        n_regions) float32, the planted signal there (``amplitude * signal``: the BOLD minus
        its noise)
    """
    missing = [name for name in (*LEVELS, "envelope") if name not in regressors]
    if missing:
        raise ValueError(f"regressors lack {missing}; give level_regressors's output.")
    n_scans = sum(section_lengths)
    if any(len(r) != n_scans for r in regressors.values()):
        raise ValueError(f"regressors have {[len(r) for r in regressors.values()]} scans but "
                         f"section_lengths sum to {n_scans}.")
    rng = np.random.default_rng(seed)
    smooth = smoothing_matrix(1)
    amplitude, share, region = planted_layout(params)
    n_vertices = len(amplitude)

    def smooth_field(shape, n_iter=20):
        field = rng.standard_normal(shape)
        for _ in range(n_iter):
            field = smooth @ field
        return field / field.std(axis=0, keepdims=True)

    shared = {lv: smooth_field((n_vertices, regressors[lv].shape[1])) for lv in LEVELS}
    envelope = regressors["envelope"] / regressors["envelope"].std()
    left = np.arange(n_vertices) < n_vertices // 2
    examples = np.array([np.flatnonzero(left & (region == r))[
        amplitude[left & (region == r)].argmax()] for r in range(len(ROI_NAMES))])
    bold, amplitudes, signals, ceilings = [], [], [], []
    for _ in range(n_participants):
        signal = np.zeros((n_scans, n_vertices))
        for i, level in enumerate(LEVELS):
            own = smooth_field((n_vertices, regressors[level].shape[1]))
            weights = (1 - params.individual) * shared[level] + params.individual * own
            part = regressors[level] @ weights.T
            part /= part.std(axis=0, keepdims=True) + 1e-12
            signal += np.sqrt(share[i]) * part
        signal /= signal.std(axis=0, keepdims=True) + 1e-12
        signal = (np.sqrt(1 - params.envelope_share) * signal
                  + np.sqrt(params.envelope_share) * envelope)
        signal /= signal.std(axis=0, keepdims=True)
        amp = amplitude * np.exp(params.amplitude_jitter * rng.standard_normal())
        noise = _noise(rng, smooth, section_lengths, n_vertices, params)
        planted = amp * signal
        data = (planted + noise).astype(np.float32)
        bold.append(np.split(data, np.cumsum(section_lengths)[:-1]))
        amplitudes.append(amp)
        ceilings.append(_correlation(data, planted))
        signals.append(planted[:, examples].astype(np.float32))
    amplitudes = np.stack(amplitudes)
    truth = {"amplitude": amplitudes, "ceiling": amplitudes / np.sqrt(1 + amplitudes ** 2),
             "ceiling_measured": np.stack(ceilings),
             "level_share": share, "region": region, "example_vertices": examples,
             "example_signal": np.stack(signals)}
    return bold, truth


def _correlation(data: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """Per-column correlation of arrays of shape (n_scans, n_vertices); 0 where ``planted``
    is constant (noise-only vertices)."""
    a = data - data.mean(axis=0)
    b = planted - planted.mean(axis=0)
    norm = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return np.where(norm > 0, (a * b).sum(axis=0) / np.where(norm > 0, norm, 1.0), 0.0)


def _noise(rng, smooth, section_lengths, n_vertices, params: ListenerParameters) -> np.ndarray:
    """Noise of unit variance per section, smooth over the mesh, AR(1) in time."""
    runs = []
    for n in section_lengths:
        noise = rng.standard_normal((n, n_vertices))
        for _ in range(params.noise_smoothing):
            noise = (smooth @ noise.T).T
        rho = params.noise_autocorrelation
        for t in range(1, n):
            noise[t] = rho * noise[t - 1] + np.sqrt(1 - rho ** 2) * noise[t]
        runs.append((noise - noise.mean(axis=0)) / noise.std(axis=0, keepdims=True))
    return np.vstack(runs)
