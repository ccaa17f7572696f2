"""Simulated listeners: BOLD on fsaverage5 from a planted hierarchy that uses no model.

Six levels of stimulus features (:mod:`analysis.demo.planted`, each computed from the
stimulus and the tables of the listener's own language alone) drive the regions:

- acoustic: the first principal component of the acoustic basis (log-mel bands,
  descriptors and envelope), around Heschl's gyrus (A1+A2) and a little along the STG;
- pitch: the voice's relative pitch and voicing, a property of periodic sound in general
  (:data:`SOUND_LEVELS`), mostly along the STG and a little in A1+A2;
- phonetic: which phone of the listener's language is being spoken, along the STG, in motor
  cortex and a little in A1+A2;
- phonotactic: phone surprisal and entropy under the language's phone trigrams, along the STG
  and STS;
- lexical: word onsets, word-boundary surprisal and the identity of the language's most
  frequent words, along the STS and in the IFG;
- contextual: word surprisal and entropy under the language's word bigrams, along the STS
  and mostly in the IFG.

Each level becomes regressors by exactly the code used for model features
(:func:`analysis.regressors.build_regressors`). The acoustic basis itself becomes regressors
the same way, and every level above acoustics is orthogonalised against all of its columns
(and an intercept) at the scan level: a level above acoustics carries no variance that a
spectrum explains, so that nothing a model hears in the spectrum alone predicts the STS or
the IFG. Each level then drives the cortex through its first ``n_components`` principal
components (the *planted regressors*); the sound envelope drives A1+A2 only, with a small
explicit share (``envelope_share``).

Levels can be switched off (:class:`ListenerParameters` ``levels``, named worlds in
:data:`WORLDS`); a switched-off level's share of a region passes to the deepest level still
planted in that region, or, if none is, to the deepest level still planted at all. With
``language_specific=False`` the phonetic level only knows the broad phone classes
(vowel, plosive, ...), defined the same way for every language, and no level that needs the
language's phonotactics, words or word order can be planted: listeners then respond to
nothing a model of one language knows better than a model of another.

A vertex mixes its region's levels with weights that vary smoothly over the cortex and across
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

from dataclasses import dataclass, replace

import numpy as np

from analysis.demo.planted import FEATURE_RATE
from analysis.regions import ROI_NAMES, distance_to_region, smoothing_matrix
from analysis.regressors import build_regressors, reduce_components

LEVELS = ("acoustic", "pitch", "phonetic", "phonotactic", "lexical", "contextual")
SOUND_LEVELS = ("pitch",)  # above acoustics, learnable from natural sounds other than speech
LANGUAGE_LEVELS = ("phonotactic", "lexical", "contextual")  # need the language's statistics

# Which levels drive each region, with their share of the region's signal variance.
REGION_LEVELS: dict[str, dict[str, float]] = {
    "A1+A2": {"acoustic": 0.75, "pitch": 0.15, "phonetic": 0.1},
    "STG": {"pitch": 0.55, "phonetic": 0.3, "phonotactic": 0.1, "acoustic": 0.05},
    "STS": {"lexical": 0.4, "phonotactic": 0.3, "contextual": 0.3},
    "IFG": {"contextual": 0.7, "lexical": 0.3},
    "motor": {"phonetic": 1.0},
}
# Scans beyond the acoustic basis's columns that a level above acoustics needs to vary in.
MIN_RESIDUAL_SCANS = 10
ENVELOPE_REGION = "A1+A2"  # the only region the sound envelope drives explicitly
# Signal amplitude (signal std / noise std) at the region's centres.
REGION_AMPLITUDE = {"A1+A2": 0.85, "STG": 0.75, "STS": 0.7, "IFG": 0.6, "motor": 0.45}


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
    envelope_share : share of the signal variance of ``ENVELOPE_REGION`` (A1+A2) driven by
        the sound envelope (0 in every other region)
    n_components : planted regressors of each level of ``LEVELS`` (principal components of
        its regressors): few, so that learning their weights from a 16-minute run costs an
        encoding model little; the pitch and phonetic levels get two
    levels : the levels planted (the others are switched off); ``"acoustic"`` always is
    language_specific : whether the phonetic level uses the language's own phone inventory
        (False: broad phone classes only; then none of ``LANGUAGE_LEVELS`` may be planted)
    """

    spread: float = 8.0
    cutoff: float = 3.0
    individual: float = 0.3
    amplitude_jitter: float = 0.15
    noise_smoothing: int = 3
    noise_autocorrelation: float = 0.3
    envelope_share: float = 0.2
    n_components: tuple[int, ...] = (1, 2, 2, 1, 1, 1)
    levels: tuple[str, ...] = LEVELS
    language_specific: bool = True

    def __post_init__(self):
        unknown = [lv for lv in self.levels if lv not in LEVELS]
        if unknown or "acoustic" not in self.levels:
            raise ValueError(f"levels={self.levels}: give levels of {LEVELS}, including "
                             "'acoustic'.")
        if len(self.n_components) != len(LEVELS):
            raise ValueError(f"n_components={self.n_components}: give one count per level of "
                             f"{LEVELS}.")
        needing = [lv for lv in self.levels if lv in LANGUAGE_LEVELS]
        if not self.language_specific and needing:
            raise ValueError(f"language_specific=False: {needing} need the language's own "
                             "statistics; switch them off too.")


# The named worlds: the main one, and the controls with levels switched off.
WORLDS: dict[str, ListenerParameters] = {
    "main": ListenerParameters(),
    "no-language": ListenerParameters(levels=("acoustic", "pitch", "phonetic"),
                                      language_specific=False),
    "acoustic-only": ListenerParameters(levels=("acoustic",)),
}


def region_levels(params: ListenerParameters = ListenerParameters()
                  ) -> dict[str, dict[str, float]]:
    """Each region's planted levels and their shares in a world of these parameters:
    :data:`REGION_LEVELS`, each switched-off level's share passing to the deepest level still
    planted in the region (if none is, to the deepest level planted at all)."""
    deepest = max(params.levels, key=LEVELS.index)
    out = {}
    for name, shares in REGION_LEVELS.items():
        kept = {lv: w for lv, w in shares.items() if lv in params.levels}
        target = max(kept, key=LEVELS.index) if kept else deepest
        kept[target] = kept.get(target, 0.0) + sum(w for lv, w in shares.items()
                                                    if lv not in params.levels)
        out[name] = {lv: kept[lv] for lv in LEVELS if lv in kept}
    return out


def level_regressors(features: list[dict[str, np.ndarray]], scan_times: list[np.ndarray],
                     params: ListenerParameters = ListenerParameters()
                     ) -> dict[str, np.ndarray]:
    """The planted regressors of the planted levels, the envelope and the acoustic basis.

    The acoustic basis (all columns of ``features[k]["acoustic"]``) becomes regressors like
    any feature; the acoustic level is its first principal components; every other level's
    regressors are orthogonalised against the whole basis and an intercept (sections
    stacked) before their first principal components are taken.

    Parameters
    ----------
    features : per section, :func:`analysis.demo.planted.planted_features`'s output
    scan_times : per section, scan times (s) of shape (n_scans_section,)
    params : its ``levels`` are computed, with ``n_components`` components each

    Returns
    -------
    dict name -> array of shape (n_scans_total, n): each planted level (n its components),
    ``"envelope"`` (1 column) and ``"acoustic_basis"`` (the basis's regressors, one column per
    band and descriptor, the envelope last); float64, each column of unit variance
    """
    names = ("acoustic", *[lv for lv in params.levels if lv != "acoustic"])
    stacked = {}
    for name in names:
        runs = []
        for feats, frame_times in zip(features, scan_times):
            times = (np.arange(len(feats[name])) + 0.5) / FEATURE_RATE
            runs.append(build_regressors(feats[name], times, frame_times))
        stacked[name] = np.vstack(runs).astype(np.float64)
    basis = stacked.pop("acoustic")
    design = np.hstack([basis, np.ones((len(basis), 1))])
    needed = design.shape[1] + MIN_RESIDUAL_SCANS
    if stacked and len(basis) < needed:
        raise ValueError(f"{len(basis)} scans are too few to plant levels orthogonal to an "
                         f"acoustic basis of {basis.shape[1]} columns: give at least {needed}.")
    out = {"acoustic": reduce_components(basis, params.n_components[0]).astype(np.float64)}
    for level, regs in stacked.items():
        residual = regs - design @ np.linalg.lstsq(design, regs, rcond=None)[0]
        components = reduce_components(residual, int(params.n_components[LEVELS.index(level)]))
        out[level] = components.astype(np.float64)
    out = {name: value / value.std(axis=0) for name, value in out.items()}
    return {**out, "envelope": basis[:, -1:] / basis[:, -1].std(), "acoustic_basis": basis}


def planted_layout(params: ListenerParameters = ListenerParameters()):
    """Where each level is planted: the same for every participant and language.

    Returns
    -------
    amplitude : array of shape (20484,), signal amplitude before per-participant variation
        (0 on noise-only vertices)
    share : array of shape (n_levels, 20484), each level's share of the signal variance
        (:func:`region_levels`; 0 for switched-off levels)
    region : array of shape (20484,), index into ``ROI_NAMES`` of the region a vertex lies in
        (within one width of its centres), -1 elsewhere
    envelope : array of shape (20484,), the envelope's share of the signal variance
        (``envelope_share`` where ``ENVELOPE_REGION`` drives the vertex, 0 elsewhere)
    """
    n_vertices = smoothing_matrix(1).shape[0]
    amplitude = np.zeros(n_vertices)
    share = np.zeros((len(LEVELS), n_vertices))
    region = np.full(n_vertices, -1)
    envelope = np.zeros(n_vertices)
    planted = region_levels(params)
    for r, name in enumerate(ROI_NAMES):
        distance = distance_to_region(name)
        falloff = np.exp(-distance ** 2 / (2 * params.spread ** 2))
        falloff[distance > params.cutoff * params.spread] = 0.0
        stronger = REGION_AMPLITUDE[name] * falloff > amplitude
        amplitude = np.where(stronger, REGION_AMPLITUDE[name] * falloff, amplitude)
        region[stronger] = -1
        region[stronger & (distance <= params.spread)] = r
        share[:, stronger] = 0.0
        envelope[stronger] = params.envelope_share if name == ENVELOPE_REGION else 0.0
        for level, weight in planted[name].items():
            share[LEVELS.index(level), stronger] = weight
    return amplitude, share, region, envelope


def simulate_listeners(regressors: dict[str, np.ndarray], section_lengths: list[int],
                       n_participants: int, seed: int | tuple[int, ...],
                       params: ListenerParameters = ListenerParameters()):
    """BOLD of ``n_participants`` simulated listeners.

    Parameters
    ----------
    regressors : :func:`level_regressors`'s output: dict level (every level of
        ``params.levels``, and ``"envelope"``) -> array of shape (n_scans_total, n_features)
    section_lengths : scans of each section (they sum to n_scans_total)
    seed : seed of every random draw (an int, or a tuple of ints such as (world seed,
        language index), as :func:`numpy.random.default_rng` takes it)

    Returns
    -------
    bold : list (participants) of lists (sections) of arrays of shape (n_scans, 20484), float32
    truth : dict with ``amplitude``, ``ceiling`` and ``ceiling_measured`` (n_participants,
        20484): the ceiling is ``a / sqrt(1 + a**2)``, the expected correlation between the
        BOLD and its planted signal; the measured one is that correlation over these scans
        (it differs by chance, by about ``1 / sqrt(n_scans)``); both are 0 on noise-only
        vertices), ``level_share`` (n_levels, 20484), ``envelope_share`` (20484,),
        ``region`` (20484,) (index into ROI_NAMES, -1: none), ``region_level_share``
        (n_regions, n_levels), each region's share of each level in this world (0: not
        planted there), ``planted_levels`` (the names of ``params.levels``),
        ``language_specific`` (a boolean scalar), ``example_vertices`` (n_regions,), the
        vertex of largest amplitude of each region in the left hemisphere, and
        ``example_signal`` (n_participants, n_scans_total, n_regions) float32, the planted
        signal there (``amplitude * signal``: the BOLD minus its noise)
    """
    missing = [name for name in (*params.levels, "envelope") if name not in regressors]
    if missing:
        raise ValueError(f"regressors lack {missing}; give level_regressors's output.")
    n_scans = sum(section_lengths)
    if any(len(r) != n_scans for r in regressors.values()):
        raise ValueError(f"regressors have {[len(r) for r in regressors.values()]} scans but "
                         f"section_lengths sum to {n_scans}.")
    rng = np.random.default_rng(seed)
    smooth = smoothing_matrix(1)
    amplitude, share, region, envelope_share = planted_layout(params)
    n_vertices = len(amplitude)

    def smooth_field(shape, n_iter=20):
        field = rng.standard_normal(shape)
        for _ in range(n_iter):
            field = smooth @ field
        return field / field.std(axis=0, keepdims=True)

    shared = {lv: smooth_field((n_vertices, regressors[lv].shape[1])) for lv in params.levels}
    envelope = regressors["envelope"][:, 0] / regressors["envelope"].std()
    left = np.arange(n_vertices) < n_vertices // 2
    examples = np.array([np.flatnonzero(left & (region == r))[
        amplitude[left & (region == r)].argmax()] for r in range(len(ROI_NAMES))])
    bold, amplitudes, signals, ceilings = [], [], [], []
    for _ in range(n_participants):
        signal = np.zeros((n_scans, n_vertices))
        for level in params.levels:
            own = smooth_field((n_vertices, regressors[level].shape[1]))
            weights = (1 - params.individual) * shared[level] + params.individual * own
            part = regressors[level] @ weights.T
            part /= part.std(axis=0, keepdims=True) + 1e-12
            signal += np.sqrt(share[LEVELS.index(level)]) * part
        signal /= signal.std(axis=0, keepdims=True) + 1e-12
        signal = (np.sqrt(1 - envelope_share) * signal
                  + np.sqrt(envelope_share) * envelope[:, None])
        signal /= signal.std(axis=0, keepdims=True) + 1e-12
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
             "level_share": share, "envelope_share": envelope_share, "region": region,
             "region_level_share": np.array([[region_levels(params)[name].get(level, 0.0)
                                              for level in LEVELS] for name in ROI_NAMES]),
             "planted_levels": np.array(params.levels),
             "language_specific": np.array(params.language_specific),
             "example_vertices": examples,
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
