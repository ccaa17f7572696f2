"""Baseline feature spaces: what a stimulus's sound and timing alone predict of the BOLD.

Each baseline is computed from a :class:`~analysis.datasets.Stimulus` (its audio and its word
and phone tables), never from a model, on a grid of :data:`analysis.acoustics.FRAME_RATE`
frames per second, then becomes regressors at scan times through exactly the code a model
layer goes through (:func:`analysis.regressors.build_regressors`: each column min-max scaled,
HRF-convolved, z-scored), every section of a language stacked in time:

- ``log-mel``: the :data:`~analysis.acoustics.N_MELS` log-mel bands (librosa);
- ``envelope``: the log sound envelope (total power, dB);
- ``acoustic``: both, the log-mel bands then the envelope (the demo world's acoustic basis,
  which its levels above acoustics are orthogonal to);
- ``word-rate``, ``phone-rate``: an impulse at each word (phone) onset of the timing tables;
  HRF-convolved, the local rate of words (phones).

A baseline's regressors are stored as a one-layer :class:`~analysis.designs.Designs` (layer
0, and its null shifted by :data:`~analysis.designs.NULL_SHIFT` of its length), in the same
cache folder as the models' designs, so that the same encoding code scores it per vertex and
participant (:func:`baseline_scores`, through :func:`analysis.scores.participant_scores`).
"""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import acoustics, regressors, scores
from analysis.cache import Cache, atomic_write, file_digest, key_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Stimulus
from analysis.framing import SAMPLE_RATE
from analysis.designs import DESIGNS, NULL_SHIFT, Designs, load_designs

log = logging.getLogger(__name__)

BASELINES = ("log-mel", "envelope", "acoustic", "word-rate", "phone-rate")
TIMING = {"word-rate": "words", "phone-rate": "phones"}  # baselines read from a table


def check_baseline(name: str) -> None:
    """Raise a ValueError naming ``baseline`` unless ``name`` is one of :data:`BASELINES`."""
    if name not in BASELINES:
        raise ValueError(f"baseline={name!r}; choose one of {', '.join(BASELINES)}.")


def onset_impulses(table: pd.DataFrame | None, n_frames: int, what: str = "words",
                   frame_rate: float = acoustics.FRAME_RATE) -> np.ndarray:
    """One impulse per onset of a timing table, on the frame grid.

    Parameters
    ----------
    table : DataFrame with an ``onset`` column (s), e.g. a stimulus's words or phones
    n_frames : frames of the grid (frame ``k`` spans ``[k, k + 1) / frame_rate`` s)
    what : the table's name, for errors

    Returns
    -------
    array of shape (n_frames, 1): the number of onsets in each frame
    """
    if table is None or "onset" not in getattr(table, "columns", ()):
        raise ValueError(f"the stimulus has no {what} table with onsets: the "
                         f"{what[:-1]}-rate baseline needs one (the lpp corpus gives words "
                         "only; use 'word-rate' there).")
    onsets = np.asarray(table["onset"], dtype=float)
    frames = np.clip((onsets * frame_rate).astype(int), 0, n_frames - 1)
    out = np.zeros((n_frames, 1))
    np.add.at(out[:, 0], frames, 1.0)
    return out


def baseline_features(stimulus: Stimulus, name: str,
                      waveform: np.ndarray | None = None) -> np.ndarray:
    """The features of baseline ``name`` for one stimulus, at :data:`acoustics.FRAME_RATE`.

    Parameters
    ----------
    waveform : the stimulus's audio at ``SAMPLE_RATE`` (16 kHz), when already read (array
        of shape (n_samples,))

    Returns
    -------
    array of shape (n_frames, n_features), frame ``k`` centred at ``(k + 0.5) / FRAME_RATE``
    s: ``N_MELS`` columns (log-mel), 1 (envelope, word-rate, phone-rate) or ``N_MELS + 1``
    (acoustic)
    """
    check_baseline(name)
    waveform = stimulus.waveform() if waveform is None else waveform
    hop = int(SAMPLE_RATE / acoustics.FRAME_RATE)
    n_frames = len(waveform) // hop
    if name in TIMING:
        what = TIMING[name]
        return onset_impulses(getattr(stimulus, what), n_frames, what)
    basis = acoustics.acoustic_features(waveform, SAMPLE_RATE)
    return {"log-mel": basis[:, :-1], "envelope": basis[:, -1:], "acoustic": basis}[name]


def baseline_regressors(stimulus: Stimulus, name: str) -> np.ndarray:
    """Regressors of baseline ``name`` at the stimulus's scan times, by
    :func:`analysis.regressors.build_regressors` (as a model layer's): array of shape
    (n_scans, n_features), float32."""
    features = baseline_features(stimulus, name)
    times = (np.arange(len(features)) + 0.5) / acoustics.FRAME_RATE
    return regressors.build_regressors(features, times, stimulus.scan_times())


def baseline_key(name: str, stimuli: Sequence[Stimulus]) -> dict:
    """Cache key of baseline ``name``'s designs on ``stimuli``: the code of the stages, each
    section's audio (and timing table, for the rates), scans and TR."""
    check_baseline(name)
    sections = []
    for stimulus in stimuli:
        section = {"stimulus": stimulus.digest(), "n_scans": stimulus.n_scans,
                   "tr": stimulus.tr}
        if name in TIMING:
            table = getattr(stimulus, TIMING[name])
            section["onsets"] = key_digest({"onsets": [] if table is None else
                                            np.round(np.asarray(table["onset"], float),
                                                     6).tolist()})
        sections.append(section)
    return {"stage": DESIGNS, "baseline": name,
            "code": source_digest(acoustics, regressors, sys.modules[__name__]),
            "frame_rate": acoustics.FRAME_RATE, "n_mels": acoustics.N_MELS,
            "sections": sections, "n_components": None, "null_shift": NULL_SHIFT}


def baseline_designs(dataset: Dataset, name: str, language: str) -> Designs:
    """Baseline ``name``'s regressors on every stimulus of ``language``, stacked (see
    :func:`baseline_designs_of`; Le Petit Prince: what each listener heard).

    Raises
    ------
    ValueError
        for an unknown baseline or language, or a rate baseline whose table the data set
        lacks.
    """
    check_baseline(name)
    dataset.check_language(language)
    return baseline_designs_of(dataset.stimuli[language], name)


def baseline_designs_of(stimuli: Sequence[Stimulus], name: str) -> Designs:
    """Baseline ``name``'s regressors on ``stimuli`` (those a group of listeners heard, in
    order: :meth:`analysis.datasets.Dataset.groups`), every section stacked, as a one-layer
    :class:`~analysis.designs.Designs` (computed and cached when missing)."""
    check_baseline(name)
    cache = Cache(cache_dir())
    key = baseline_key(name, stimuli)
    found = load_designs(cache, key)
    if found is not None:
        return found
    X = np.vstack([baseline_regressors(s, name) for s in stimuli])
    digest = key_digest(key)
    folder = cache.root / DESIGNS / digest
    files = {}
    for file_name, array in (("layer00.npy", X),
                             ("null00.npy", np.roll(X, int(len(X) * NULL_SHIFT), axis=0))):
        atomic_write(folder / file_name, lambda tmp, a=array: _save_npy(tmp, a))
        files[file_name] = file_digest(folder / file_name)
    receipt = {"stage": DESIGNS, "key": key, "files": files, "n_layers": 1, "n_scans": len(X)}
    text = json.dumps(receipt, sort_keys=True, indent=1)
    atomic_write(cache.root / DESIGNS / f"{digest}.json", lambda tmp: tmp.write_text(text))
    return Designs(folder, digest, 1, len(X))


def baseline_design(dataset: Dataset, name: str, language: str) -> np.ndarray:
    """Baseline ``name``'s regressors on ``language``'s stimuli (cached): array of shape
    (n_scans, n_features), float32, memory-mapped."""
    return baseline_designs(dataset, name, language).layer(0)


def baseline_scores(dataset: Dataset, profile: Profile, name: str, language: str,
                    participants: list[str] | None = None, null: bool = False) -> np.ndarray:
    """Brain scores of baseline ``name`` per vertex for the listeners of ``language``, by the
    code and cache of a model layer's (:func:`analysis.scores.participant_scores`); the
    listeners who heard the same stimuli share the regressors (Narratives: each group of
    stories, with its corpus's outer folds).

    Returns
    -------
    array of shape (n_participants, n_vertices) (with ``null``: a pair, the scores and the
    scores of the shifted regressors)
    """
    check_baseline(name)
    dataset.check_language(language)
    groups = dataset.groups(language, participants)
    cache, found = Cache(cache_dir()), {}
    for stimuli, people in groups:  # listeners of the same stimuli share the designs
        designs = baseline_designs_of(stimuli, name)
        for p in people:
            found[p.id] = scores.participant_scores(p, designs, profile, cache,
                                                    scores.run_trs(stimuli), [0], null,
                                                    n_jobs=1)
    out = [found[p.id] for p in dataset.participants_of(language) if p.id in found]
    fitted = np.stack([o["scores"][0] for o in out])
    return (fitted, np.stack([o["null_scores"][0] for o in out])) if null else fitted


def _save_npy(path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array, dtype=np.float32))
