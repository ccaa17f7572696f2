"""A full-size synthetic participant of Le Petit Prince, with signal planted where it is known.

:func:`build_participant` writes, under a root folder, the files of one participant as the
corpus lays them out (real file names and run labels, taken from the package's checksum list):

- one preprocessed run per section (``derivatives/.../*_space-MNIColin27_desc-preproc_bold
  .nii.gz``), int16, in MNI space on the corpus's grid (2 mm, 73 x 90 x 74 voxels, see
  :func:`mni_affine`), with the real volume count of each section
  (:data:`analysis.datasets.lpp.VOLUMES`) and TR 2 s in the header;
- each section's stimulus WAV (44.1 kHz 16-bit PCM, as the corpus's), lasting exactly as long
  as the section's audio (scans minus the extra scans after it, times the TR): synthetic
  speech-like sound, band-limited noise and a buzz under a syllable-rate envelope, in phrases
  separated by pauses, deterministic by seed;
- each section's TextGrid (ASCII or UTF-16 BE with a BOM, as the corpus's EN ones) and the
  word table, words at the phrases' syllables;
- the checksum list of the tree (``path, size, md5``, beside ``root``), to point
  ``$ANALYSIS_LPP_INDEX`` at. It lists the participant's nine runs; those of sections not
  written are listed with size 0 (the loader maps sections from the checksum list, which has
  every run of a participant, and checks only the files of the sections asked for).

A run's BOLD, per voxel inside a brain mask (nilearn's MNI152 brain mask, shipped with nilearn,
dilated by one 2 mm voxel; 0 outside, so the projection sees the brain and a zeroed
background, as in masked preprocessing outputs):

    offset of the run (500-1500, spread evenly over the runs in a random order) x (1 + 10 %
    voxel pattern)
    + linear and quadratic drift (Legendre polynomials over the run, coefficients of 15-45
      BOLD units, i.e. 1.5-4.5 noise SDs, random signs, different per run, +-30 % per voxel)
    + Gaussian noise (SD ``noise``)
    + inside each sphere of :data:`SPHERES` (radius ``radius``): ``gain`` x ``noise`` x a
      signal driven by one layer of the model: a weighted sum of a few of the layer's
      regressors (:mod:`analysis.designs`, computed from the stimuli written, exactly as the
      analysis computes them), z-scored over the participant, different weights per sphere.

Runs are written one at a time, their volumes generated in blocks: building a participant
never holds more than one run in memory.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.datasets import lpp

# Centres of the planted spheres, MNI mm. The test and the benchmark measure, for each, the
# distance from the centre to the fsaverage5 vertex that scores best near it.
SPHERES: dict[str, tuple[float, float, float]] = {
    # Heschl's gyrus: centre of mass of the AAL atlas's "Heschl" regions (Tzourio-Mazoyer et
    # al. 2002, NeuroImage 15:273-289), rounded, as tabulated with the AAL90 node coordinates
    # (Heschl_L -41.99 -18.88 9.98, Heschl_R 45.86 -17.15 10.41; quoted from memory, not
    # checked against the atlas here, which is not available offline).
    "left Heschl's gyrus": (-42.0, -19.0, 10.0),
    "right Heschl's gyrus": (46.0, -17.0, 10.0),
    # Posterior STS: the pSTS region of interest of Pallier, Devauchelle & Dehaene 2011 (PNAS
    # 108:2522-2527; left hemisphere; quoted from memory, as above); the right one mirrors x.
    # Every centre lies within 3 mm of fsaverage5's pial surface (the tests' distances).
    "left posterior STS": (-51.0, -39.0, 3.0),
    "right posterior STS": (51.0, -39.0, 3.0),
}
RADIUS = 6.0  # mm
GRID_ORIGIN = np.array([72.0, -108.0, -60.0])  # MNI position of voxel (0, 0, 0), mm
GRID_EXTENT = np.array([144.0, 178.0, 146.0])  # mm spanned by the 2 mm grid's 73 x 90 x 74
GRID = (73, 90, 74)
OFFSET_RANGE = (500.0, 1500.0)
DRIFT_SCALE = 30.0  # SD of the linear and quadratic drift coefficients (BOLD units)
NOISE = 10.0  # SD of the voxel noise (BOLD units; 1 % of a baseline of 1000)
GAIN = 0.6  # SD of the planted signal in noise SDs
N_UNITS = 4  # units of the layer whose regressors drive each sphere
BLOCK = 48  # volumes generated at a time


def mni_affine(voxel: float = 2.0) -> np.ndarray:
    """The grid's affine at ``voxel`` mm: x decreasing with the first index (as in MNI
    templates stored LAS), voxel (0, 0, 0) at :data:`GRID_ORIGIN`; at 2 mm it spans x +72 to
    -72, y -108 to +70, z -60 to +86, the MNI brain's bounding box (and fsaverage5's)."""
    affine = np.diag([-voxel, voxel, voxel, 1.0])
    affine[:3, 3] = GRID_ORIGIN
    return affine


def grid_shape(voxel: float = 2.0) -> tuple[int, int, int]:
    """Voxels of the grid spanning the same box at ``voxel`` mm (2 mm: 73 x 90 x 74)."""
    return tuple(int(n) for n in np.ceil(GRID_EXTENT / voxel - 1e-9).astype(int) + 1)


@dataclass(frozen=True)
class Participant:
    """What :func:`build_participant` wrote, and what it planted where.

    Attributes
    ----------
    root : the corpus folder
    index : its checksum list (point ``$ANALYSIS_LPP_INDEX`` at it)
    participant : id, e.g. ``"EN057"``
    sections : sections written
    model, layer : the model and layer whose regressors drive the spheres
    spheres : name -> MNI centre (mm); radius : their radius (mm)
    affine, grid : of the runs
    offsets : each run's mean level (before the 10 % voxel pattern)
    runs : the run files, in section order
    seconds : wall-clock seconds of each building step
    """

    root: Path
    index: Path
    participant: str
    sections: tuple[int, ...]
    model: str
    layer: int
    spheres: dict[str, tuple[float, float, float]]
    radius: float
    affine: np.ndarray
    grid: tuple[int, int, int]
    offsets: tuple[float, ...]
    runs: tuple[Path, ...]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.participant[:2].lower()

    def localise(self, scores: np.ndarray) -> pd.DataFrame:
        """Where ``scores`` (shape (20484,), one per fsaverage5 vertex) peak around each
        sphere: see :func:`localise`."""
        return localise(scores, self.spheres)


def localise(scores: np.ndarray, spheres: dict, near: float = 6.0,
             far: float = 30.0) -> pd.DataFrame:
    """For each sphere, its best vertex and how far it lies: one row per sphere.

    Each vertex of fsaverage5 (nilearn's pial coordinates) belongs to the sphere whose centre
    is nearest; a sphere's best vertex is the highest-scoring vertex among its own.

    Columns
    -------
    sphere, centre; nearest_mm : distance from the centre to its nearest vertex; best_vertex,
    best_score, best_mm : distance from the centre to the best vertex; near_mean : mean score
    of the vertices within ``near`` mm of the centre; far_mean : mean score of the vertices
    farther than ``far`` mm from every centre (the same for every row)
    """
    from analysis.regions import fsaverage5

    coords, _ = fsaverage5("pial")
    scores = np.asarray(scores, dtype=float)
    centres = np.array(list(spheres.values()), dtype=float)
    distance = np.linalg.norm(coords[:, None, :] - centres[None], axis=-1)  # (20484, n)
    owner = distance.argmin(axis=1)
    finite = np.isfinite(scores)
    far_mask = (distance.min(axis=1) > far) & finite
    rows = []
    for i, (name, centre) in enumerate(spheres.items()):
        own = np.flatnonzero((owner == i) & finite)
        best = own[np.argmax(scores[own])]
        near_mask = (distance[:, i] <= near) & finite
        rows.append({"sphere": name, "centre": tuple(centre),
                     "nearest_mm": float(distance[:, i].min()), "best_vertex": int(best),
                     "best_score": float(scores[best]), "best_mm": float(distance[best, i]),
                     "near_mean": float(scores[near_mask].mean()),
                     "far_mean": float(scores[far_mask].mean())})
    return pd.DataFrame(rows)


def build_participant(root: str | Path, participant: str = "EN057", sections=range(1, 10),
                      grid: tuple[int, int, int] | None = None, voxel: float = 2.0,
                      volumes=None, model: str = "random", layer: int = 4, seed: int = 0,
                      gain: float = GAIN, noise: float = NOISE, offsets: bool = True,
                      drifts: bool = True, spheres: dict | None = None,
                      radius: float = RADIUS, cache_root: str | Path | None = None,
                      rate: int = 44100, log=None) -> Participant:
    """Write a synthetic participant under ``root`` (see the module's docstring).

    Parameters
    ----------
    participant : an id of the corpus (its run labels are the real ones)
    sections : sections written (the others' runs are only listed in the checksum list)
    grid, voxel : the runs' grid and voxel size (mm); default grid: :func:`grid_shape` of
        ``voxel`` (2 mm: 73 x 90 x 74, the corpus's); the affine is :func:`mni_affine`
    volumes : volumes per written section (default: the corpus's counts; others make runs the
        loader refuses)
    model, layer : the model (a name of :mod:`analysis.models`: ``"random"`` is wav2vec 2.0
        Base with random weights) and the layer whose regressors drive the spheres
    seed : of the audio, the noise, the offsets, drifts and the spheres' weights
    gain : SD of the planted signal, in noise SDs
    noise : SD of the voxel noise
    offsets, drifts : give each run its own offset (else every run's is 1000) and its own
        linear and quadratic drift (else none); noise and signal are the same either way
    spheres : name -> MNI centre (default :data:`SPHERES`); radius : their radius (mm)
    cache_root : cache of the designs computed to plant the signal (default: beside
        ``root``); the analysis reuses them when its cache is this one
    rate : sampling rate of the WAVs
    log : a callable taking a line of progress (e.g. ``print``), or None
    """
    from analysis.cache import Cache
    from analysis.datasets import Stimulus
    from analysis.designs import build_designs, design_key

    say = log or (lambda line: None)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lang = participant[:2].upper()
    sections = tuple(sorted(sections))
    spheres = dict(SPHERES if spheres is None else spheres)
    grid = tuple(grid or grid_shape(voxel))
    affine = mni_affine(voxel)
    counts = ([lpp.expected_volumes(lang, k) for k in sections] if volumes is None
              else list(np.broadcast_to(volumes, len(sections))))
    seconds: dict[str, float] = {}
    rng = np.random.default_rng(seed)

    started = time.perf_counter()
    stimuli = []
    for k, n in zip(sections, counts):
        audio = root / lpp.stimulus_path(lang, k)
        duration = (lpp.expected_volumes(lang, k) - lpp.EXTRA_SCANS[lang]) * lpp.TR
        words = write_stimulus(audio, duration, rate, np.random.default_rng([seed, k]))
        grid_path = root / lpp.textgrid_path(lang, k)
        write_textgrid(grid_path, words, duration, utf16=lang == "EN" and 3 <= k <= 6)
        stimuli.append(Stimulus(language=lang.lower(), section=k, audio_path=audio,
                                words_loader=partial(lpp.read_textgrid, grid_path),
                                n_scans=int(n), tr=lpp.TR))
        say(f"section {k}: {duration:.0f} s of audio written")
    write_word_table(root / lpp.word_table_path(lang), root, lang, sections)
    seconds["stimuli"] = time.perf_counter() - started

    started = time.perf_counter()
    cache = Cache(Path(cache_root) if cache_root else root.parent / f"{root.name}-cache")
    designs = build_designs(model, design_key(model, stimuli), stimuli, cache)
    X = np.asarray(designs.layer(layer), dtype=np.float64)
    seconds["designs"] = time.perf_counter() - started
    say(f"designs of {model}: {designs.n_layers} layers, layer {layer} has {X.shape[1]} units "
        f"({seconds['designs']:.0f} s)")
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1)
    signals = []
    for _ in spheres:
        units = rng.choice(X.shape[1], size=min(N_UNITS, X.shape[1]), replace=False)
        s = X[:, units] @ rng.standard_normal(len(units))
        signals.append((s - s.mean()) / s.std())
    signals = np.stack(signals, axis=1)  # (n_scans of every section, n_spheres)

    mask = brain_mask(affine, grid)
    xyz = voxel_coordinates(affine, grid)[mask]
    weights = np.stack([(np.linalg.norm(xyz - c, axis=1) <= radius).astype(np.float32)
                        for c in spheres.values()], axis=1)  # (n_inside, n_spheres)
    pattern = (1 + 0.1 * np.clip(rng.standard_normal(len(xyz)), -3, 3)).astype(np.float32)
    n_runs = len(sections)
    spacing = (OFFSET_RANGE[1] - OFFSET_RANGE[0]) / max(n_runs - 1, 1)
    run_offsets = (rng.permutation(np.linspace(*OFFSET_RANGE, n_runs))
                   + rng.uniform(-spacing / 4, spacing / 4, n_runs)).clip(*OFFSET_RANGE)
    if not offsets:
        run_offsets = np.full(n_runs, 1000.0)
    paths = run_paths(participant)

    started = time.perf_counter()
    runs, first = [], 0
    for i, (k, n) in enumerate(zip(sections, counts)):
        path = root / paths[k]
        signal = signals[first:first + n] * gain * noise
        first += n
        write_run(path, affine, grid, mask, pattern * run_offsets[i], signal, weights, noise,
                  DRIFT_SCALE if drifts else 0.0, np.random.default_rng([seed, 1000 + k]))
        runs.append(path)
        say(f"section {k}: run {path.name} written ({n} volumes)")
    seconds["runs"] = time.perf_counter() - started

    index = root.parent / f"{root.name}_files.tsv"
    write_checksums(root, index, participant, sections)
    return Participant(root, index, participant, sections, model, layer, spheres, radius,
                       affine, grid, tuple(float(o) for o in run_offsets), tuple(runs),
                       seconds)


def run_paths(participant: str) -> dict[int, str]:
    """Section -> relative path of the participant's preprocessed run, from the checksum list
    shipped with the package (the real run labels, e.g. EN057's 15-23)."""
    from analysis.datasets import download as dl

    runs = lpp.index_paths(dl.read_index(dl.INDEX).path)
    rows = runs[runs.participant == f"sub-{participant}"]
    if len(rows) != lpp.N_SECTIONS:
        raise ValueError(f"{participant} is not a participant of the corpus.")
    return {int(s): str(p) for s, p in zip(rows.section, rows.bold_path)}


def voxel_coordinates(affine: np.ndarray, grid) -> np.ndarray:
    """MNI position (mm) of every voxel centre: array of shape grid + (3,)."""
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in grid], indexing="ij"), -1)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def brain_mask(affine: np.ndarray, grid) -> np.ndarray:
    """nilearn's MNI152 brain mask (shipped with nilearn: no download), dilated by one voxel
    on its 2 mm grid, sampled at the voxel centres of ``grid`` (nearest voxel)."""
    from nilearn.datasets import load_mni152_brain_mask
    from scipy import ndimage

    template = load_mni152_brain_mask(resolution=2)
    inside = ndimage.binary_dilation(np.asarray(template.dataobj) > 0)
    ijk = np.rint(voxel_coordinates(affine, grid) @ np.linalg.inv(template.affine)[:3, :3].T
                  + np.linalg.inv(template.affine)[:3, 3]).astype(int)
    ok = ((ijk >= 0) & (ijk < inside.shape)).all(-1)
    mask = np.zeros(tuple(grid), dtype=bool)
    mask[ok] = inside[tuple(ijk[ok].T)]
    return mask


def write_run(path: Path, affine, grid, mask, baseline, signal, weights, noise: float,
              drift_scale: float, rng) -> None:
    """One preprocessed run: int16, zero outside ``mask``; inside, ``baseline`` (per voxel)
    + a linear and a quadratic drift + noise + ``signal`` (shape (n_volumes, n_spheres)) in
    the spheres (``weights``, shape (n_inside, n_spheres)). Generated ``BLOCK`` volumes at a
    time into the int16 array: about 2 bytes per voxel and volume in memory."""
    import nibabel

    n = len(signal)
    n_inside = int(mask.sum())
    t = np.linspace(-1, 1, n, dtype=np.float32)
    trends = np.stack([t, 1.5 * t ** 2 - 0.5])  # Legendre polynomials of degree 1 and 2
    sizes = rng.choice([-1, 1], 2) * rng.uniform(0.5, 1.5, 2)  # of this run's two drifts
    slopes = (drift_scale * sizes
              * (1 + 0.3 * rng.standard_normal((n_inside, 2)))).astype(np.float32)
    data = np.zeros(tuple(grid) + (n,), dtype=np.int16)
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        block = rng.standard_normal((n_inside, stop - start), dtype=np.float32)
        block *= noise
        block += baseline[:, None]
        block += slopes @ trends[:, start:stop]
        block += weights @ signal[start:stop].T.astype(np.float32)
        data[mask, start:stop] = np.rint(block).astype(np.int16)
        del block
    img = nibabel.Nifti1Image(data, affine)
    img.header.set_zooms(tuple(abs(float(v)) for v in np.diag(affine)[:3]) + (lpp.TR,))
    img.header.set_xyzt_units("mm", "sec")
    img.set_sform(affine, code="mni")
    img.set_qform(affine, code="mni")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.to_filename(path)


def write_stimulus(path: Path, seconds: float, rate: int, rng) -> list[tuple[str, float, float]]:
    """A WAV of ``seconds`` at ``rate`` (16-bit PCM) of speech-like sound: phrases of 1.5-6 s
    (syllables at 3-6 Hz, band-limited noise and a buzz at 90-220 Hz, band 200-4000 Hz)
    separated by pauses of 0.2-1 s, and now and then 4-12 s; returns the words (one per
    syllable pair): ``[(label, onset, offset), ...]``."""
    import soundfile
    from scipy import signal as sps

    n = int(round(seconds * rate))
    envelope = np.zeros(n, dtype=np.float32)
    pitch = np.full(n, 120.0, dtype=np.float32)
    words, t = [], float(rng.uniform(0.2, 1.0))
    while t < seconds - 1.0:
        length = min(float(rng.uniform(1.5, 6.0)), seconds - t - 0.2)
        a, b = int(t * rate), int((t + length) * rate)
        local = np.arange(b - a, dtype=np.float32) / rate
        rate_syl = rng.uniform(3.0, 6.0)
        envelope[a:b] = np.sin(np.pi * rate_syl * local) ** 2 * rng.uniform(0.4, 1.0)
        pitch[a:b] = rng.uniform(90, 220) * (1 - 0.15 * local / max(length, 1e-3))
        step = 2 / rate_syl
        for w in np.arange(t, t + length - step / 2, step):
            words.append((f"w{len(words)}", round(float(w), 3), round(float(w + step), 3)))
        t += length + (rng.uniform(4.0, 12.0) if rng.random() < 0.08 else rng.uniform(0.2, 1.0))
    phase = 2 * np.pi * np.cumsum(pitch, dtype=np.float64) / rate
    buzz = sps.sawtooth(phase).astype(np.float32)
    hiss = rng.standard_normal(n, dtype=np.float32)
    band = sps.butter(4, [200, 4000], btype="bandpass", fs=rate, output="sos")
    audio = sps.sosfilt(band, 0.7 * buzz + 0.5 * hiss).astype(np.float32) * envelope
    audio += 0.003 * rng.standard_normal(n, dtype=np.float32)  # room noise
    audio *= 0.5 / max(float(np.abs(audio).max()), 1e-6)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio, rate, subtype="PCM_16")
    return words


def write_textgrid(path: Path, words, seconds: float, utf16: bool) -> None:
    """The words in a Praat TextGrid (long text format), tier ``TokensAlign``, ``#`` for
    silence, ASCII or UTF-16 BE with a BOM (as EN sections 3-6 are)."""
    intervals, t = [], 0.0
    for label, onset, offset in words:
        if onset > t + 1e-6:
            intervals.append(("#", t, onset))
        intervals.append((label, onset, offset))
        t = offset
    if seconds > t + 1e-6:
        intervals.append(("#", t, round(seconds, 3)))
    end = intervals[-1][2]
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ",
             f"xmax = {end} ", "tiers? <exists> ", "size = 1 ", "item []: ", "    item [1]:",
             '        class = "IntervalTier" ', '        name = "TokensAlign" ',
             "        xmin = 0 ", f"        xmax = {end} ",
             f"        intervals: size = {len(intervals)} "]
    for i, (label, start, stop) in enumerate(intervals, 1):
        lines += [f"        intervals [{i}]:", f"            xmin = {start} ",
                  f"            xmax = {stop} ", f'            text = "{label}" ']
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xfe\xff" + text.encode("utf-16-be") if utf16 else text.encode("ascii"))


def write_word_table(path: Path, root: Path, lang: str, sections) -> None:
    """The language's word table (the corpus's columns), from the TextGrids written."""
    rows = []
    for k in sections:
        table = lpp.read_textgrid(root / lpp.textgrid_path(lang, k))
        for word, onset, offset in zip(table.word, table.onset, table.offset):
            rows.append({"word": word, "lemma": word, "onset": onset, "offset": offset,
                         "logfreq": 1.0, "pos": "NOUN", "section": k, "top_down": 1,
                         "bottom_up": 1, "left_corner": 1})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path)


def write_checksums(root: Path, index: Path, participant: str, sections) -> None:
    """The checksum list of every file under ``root`` (``path, size, md5``), plus the runs of
    the participant's sections not written (size 0: listed so that the loader finds nine
    runs, never fetched when only the written sections are asked for)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    rows = [(p.relative_to(root).as_posix(), p.stat().st_size, _md5(p)) for p in files]
    written = {r[0] for r in rows}
    rows += [(path, 0, hashlib.md5(b"").hexdigest())
             for k, path in run_paths(participant).items() if path not in written]
    pd.DataFrame(sorted(rows), columns=["path", "size", "md5"]).to_csv(index, sep="\t",
                                                                        index=False)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()
