"""Variance partitioning: what a model layer explains beyond an acoustic baseline.

For a baseline A (:mod:`analysis.baselines`) and a model layer L, three encoding models are
scored per vertex, with the same contiguous outer folds, X standardisation and robust scaling
of Y as :func:`analysis.encoding.brain_score`:

- A alone and L alone: :func:`analysis.encoding.score_layers` itself (one penalty per
  target, the project's solver);
- A+L: banded ridge from himalaya (:class:`himalaya.ridge.GroupRidgeCV`, one penalty per
  band and target: each band is scaled by ``sqrt(gamma)`` for each point ``gamma`` of a grid
  on the simplex (:func:`band_weights`), and the best point and penalty of each target are
  chosen on the training part by inner K-fold, each inner training part centred).

Every fit chooses its penalties the same way, whatever the profile's ``alpha_selection``: by
inner K-fold on folds drawn at random (:data:`SELECTION`, ``"shuffled-kfold"`` of
:mod:`analysis.ridge`, scikit-learn's ``KFold(shuffle=True)`` for himalaya), so that the
differences of R^2 below compare fits chosen alike. Not contiguous inner folds: on the demo
world's cores (12 listeners, native layer 7, 501 scans), contiguous inner folds chose
penalties whose held-out r was -0.011 in STS and -0.008 in IFG, where random inner folds gave
+0.024 and +0.027 and leave-one-out +0.028 and +0.031 (the same outer folds; on the strong
targets of A1+A2 all three agree within 0.04). The outer folds, which score, stay contiguous.
The grid holds the corners (one band alone; a band's weight of 0 is :data:`MIN_WEIGHT`, since
himalaya divides by it), so the joint fit can always fall back on either band.

From the cross-validated r of each model, with ``R^2 = max(r, 0)^2`` (a prediction that does
not correlate positively with the held-out response explains nothing; a signed ``r^2`` would
count a baseline's anti-correlated prediction as negative variance, which any other model
"explains" by merely not anti-correlating):

- ``unique = R^2(A+L) - R^2(A)``: the variance L explains beyond A;
- ``shared = R^2(A) + R^2(L) - R^2(A+L)``: the variance both explain;
- ``unique_null = R^2(A+L') - R^2(A)``, with L' the layer's regressors circularly shifted in
  time (the null of :mod:`analysis.designs`): what a band of L's size and statistics adds to A
  when it is not aligned with the stimulus. It is the estimate's bias: adding a band costs
  held-out variance where it carries nothing (the choice among more penalties), and the
  clipping of R^2 at 0 favours the fit whose r scatters more around 0.

Per region (:func:`roi_summary`): each listener's mean over the region's vertices, then the
mean across listeners with a percentile bootstrap interval, and whether L adds variance to A:
two one-sided Wilcoxon signed-rank tests across listeners (scipy, :mod:`analysis.stats`),
``unique > 0`` (A+L predicts held-out data better than A alone) and ``unique >
unique_null`` (paired: L adds more than its shifted copy does), both of which must hold, so
``p_unique`` is the larger p (an intersection-union test, valid at its level without
correction). Neither test alone is enough. Against 0 only, the bias above passes for
variance. Against the null only, a layer redundant with A passes: the shifted copy is
independent of A, and adding an independent band costs more held-out variance than adding a
redundant one. On the demo world's A1+A2 cores (12 listeners, acoustic baseline), the
trained layer's unique variance was -0.0059, its null's -0.0081: "above the null" at
p = 0.005, for the untrained model too (p = 0.006), while adding either layer made the held-out
prediction worse than the baseline alone.
"""
from __future__ import annotations

import itertools
import logging
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from himalaya.backend import get_backend, set_backend
from himalaya.ridge import GroupRidgeCV
from himalaya.scoring import l2_neg_loss as himalaya_l2_neg_loss
from sklearn.model_selection import KFold

from analysis import baselines, encoding, ridge, scores, stats
from analysis.cache import Cache, key_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Participant, Stimulus
from analysis.designs import designs_of

log = logging.getLogger(__name__)

SELECTION = "shuffled-kfold"  # how every fit of the partition chooses its penalties
MIN_WEIGHT = 1e-6  # a band's weight at the grid's corners (himalaya cannot take 0)
GRID_STEPS = 4  # the simplex grid's points per edge (2 bands: weights 0, 1/4, ..., 1)
PARTITION = "partition"  # cache stage
QUANTITIES = ("baseline_r", "model_r", "joint_r", "unique", "shared", "unique_null")
HIMALAYA_BACKENDS = {"numpy": "numpy", "torch": "torch", "cuda": "torch_cuda"}
TARGETS_BATCH = 4096  # targets per batch of himalaya's solver (memory)


def band_weights(n_bands: int, steps: int = GRID_STEPS) -> np.ndarray:
    """The grid of band weights searched: every point of the simplex whose weights are
    multiples of ``1 / steps``, a weight of 0 replaced by :data:`MIN_WEIGHT`.

    Returns
    -------
    array of shape (n_points, n_bands), each row summing to about 1 (corners first)
    """
    if n_bands < 1 or steps < 1:
        raise ValueError(f"n_bands={n_bands} and steps={steps} must be positive integers.")
    points = [p for p in itertools.product(range(steps + 1), repeat=n_bands)
              if sum(p) == steps]
    points.sort(key=lambda p: (-max(p), [-w for w in p]))  # the corners first, band 0 first
    weights = np.asarray(points, dtype=float) / steps
    return np.where(weights > 0, weights, MIN_WEIGHT)


def himalaya_backend(backend: str = "auto") -> str:
    """himalaya's name of the backend :func:`analysis.encoding.resolve_backend` picks:
    ``"torch_cuda"`` when torch sees a GPU (``"auto"``), else ``"numpy"``; ``"torch"`` (CPU)
    when asked for."""
    return HIMALAYA_BACKENDS[encoding.resolve_backend(backend)]


def l2_neg_loss(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """himalaya's score of its penalty search (:func:`himalaya.scoring.l2_neg_loss`, the
    negative mean squared error per target), for numpy arrays, computed in place in one
    temporary and without scanning the predictions for NaN or inf: only when a loss is not
    finite is himalaya's own function called, which zeroes those predictions first. Equal
    to it.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_targets)
    y_pred : array of shape (n_alphas, n_samples, n_targets) or (n_samples, n_targets)

    Returns
    -------
    array of shape (n_alphas, n_targets) or (n_targets,)
    """
    axis = 1 if y_pred.ndim > y_true.ndim else 0
    error = np.subtract(y_pred, y_true, out=np.empty_like(y_pred))
    np.square(error, out=error)
    loss = -error.sum(axis) / y_true.shape[0]
    return loss if np.isfinite(loss).all() else himalaya_l2_neg_loss(y_true, y_pred)


def banded_fit_predict(bands_train: Sequence[np.ndarray], Y_train: np.ndarray,
                       bands_test: Sequence[np.ndarray], alphas: Sequence[float],
                       inner_folds: int = 5, weights: np.ndarray | None = None,
                       backend: str = "auto", dtype=np.float32) -> np.ndarray:
    """Banded ridge (himalaya's ``GroupRidgeCV``), one penalty per band and target chosen by
    inner K-fold on random folds (:data:`SELECTION`) of the training part; predictions of the
    test part.

    Parameters
    ----------
    bands_train : one array of shape (n_train, n_features_band) per band
    Y_train : array of shape (n_train, n_targets)
    bands_test : one array of shape (n_test, n_features_band) per band
    alphas : penalties searched (for each point of the weight grid)
    weights : the band weights searched, array of shape (n_points, n_bands) (default
        :func:`band_weights`)
    backend : ``"auto"``, ``"numpy"``, ``"torch"`` or ``"cuda"``

    Returns
    -------
    array of shape (n_test, n_targets), float64
    """
    if len(bands_train) != len(bands_test) or not bands_train:
        raise ValueError(f"bands_train ({len(bands_train)}) and bands_test "
                         f"({len(bands_test)}) must hold the same bands, at least one.")
    weights = band_weights(len(bands_train)) if weights is None else np.asarray(weights, float)
    previous = get_backend()
    name = himalaya_backend(backend)
    back = set_backend(name, on_error="raise")
    scoring = {"score_func": l2_neg_loss} if name == "numpy" else {}
    try:
        model = GroupRidgeCV(
            groups="input", fit_intercept=True,
            cv=KFold(inner_folds, shuffle=True, random_state=ridge.SHUFFLE_SEED),
            solver_params={"alphas": np.asarray(alphas, dtype=dtype), "n_iter": weights,
                           "progress_bar": False, "n_targets_batch": TARGETS_BATCH,
                           "n_targets_batch_refit": TARGETS_BATCH, "warn": False,
                           **scoring})
        model.fit([np.asarray(b, dtype=dtype) for b in bands_train],
                  np.asarray(Y_train, dtype=dtype))
        prediction = model.predict([np.asarray(b, dtype=dtype) for b in bands_test])
        return np.asarray(back.to_numpy(prediction), dtype=np.float64)
    finally:
        set_backend(previous)


def banded_scores(bands: Sequence[np.ndarray], Y: np.ndarray, *, n_folds: int = 10,
                  alphas: Sequence[float] = encoding.DEFAULT_ALPHAS, inner_folds: int = 5,
                  weights: np.ndarray | None = None, backend: str = "auto",
                  dtype=np.float32, scaling=None) -> np.ndarray:
    """Cross-validated score of the banded ridge on ``bands``, per target, by the outer loop
    of :func:`analysis.encoding.brain_score` (contiguous folds, X standardised and Y
    robust-scaled on each training part, Pearson r on the test part averaged over folds).

    Parameters
    ----------
    bands : one array of shape (n_samples, n_features_band) per band
    Y : array of shape (n_samples, n_targets); NaN or constant targets stay NaN
    scaling : :func:`analysis.encoding.target_scaling` of ``Y``, when already computed

    Returns
    -------
    array of shape (n_targets,), float32
    """
    Y = np.asarray(Y)
    for X in bands:
        if np.ndim(X) != 2 or len(X) != len(Y):
            raise ValueError(f"every band must be 2-D with Y's {len(Y)} rows; got "
                             f"{[np.shape(b) for b in bands]}.")
    valid, scalings = encoding.target_scaling(Y, n_folds) if scaling is None else scaling
    folds = []
    for (train, test), (center, scale) in zip(encoding.outer_folds(len(Y), n_folds), scalings):
        y_train = (Y[train][:, valid].astype(np.float64) - center) / scale
        y_test = (Y[test][:, valid].astype(np.float64) - center) / scale
        y_mean = y_train.mean(0)
        train_bands, test_bands = [], []
        for X in bands:
            X = np.asarray(X, dtype=np.float64)
            mean, std = X[train].mean(0), X[train].std(0)
            std = np.where(std > 0, std, 1.0)
            train_bands.append((X[train] - mean) / std)
            test_bands.append((X[test] - mean) / std)
        prediction = banded_fit_predict(train_bands, y_train - y_mean, test_bands, alphas,
                                        inner_folds, weights, backend, dtype) + y_mean
        folds.append(encoding.pearson_r(prediction, y_test))
    out = np.full(Y.shape[1], np.nan, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a target NaN on every fold
        out[valid] = np.nanmean(folds, axis=0)
    return out


def explained_variance(r: np.ndarray) -> np.ndarray:
    """``max(r, 0)^2``: the variance a cross-validated prediction explains (none where it
    does not correlate positively with the response)."""
    r = np.asarray(r, dtype=np.float64)
    return np.square(np.clip(r, 0.0, None))


def partition_values(baseline_r: np.ndarray, model_r: np.ndarray, joint_r: np.ndarray,
                     null_joint_r: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``unique`` (``R^2(A+L) - R^2(A)``), ``shared`` (``R^2(A) + R^2(L) - R^2(A+L)``) and
    ``unique_null`` (``R^2(A+L') - R^2(A)``; NaN without ``null_joint_r``) from the scores
    (arrays of one shape), beside the scores themselves."""
    a, l, j = (explained_variance(r) for r in (baseline_r, model_r, joint_r))
    null = (np.full(np.shape(a), np.nan) if null_joint_r is None
            else explained_variance(null_joint_r) - a)
    return {"baseline_r": np.asarray(baseline_r, np.float64),
            "model_r": np.asarray(model_r, np.float64), "joint_r": np.asarray(joint_r, np.float64),
            "unique": j - a, "shared": a + l - j, "unique_null": null}


def partition_scores(baseline: np.ndarray, layer: np.ndarray, Y: np.ndarray, *,
                     null_layer: np.ndarray | None = None, n_folds: int = 10,
                     alphas: Sequence[float] = encoding.DEFAULT_ALPHAS,
                     inner_folds: int = 5, weights: np.ndarray | None = None,
                     backend: str = "auto", dtype=np.float32) -> dict[str, np.ndarray]:
    """The partition of each target's variance between a baseline A and a layer L.

    Parameters
    ----------
    baseline : array of shape (n_samples, n_features_A), A's regressors
    layer : array of shape (n_samples, n_features_L), L's regressors
    Y : array of shape (n_samples, n_targets)
    null_layer : array of L's shape, L's regressors shifted in time (None: no null)

    Returns
    -------
    dict of arrays of shape (n_targets,): ``baseline_r``, ``model_r``, ``joint_r`` (Pearson
    r, cross-validated) and ``unique``, ``shared``, ``unique_null`` (differences of R^2, see
    :func:`explained_variance`)
    """
    scaling = encoding.target_scaling(np.asarray(Y), n_folds)
    single = encoding.score_layers([baseline, layer], Y, progress=False, n_folds=n_folds,
                                   alphas=alphas, alpha_selection=SELECTION,
                                   inner_folds=inner_folds, backend=backend, dtype=dtype,
                                   scaling=scaling)
    joint = [banded_scores([baseline, band], Y, n_folds=n_folds, alphas=alphas,
                           inner_folds=inner_folds, weights=weights, backend=backend,
                           dtype=dtype, scaling=scaling)
             for band in ([layer] if null_layer is None else [layer, null_layer])]
    return partition_values(single[0], single[1], *joint)


@dataclass(frozen=True)
class Partition:
    """The partition of every fitted vertex of each listener.

    Attributes
    ----------
    values : quantity of :data:`QUANTITIES` -> array of shape (n_participants, n_vertices)
        (NaN at the vertices not fitted)
    participants : participant ids, in the order of the first axis
    model, baseline : what was partitioned
    layers : integer array of shape (n_participants, n_vertices), the model's layer fitted at
        each vertex (-1 where none was)
    """

    values: dict[str, np.ndarray]
    participants: list[str]
    model: str
    layers: np.ndarray
    baseline: str


def dataset_partition(dataset: Dataset, profile: Profile, model: str,
                      layer: int | dict[str, int], baseline: str, language: str,
                      vertices: np.ndarray | None = None, participants: list[str] | None = None,
                      null: bool = True) -> Partition:
    """:func:`partition_scores` of every listener of ``language`` (or of ``participants``),
    on ``vertices``, cached. The listeners who heard the same stimuli, at the same layer, are
    fitted at once (they share the regressors; Narratives: each group of stories, with its
    corpus's folds).

    Parameters
    ----------
    model : a resolved model name (:func:`analysis.models.resolve_condition`)
    layer : its layer (paper numbering: 0-6 convolutional, 7.. transformer), the same for
        everyone, or participant id -> layer (the participants then default to its keys)
    baseline : one of :data:`analysis.baselines.BASELINES`
    vertices : boolean array of shape (n_vertices,), the vertices fitted (default: all)
    null : also fit A with the layer shifted in time (``unique_null``; else NaN)
    """
    baselines.check_baseline(baseline)
    dataset.check_language(language)
    if isinstance(layer, dict):
        participants = list(layer) if participants is None else participants
        missing = sorted(set(participants) - set(layer))
        if missing:
            raise ValueError(f"layer gives no layer for participants {missing}.")
    n_vertices = scores.N_VERTICES
    mask = np.ones(n_vertices, bool) if vertices is None else np.asarray(vertices, bool)
    if mask.shape != (n_vertices,):
        raise ValueError(f"vertices must be a boolean array of shape ({n_vertices},); got "
                         f"{mask.shape}.")
    groups = dataset.groups(language, participants)
    found, fitted_layer = {}, {}
    for stimuli, people in groups:
        by_layer = {}
        for p in people:
            by_layer.setdefault(int(layer[p.id] if isinstance(layer, dict) else layer),
                                []).append(p)
        for number, same in sorted(by_layer.items()):
            fitted = _group_partition(stimuli, same, profile, model, number, baseline, mask,
                                      null)
            found.update({p.id: {name: fitted[name][i] for name in QUANTITIES}
                          for i, p in enumerate(same)})
            fitted_layer.update({p.id: number for p in same})
    ids = [p.id for p in dataset.participants_of(language) if p.id in found]
    values = {}
    for name in QUANTITIES:
        full = np.full((len(ids), n_vertices), np.nan)
        full[:, mask] = np.stack([found[i][name] for i in ids])
        values[name] = full
    layers = np.full((len(ids), n_vertices), -1, dtype=int)
    layers[:, mask] = np.array([fitted_layer[i] for i in ids])[:, None]
    return Partition(values, ids, model, layers, baseline)


def region_partitions(dataset: Dataset, profile: Profile, model: str,
                      choices: dict[str, Sequence[int]], participants: list[str],
                      masks: dict[str, np.ndarray], baseline: str, language: str,
                      null: bool = True) -> dict[str, Partition]:
    """The partition of each region's vertices, each listener at the layer chosen for it in
    that region. Each layer is fitted once (:func:`dataset_partition`), for the listeners and
    on the regions that need it: a fit costs about as much for a few vertices as for many.

    Parameters
    ----------
    choices : region -> one layer per participant (the ``layers`` of a
        :class:`~analysis.layers.LayerChoice`: :func:`analysis.layers.choose_region_layers`)
    participants : participant ids of ``language``, in the dataset's order, the order of the
        choices' layers
    masks : region -> boolean array of shape (n_vertices,)

    Returns
    -------
    region -> :class:`Partition` of every participant, values NaN off the region
    """
    needed: dict[int, tuple[set, np.ndarray]] = {}  # layer -> (participants, vertices)
    for region, chosen in choices.items():
        if len(chosen) != len(participants):
            raise ValueError(f"choices[{region!r}] gives {len(chosen)} layers for "
                             f"{len(participants)} participants.")
        for pid, number in zip(participants, chosen):
            ids, vertices = needed.setdefault(int(number), (set(), np.zeros(scores.N_VERTICES,
                                                                             bool)))
            ids.add(pid)
            vertices |= np.asarray(masks[region], bool)
    fits = {number: dataset_partition(dataset, profile, model, number, baseline, language,
                                      vertices=vertices,
                                      participants=[p for p in participants if p in ids],
                                      null=null)
            for number, (ids, vertices) in sorted(needed.items())}
    out = {}
    for region, chosen in choices.items():
        mask = np.asarray(masks[region], bool)
        values = {name: np.full((len(participants), scores.N_VERTICES), np.nan)
                  for name in QUANTITIES}
        layers = np.full((len(participants), scores.N_VERTICES), -1, dtype=int)
        for i, (pid, number) in enumerate(zip(participants, chosen)):
            fit = fits[int(number)]
            row = fit.participants.index(pid)
            for name in QUANTITIES:
                values[name][i, mask] = fit.values[name][row, mask]
            layers[i, mask] = int(number)
        out[region] = Partition(values, list(participants), model, layers, baseline)
    return out


def _group_partition(stimuli: Sequence[Stimulus], people: Sequence[Participant],
                     profile: Profile, model: str, layer: int, baseline: str,
                     mask: np.ndarray, null: bool) -> dict[str, np.ndarray]:
    """:func:`partition_scores` of listeners who heard the same ``stimuli``, on ``mask``'s
    vertices, cached: quantity -> array of shape (n_people, n_masked)."""
    model_designs = designs_of(stimuli, model)
    base = baselines.baseline_designs_of(stimuli, baseline)
    fit = scores.fit_parameters(profile, people[0].corpus)
    key = {"stage": PARTITION, "code": source_digest(sys.modules[__name__], encoding, ridge),
           "designs": model_designs.digest, "layer": layer, "baseline": base.digest,
           "participants": [p.digest() for p in people],
           "vertices": key_digest({"vertices": np.flatnonzero(mask).tolist()}),
           "cleaning": scores.cleaning_parameters(profile), "selection": SELECTION,
           "grid_steps": GRID_STEPS, "null": null, **fit}

    def compute():
        tr = scores.run_trs(stimuli)
        Y = np.hstack([scores.responses(p, model_designs.n_scans, tr, profile)[:, mask]
                       for p in people])
        fitted = partition_scores(base.layer(0), model_designs.layer(layer), Y,
                                  null_layer=model_designs.layer(layer, null=True) if null
                                  else None, n_folds=fit["n_folds"], alphas=fit["alphas"],
                                  inner_folds=fit["inner_folds"], dtype=fit["dtype"])
        return {name: value.reshape(len(people), int(mask.sum()))
                for name, value in fitted.items()}

    return Cache(cache_dir()).get(PARTITION, key, compute)


def roi_summary(partition: Partition | dict[str, Partition], masks: dict[str, np.ndarray],
                seed: int = 0) -> dict:
    """Each region's partition across listeners.

    Parameters
    ----------
    partition : one :class:`Partition` for every region, or region -> its own
        (:func:`region_partitions`)
    masks : region name -> boolean array of shape (n_vertices,); each listener's value is
        the mean over the region's fitted vertices

    Returns
    -------
    region -> {``baseline_r``, ``model_r``, ``joint_r``, ``unique``, ``shared`` (means across
    listeners), ``joint_r2`` (the mean R^2 of A+L), ``unique_share`` (``unique_tested /
    joint_r2``: the share of what A+L explains that only L explains, beyond its null; NaN
    when A+L explains nothing), ``unique_ci`` (95 % percentile bootstrap interval of the mean unique),
    ``unique_null`` (the mean unique variance of the time-shifted layer, NaN without a null),
    ``p_unique`` (the larger of ``p_unique_zero`` and ``p_unique_null``; NaN with fewer
    than 2 listeners), ``p_unique_zero`` (one-sided Wilcoxon signed-rank test across
    listeners of unique > 0), ``p_unique_null`` (the same of unique > unique_null, paired;
    NaN without a null), ``p_unique_two_sided`` (two-sided test of unique - unique_null, or
    of unique without a null), ``unique_tested`` (the mean of unique - unique_null, or of
    unique), ``n`` (listeners), ``per_listener`` (quantity -> list)}
    """
    out = {}
    for name, mask in masks.items():
        mask = np.asarray(mask, bool)
        values = (partition[name] if isinstance(partition, dict) else partition).values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a listener without a vertex
            per = {quantity: np.nanmean(values[quantity][:, mask], axis=1)
                   for quantity in QUANTITIES}
            per["joint_r2"] = np.nanmean(explained_variance(values["joint_r"][:, mask]),
                                         axis=1)
        has_null = bool(np.isfinite(per["unique_null"]).any())
        tested = per["unique"] - per["unique_null"] if has_null else per["unique"]
        finite = tested[np.isfinite(tested)]
        p_null, p_two_sided = _tests(finite, ("greater", "two-sided"))
        (p_zero,) = _tests(per["unique"][np.isfinite(per["unique"])], ("greater",))
        if not has_null:
            p_null = float("nan")
        p = float(np.max([p_zero, p_null])) if has_null else p_zero  # NaN if either is
        means = {q: float(np.nanmean(v)) for q, v in per.items()}
        tested_mean = float(np.mean(finite)) if len(finite) else float("nan")
        out[name] = {**means, "unique_share": (tested_mean / means["joint_r2"]
                                               if means["joint_r2"] > 0 else float("nan")),
                     "unique_ci": list(stats.bootstrap_ci(per["unique"], seed=seed)),
                     "unique_tested": tested_mean,
                     "p_unique": p, "p_unique_zero": p_zero, "p_unique_null": p_null,
                     "p_unique_two_sided": p_two_sided, "n": int(len(finite)),
                     "per_listener": {q: v.tolist() for q, v in per.items()}}
    return out


def _tests(values: np.ndarray, sides: Sequence[str]) -> list[float]:
    """The one-sample Wilcoxon signed-rank p of ``values`` (across listeners) for each
    alternative of ``sides``; NaN with fewer than 2 values or all of them 0."""
    if len(values) < 2 or np.allclose(values, 0):
        return [float("nan")] * len(sides)
    return [float(stats.one_sample_test(values, alternative=side)) for side in sides]


def significant_regions(summary: dict, alpha: float = 0.05) -> tuple[list[str], list[str]]:
    """The regions of a :func:`roi_summary` where the layer adds variance to the baseline
    (``p_unique < alpha``: more than 0 and than its null), and those where it adds
    significantly less than its null (two-sided ``p_unique_two_sided < alpha``)."""
    above = [r for r, s in summary.items() if s["p_unique"] < alpha and s["unique_tested"] > 0]
    below = [r for r, s in summary.items() if s["p_unique_two_sided"] < alpha
             and s["unique_tested"] < 0]
    return above, below


def paired_unique(trained: dict, untrained: dict) -> dict[str, dict]:
    """Per region, the unique variance of two models' :func:`roi_summary` compared across
    listeners: the mean of trained minus untrained and the two-sided paired Wilcoxon p (NaN
    with one listener or identical values).

    Returns
    -------
    dict region -> {``difference``, ``p``}
    """
    out = {}
    for region in trained:
        a = np.array(trained[region]["per_listener"]["unique"])
        b = np.array(untrained[region]["per_listener"]["unique"])
        testable = len(a) > 1 and not np.allclose(a, b)
        out[region] = {"difference": float(np.mean(a - b)),
                       "p": float(stats.paired_test(a, b)) if testable else float("nan")}
    return out
