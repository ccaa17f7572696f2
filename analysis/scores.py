"""Brain scores: each participant's encoding fits under one model, every layer and vertex,
cached per participant.

:func:`layer_scores` (the public entry point) scores the listeners of one language: the
designs of the model on the stimuli each group of them heard (one group per language of Le
Petit Prince; the Narratives listeners of the same stories:
:meth:`analysis.datasets.Dataset.groups`, :func:`analysis.designs.designs_of`), then one
cached product per participant, the same one that :mod:`analysis.jobs` writes (so a notebook
assembles what the jobs computed). The null scores (the regressors circularly shifted in
time) are a separate product, computed only when asked for, so a figure that needs no null
reuses the scores of one that did.

A participant's fit loads its BOLD once (array of shape (n_scans, n_vertices)) and reads each
layer's regressors from its memory-mapped file only while that layer is fitted, so it never
holds more than one layer's regressors per fitting process (``n_jobs``) on top of the
responses.
"""
from __future__ import annotations

import functools
from functools import partial
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from nilearn import signal
from tqdm import tqdm

from analysis import designs as designs_module
from analysis import encoding, models
from analysis.cache import Cache, key_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Participant, Stimulus
from analysis.designs import Designs

log = logging.getLogger(__name__)

SCORES = "participant_scores"
REGION_SCORES = "region_scores"  # cache stage of region_layer_scores
MAX_DEAD_SHARE = 0.2  # a participant with more of its vertices without signal is refused
N_VERTICES = 20484  # fsaverage5, both hemispheres


@dataclass(frozen=True)
class LayerScores:
    """Brain scores of every layer of one model.

    Attributes
    ----------
    scores : array of shape (n_participants, n_layers, n_vertices), Pearson r (NaN: not fitted)
    null_scores : same shape, with the regressors circularly shifted by half their length
    participants : participant ids, in the order of the first axis
    layers : layer indices as in the paper (0..6 convolutional, 7.. transformer)
    n_conv : number of convolutional layers
    """

    scores: np.ndarray
    null_scores: np.ndarray
    participants: list[str]
    layers: list[int]
    n_conv: int


def layer_scores(dataset: Dataset, profile: Profile, model: str, language: str,
                 participants: list[str] | None = None, layers: list[int] | None = None,
                 null: bool = True, n_components: int | None = None,
                 n_jobs: int | None = None) -> LayerScores:
    """Brain scores of the layers of ``model`` for the participants who heard ``language``.

    Parameters
    ----------
    model : a model name, or a condition (``"random"``, ``"native"``, ``"non-native"``,
        ``"non-speech"``, ``"supervised"``) resolved from ``language`` and the profile's
        ``model_family`` (see :func:`analysis.models.resolve_condition`)
    participants : participant ids to score (default: every listener of ``language``)
    layers : layer indices to score (default: every layer)
    null : also score the circularly shifted regressors (else ``null_scores`` is all NaN)
    n_components : PCA of each layer's regressors (see :func:`analysis.designs.designs_for`)
    n_jobs : layers fitted in parallel processes (default :func:`default_n_jobs`)
    """
    model = models.resolve_condition(model, language, profile.model_family)
    dataset.check_language(language)
    groups = dataset.groups(language, participants)
    cache = Cache(cache_dir())
    found = {}
    progress = tqdm(total=sum(len(people) for _, people in groups), desc="participants",
                    leave=False)
    for stimuli, people in groups:  # listeners of the same stimuli share their designs
        designs = designs_module.designs_of(stimuli, model, n_components)
        tr = run_trs(stimuli)
        for p in people:
            found[p.id] = participant_scores(p, designs, profile, cache, tr, layers, null,
                                             n_jobs=n_jobs)
            progress.update()
    progress.close()
    group = [p for p in dataset.participants_of(language) if p.id in found]
    out = [found[p.id] for p in group]
    indices = list(range(designs.n_layers)) if layers is None else list(layers)
    n_conv = len(models.load_config(models.resolve(model).name).conv_dim)
    return LayerScores(np.stack([o["scores"] for o in out]),
                       np.stack([o["null_scores"] for o in out]),
                       [p.id for p in group], indices, n_conv)


def region_layer_scores(dataset: Dataset, profile: Profile, model: str, language: str,
                        vertices: np.ndarray, participants: list[str] | None = None
                        ) -> LayerScores:
    """Brain scores of every layer of ``model`` on ``vertices`` only, the listeners who heard
    the same stimuli fitted in one call (cached per group): the cheap way to choose layers on
    some regions (:func:`analysis.layers.choose_layers`) without fitting the whole cortex.
    Under ``profile.cumulative``, layer k is scored on layers 0..k concatenated.

    Parameters
    ----------
    model : a model name or a condition (see :func:`layer_scores`)
    vertices : boolean array of shape (n_vertices,), the vertices fitted
    participants : participant ids to score (default: every listener of ``language``)

    Returns
    -------
    :class:`LayerScores` whose ``scores`` are NaN off ``vertices`` and whose ``null_scores``
    are all NaN (no null is fitted)
    """
    model = models.resolve_condition(model, language, profile.model_family)
    dataset.check_language(language)
    mask = np.asarray(vertices, bool)
    if mask.shape != (N_VERTICES,):
        raise ValueError(f"vertices must be a boolean array of shape ({N_VERTICES},); got "
                         f"{mask.shape}.")
    groups = dataset.groups(language, participants)
    found = {}
    for stimuli, people in groups:
        designs = designs_module.designs_of(stimuli, model)
        fit = fit_parameters(profile, people[0].corpus)
        key = {"stage": REGION_SCORES, "code": source_digest(encoding, encoding.ridge),
               "designs": designs.digest, "participants": [p.digest() for p in people],
               "vertices": key_digest({"vertices": np.flatnonzero(mask).tolist()}),
               "cumulative": profile.cumulative, "cleaning": cleaning_parameters(profile),
               **fit}

        def compute(stimuli=stimuli, people=people, designs=designs, fit=fit):
            tr = run_trs(stimuli)
            Y = np.hstack([responses(p, designs.n_scans, tr, profile)[:, mask] for p in people])
            fitted = encoding.score_layers([designs.layer(k) for k in range(designs.n_layers)],
                                           Y, cumulative=profile.cumulative, progress=False,
                                           n_jobs=default_n_jobs(), **fit)
            return {"scores": fitted.reshape(designs.n_layers, len(people), int(mask.sum()))}

        fitted = Cache(cache_dir()).get(REGION_SCORES, key, compute)["scores"]
        for i, p in enumerate(people):
            full = np.full((designs.n_layers, N_VERTICES), np.nan, dtype=np.float32)
            full[:, mask] = fitted[:, i]
            found[p.id] = full
    group = [p for p in dataset.participants_of(language) if p.id in found]
    stacked = np.stack([found[p.id] for p in group])
    n_conv = len(models.load_config(models.resolve(model).name).conv_dim)
    return LayerScores(stacked, np.full_like(stacked, np.nan), [p.id for p in group],
                       list(range(stacked.shape[1])), n_conv)


def noise_ceilings(dataset: Dataset, profile: Profile, language: str) -> np.ndarray:
    """Each listener of ``language`` predicted from the mean of the others, per vertex
    (:func:`analysis.encoding.noise_ceiling` on the cleaned responses, the profile's outer
    folds): array of shape (n_participants, n_vertices); all NaN with one listener.

    This is not an upper bound on a model's score: the mean of the others is a noisy estimate
    of the shared response, and a model may exceed it. The others are those who heard the same
    stimuli (:meth:`~analysis.datasets.Dataset.groups`: a Narratives listener is predicted
    from the other listeners of its stories, with its corpus's outer folds); a listener
    alone in its group has NaN.
    """
    found = {}
    for stimuli, people in dataset.groups(language):
        n_scans, tr = sum(s.n_scans for s in stimuli), run_trs(stimuli)
        if len(people) < 2:
            log.warning("noise ceiling: %s is the only listener of its stimuli in %s, none to "
                        "predict it from", people[0].id, language)
            found[people[0].id] = np.full(N_VERTICES, np.nan)
            continue
        ceilings = encoding.noise_ceiling(
            [responses(p, n_scans, tr, profile) for p in people],
            n_folds=profile.folds_of(people[0].corpus))
        found.update(zip((p.id for p in people), ceilings))
    group = dataset.participants_of(language)
    if not group:
        return np.full((0, N_VERTICES), np.nan)
    return np.stack([found[p.id] for p in group])


def offset_curve(dataset: Dataset, profile: Profile, model: str, language: str, layer: int,
                 offsets, masks: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """The alignment check: one layer's mean score in each region as a function of the
    assumed delay of the stimulus after each run's first scan.

    Only the regions' vertices are fitted, for every listener of ``language``; if the data
    are aligned as they should be (t=0 at the audio onset), each curve peaks at 0.

    Parameters
    ----------
    model : a model name or condition; layer : its layer (paper numbering)
    offsets : assumed delays (s), e.g. ``range(-10, 11, 2)``
    masks : region name -> boolean array of shape (n_vertices,)

    Returns
    -------
    region -> mean score (over its vertices and the listeners) at each offset
    """
    model = models.resolve_condition(model, language, profile.model_family)
    union = np.logical_or.reduce(list(masks.values()))
    offsets = [float(offset) for offset in offsets]
    per_offset = [[] for _ in offsets]  # arrays of shape (n_listeners, n_union), per group
    for stimuli, people in dataset.groups(language):
        n_scans, tr = sum(s.n_scans for s in stimuli), run_trs(stimuli)
        Y = [responses(p, n_scans, tr, profile)[:, union] for p in people]
        shifted = designs_module.shifted_layer(stimuli, model, None, layer, offsets)
        for found, X in zip(per_offset, tqdm(shifted, desc="offsets", leave=False)):
            found.append(np.stack([encoding.brain_score(X, y, **fit_parameters(
                profile, p.corpus)) for p, y in zip(people, Y)]))
    curves = {name: [] for name in masks}
    for found in per_offset:
        r = np.vstack(found)
        for name, mask in masks.items():
            curves[name].append(float(np.nanmean(r[:, mask[union]])))
    return curves


def default_n_jobs() -> int:
    """Processes fitting layers in parallel, one BLAS thread each: ``$ANALYSIS_N_JOBS`` (set
    where memory is short, e.g. on Binder), or every CPU (one BLAS pool spread over all cores
    loses to one process per core here)."""
    value = os.environ.get("ANALYSIS_N_JOBS", "")
    if value and not value.isdigit():
        raise ValueError(f"ANALYSIS_N_JOBS={value!r} must be a positive integer.")
    return int(value) if value else (os.cpu_count() or 1)


def fit_parameters(profile: Profile, corpus: str | None = None) -> dict:
    """The encoding settings of ``profile`` for the listeners of ``corpus`` (its outer folds:
    :meth:`~analysis.config.Profile.folds_of`), as passed to
    :func:`analysis.encoding.brain_score` (and held in cache keys)."""
    return {"n_folds": profile.folds_of(corpus), "inner_folds": profile.inner_folds,
            "alphas": list(profile.alphas), "alpha_selection": profile.alpha_selection,
            "dtype": profile.precision, "y_pca": profile.y_pca}


def cleaning_parameters(profile: Profile) -> dict:
    """How each run of BOLD is cleaned (see :func:`responses`), as held in cache keys."""
    return {"detrend": True, "high_pass": profile.high_pass, "filter": "cosine",
            "standardize": "zscore_sample", "max_dead_share": MAX_DEAD_SHARE}


def scores_key(designs_digest: str, participant_digest: str, profile: Profile,
               layers: Sequence[int] | None = None, corpus: str | None = None) -> dict:
    """Cache key of one participant's scores (``participant_digest``: its
    :meth:`~analysis.datasets.Participant.digest`; ``corpus``: its corpus, which chooses the
    outer folds); :func:`null_key` derives its null's."""
    return {"stage": SCORES, "code": source_digest(encoding, encoding.ridge),
            "designs": designs_digest, "participant": participant_digest,
            "layers": None if layers is None else list(layers), "cumulative": profile.cumulative,
            "cleaning": cleaning_parameters(profile), **fit_parameters(profile, corpus)}


def null_key(key: dict) -> dict:
    """Cache key of the null scores (shifted regressors) that go with the scores of ``key``."""
    return {**key, "shifted": designs_module.NULL_SHIFT}


def scores_done(cache: Cache, key: dict, null: bool) -> bool:
    """Whether the scores of ``key`` (and their null, when ``null``) are cached."""
    return all(cache.load(SCORES, k) is not None
               for k in ([key, null_key(key)] if null else [key]))


def participant_scores(participant: Participant, designs: Designs, profile: Profile,
                       cache: Cache, tr: float | Sequence[float],
                       layers: Sequence[int] | None = None,
                       null: bool = True, key: dict | None = None,
                       n_jobs: int | None = None) -> dict:
    """Brain scores of one participant's vertices for each layer, cached.

    Parameters
    ----------
    designs : the layers' regressors (:mod:`analysis.designs`) of the participant's language
    tr : the runs' repetition time (s), one for all or one per run (:func:`run_trs`), for
        the high-pass filter
    layers : layer indices to score (default: every layer)
    null : also score the shifted regressors (else ``null_scores`` is all NaN)
    key : :func:`scores_key` of these inputs, when already computed (it checksums the BOLD)
    n_jobs : layers fitted in parallel processes (default :func:`default_n_jobs`)

    Returns
    -------
    dict with ``scores`` and ``null_scores``, arrays of shape (n_layers_scored, n_vertices)
    """
    indices = list(range(designs.n_layers)) if layers is None else list(layers)
    for index in indices:
        if not 0 <= index < designs.n_layers:
            raise ValueError(f"layers={list(layers)}: the model has layers 0 to "
                             f"{designs.n_layers - 1}.")
    if key is None:
        key = scores_key(designs.digest, participant.digest(), profile, layers,
                         participant.corpus)
    fit = fit_parameters(profile, participant.corpus)
    jobs = default_n_jobs() if n_jobs is None else n_jobs

    # the participant's BOLD, loaded once if either product is computed
    bold = functools.cache(lambda: responses(participant, designs.n_scans, tr, profile))

    def scored(shifted: bool):
        def compute():
            if not profile.cumulative:
                return {"scores": encoding.score_layers(
                    [designs.layer(i, null=shifted) for i in indices], bold(), n_jobs=jobs,
                    **fit)}
            # layer k is scored on layers 0..k: every layer up to the deepest asked for
            stack = [designs.layer(i, null=shifted) for i in range(max(indices) + 1)]
            return {"scores": encoding.score_layers(stack, bold(), cumulative=True,
                                                    n_jobs=jobs, **fit)[indices]}
        return cache.get(SCORES, null_key(key) if shifted else key, compute)["scores"]

    scores = scored(False)
    return {"scores": scores,
            "null_scores": scored(True) if null else np.full_like(scores, np.nan)}


def scan_tr(stimuli: Sequence[Stimulus]) -> float:
    """The repetition time shared by ``stimuli``'s runs (s).

    Raises
    ------
    ValueError
        when the runs of one language were acquired with different TRs.
    """
    trs = sorted({float(s.tr) for s in stimuli})
    if len(trs) != 1:
        raise ValueError(f"the runs have different TRs {trs}; fit each TR's runs apart.")
    return trs[0]


def run_trs(stimuli: Sequence[Stimulus]) -> list[float]:
    """The repetition time of each run (s), in order: a Narratives listener's runs may differ
    (1.52 s for 17 ``milkyway`` scans, 1.5 s for the others)."""
    return [float(s.tr) for s in stimuli]


def responses(participant: Participant, n_scans: int, tr: float | Sequence[float],
              profile: Profile) -> np.ndarray:
    """The participant's BOLD, each run cleaned, every run stacked: array of shape (n_scans,
    n_vertices), float32, NaN at the vertices left out.

    Each run (one file of ``participant.bold_paths``) is detrended, high-pass filtered
    (cosine basis, cut-off ``profile.high_pass``) and z-scored per vertex by nilearn's
    ``signal.clean``, so runs that differ in mean level and drift (as preprocessed runs do)
    stack without steps or slopes. ``tr`` is the runs' repetition time, or one per run
    (:func:`run_trs`), each run then filtered at its own. One mask serves the whole
    participant: a vertex is kept when its series is finite and varies in every run.

    Raises
    ------
    ValueError
        when the runs do not have ``n_scans`` scans in all, or when more than
        :data:`MAX_DEAD_SHARE` of a run's vertices carry no signal (naming the file).
    """
    runs = [np.load(path).astype(np.float32) for path in participant.bold_paths]
    if sum(len(run) for run in runs) != n_scans:
        raise ValueError(f"{participant.id}: its BOLD has {sum(len(run) for run in runs)} "
                         f"scans but the sections it heard have {n_scans}; check "
                         f"{', '.join(map(str, participant.bold_paths))}.")
    alive = np.ones(runs[0].shape[1], dtype=bool)
    for path, run in zip(participant.bold_paths, runs):
        living = np.isfinite(run).all(axis=0)
        living[living] = run[:, living].std(axis=0) > 0
        if 1 - living.mean() > MAX_DEAD_SHARE:
            raise ValueError(f"{path}: {1 - living.mean():.0%} of the vertices carry no signal "
                             f"(more than {MAX_DEAD_SHARE:.0%}); a run projected from the "
                             "wrong space or with a wrong affine usually looks like this: "
                             "check that the volumes are in MNI space.")
        alive &= living
    trs = [float(t) for t in tr] if np.ndim(tr) else [float(tr)] * len(runs)
    if len(trs) != len(runs):
        raise ValueError(f"{participant.id}: {len(trs)} repetition times for {len(runs)} runs "
                         f"({', '.join(map(str, participant.bold_paths))}).")
    clean = partial(signal.clean, detrend=True, standardize="zscore_sample",
                    filter="cosine" if profile.high_pass else False,
                    high_pass=profile.high_pass)
    if len(set(trs)) == 1:
        labels = np.repeat(np.arange(len(runs)), [len(run) for run in runs])
        cleaned = clean(np.vstack([run[:, alive] for run in runs]), runs=labels, t_r=trs[0])
    else:  # each run at its own TR (cleaning is per run either way)
        cleaned = np.vstack([clean(run[:, alive], t_r=t) for run, t in zip(runs, trs)])
    out = np.full((n_scans, len(alive)), np.nan, dtype=np.float32)
    out[:, alive] = cleaned
    return out
