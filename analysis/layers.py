"""Which layer a figure shows, and how deep each region is fit.

A figure shows one layer per model and participant (:func:`choose_layers`,
:func:`layer_map`), chosen without circularity: from the other participants' scores, or fixed
in advance. Figure 3 shows each vertex's best layer, kept where it beats the null (:func:`best_layer_map`), and the share
of each region that each layer wins (:func:`layer_shares`).
"""
from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import scores
from analysis.config import Profile
from analysis.datasets import Dataset
from analysis.scores import LayerScores

log = logging.getLogger(__name__)


LEAVE_ONE_OUT = "leave-one-participant-out"
FIXED = "fixed"


@dataclass(frozen=True)
class LayerChoice:
    """The layer a figure shows for each participant, and how it was chosen.

    Attributes
    ----------
    layers : one layer number per participant (paper numbering: 0..6 convolutional, 7..
        transformer), in the order of :attr:`LayerScores.participants`
    method : :data:`LEAVE_ONE_OUT` (each participant's layer is the best of the *other*
        participants' mean scores, so that no participant's own data choose the layer its
        score is then read at) or :data:`FIXED` (a layer given before looking at the data)
    """

    layers: tuple[int, ...]
    method: str

    def __str__(self) -> str:
        distinct = sorted(set(self.layers))
        return str(distinct[0]) if len(distinct) == 1 else "/".join(map(str, self.layers))

    def numbers(self) -> dict:
        """JSON-ready: ``{"layers": [...], "method": ...}``."""
        return {"layers": list(self.layers), "method": self.method}


def choose_layers(result: LayerScores, layer: int | str = "best") -> LayerChoice:
    """The layer shown for each participant.

    Parameters
    ----------
    layer : ``"best"``: for each participant, the layer with the highest score averaged over
        vertices and over the *other* participants (leave-one-participant-out); with a single
        participant there are no others, so the middle transformer layer is used, fixed. Or
        a layer number in the paper's numbering, fixed for everyone.
    """
    if layer == "best":
        per_participant = np.nanmean(result.scores, axis=2)  # (n_participants, n_layers)
        n = len(per_participant)
        if n == 1:
            middle = result.n_conv + (len(result.layers) - result.n_conv) // 2
            fixed = result.layers[min(middle, len(result.layers) - 1)]
            log.warning("one participant: no other participant can choose its layer; showing "
                        "the middle transformer layer %d", fixed)
            return LayerChoice((fixed,), FIXED)
        total = np.nansum(per_participant, axis=0)
        others = (total[None] - np.nan_to_num(per_participant)) / (n - 1)
        return LayerChoice(tuple(result.layers[i] for i in np.nanargmax(others, axis=1)),
                           LEAVE_ONE_OUT)
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool) \
            and layer in result.layers:
        return LayerChoice((int(layer),) * len(result.participants), FIXED)
    raise ValueError(f"layer={layer!r} must be 'best' or one of the scored layers "
                     f"{result.layers}.")


def choose_region_layers(result: LayerScores, masks: dict[str, np.ndarray],
                         layer: int | str = "best") -> dict[str, LayerChoice]:
    """:func:`choose_layers` of each region, on that region's vertices only.

    Parameters
    ----------
    masks : region name -> boolean array of shape (n_vertices,)

    Returns
    -------
    region -> its :class:`LayerChoice` (one layer per participant)
    """
    return {name: choose_layers(dataclasses.replace(
                result, scores=result.scores[:, :, np.asarray(mask, bool)],
                null_scores=result.null_scores[:, :, np.asarray(mask, bool)]), layer)
            for name, mask in masks.items()}


def layer_map(result: LayerScores, layer: int | str = "best") -> tuple[LayerChoice,
                                                                         np.ndarray]:
    """Each participant's scores at its layer (:func:`choose_layers`): ``(choice, array of
    shape (n_participants, n_vertices))``."""
    choice = choose_layers(result, layer)
    rows = [result.layers.index(number) for number in choice.layers]
    return choice, result.scores[np.arange(len(rows)), rows]


def layer_maps(results: dict[str, LayerScores], layer: int | str = "best") -> tuple[
        dict[str, LayerChoice], dict[str, np.ndarray]]:
    """:func:`layer_map` of each model: ``({label: choice}, {label: array of shape
    (n_participants, n_vertices)})``, each model's layers chosen on its own scores."""
    chosen, maps = {}, {}
    for label, result in results.items():
        chosen[label], maps[label] = layer_map(result, layer)
    return chosen, maps


def fitted_layer_maps(dataset: Dataset, profile: Profile, models: dict[str, str],
                      language: str, choose_on: np.ndarray, layer: int | str = "best"
                      ) -> tuple[dict[str, LayerChoice], dict[str, np.ndarray]]:
    """:func:`layer_maps` without fitting every layer on the whole cortex: each model's layer
    of each participant is chosen (:func:`choose_layers`) on the scores of every layer at the
    ``choose_on`` vertices only (:func:`analysis.scores.region_layer_scores`), then only that
    layer is fitted on the whole cortex (:func:`analysis.scores.layer_scores`).

    Parameters
    ----------
    models : label -> model name or condition
    choose_on : boolean array of shape (n_vertices,), e.g. the regions of interest
    layer : ``"best"`` (chosen as above) or a layer number, fixed for everyone (then nothing
        is fitted to choose it)

    Returns
    -------
    ``({label: choice}, {label: array of shape (n_participants, n_vertices)})``, the
    participants in the dataset's order
    """
    if layer != "best" and (isinstance(layer, bool)
                            or not isinstance(layer, (int, np.integer))):
        raise ValueError(f"layer={layer!r} must be 'best' or a layer number.")
    chosen, maps = {}, {}
    for label, name in models.items():
        if layer == "best":
            scored = scores.region_layer_scores(dataset, profile, name, language, choose_on)
            participants, choice = scored.participants, choose_layers(scored, layer)
        else:  # the range is checked by layer_scores
            participants = [p.id for p in dataset.participants_of(language)]
            choice = LayerChoice((int(layer),) * len(participants), FIXED)
        rows = np.full((len(participants), scores.N_VERTICES), np.nan, dtype=np.float32)
        for number in sorted(set(choice.layers)):
            ids = [p for p, n in zip(participants, choice.layers) if n == number]
            fitted = scores.layer_scores(dataset, profile, name, language, participants=ids,
                                         layers=[number], null=False)
            for pid, row in zip(fitted.participants, fitted.scores[:, 0]):
                rows[participants.index(pid)] = row
        chosen[label], maps[label] = choice, rows
    return chosen, maps


def layer_curve(result: LayerScores) -> dict[str, np.ndarray]:
    """The brain score of every layer, averaged over vertices (Figure 3B).

    Returns
    -------
    dict of arrays of shape (n_layers,): ``mean_r`` (mean over participants of each
    participant's mean over vertices), ``sem`` (its standard error over participants; 0
    with one participant) and ``null_mean_r`` (the same of the null scores)
    """
    per_participant = np.nanmean(result.scores, axis=2)  # (n_participants, n_layers)
    n = len(per_participant)
    mean_r = per_participant.mean(axis=0)
    sem = per_participant.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean_r)
    return {"mean_r": mean_r, "sem": sem,
            "null_mean_r": np.nanmean(result.null_scores, axis=2).mean(axis=0)}


def curve_summary(result: LayerScores, curve: dict[str, np.ndarray], best: np.ndarray,
                  threshold: float, percentile: float) -> str:
    """One line on Figure 3: who was analysed, the peak of the mean curve (descriptive) with
    its score and the null's there, and how many vertices beat the null's ``percentile``.

    Parameters
    ----------
    curve : from :func:`layer_curve`
    best, threshold : from :func:`best_layer_map` with ``percentile``
    """
    top = int(np.argmax(curve["mean_r"]))
    return (f"{len(result.participants)} participants ({', '.join(result.participants)}); "
            f"best layer on average {result.layers[top]}: mean R = {curve['mean_r'][top]:.4f} "
            f"(null {curve['null_mean_r'][top]:.4f}); {int(np.isfinite(best).sum())} vertices "
            f"beat the null's {percentile:g}th percentile (R > {threshold:.3f})")


def best_layer_map(result: LayerScores, percentile: float = 99.0) -> tuple[np.ndarray, float]:
    """Each vertex's best layer (Figure 3A): the layer whose score, averaged over
    participants, is highest there, kept where that highest score exceeds the ``percentile``
    of the same maximum over layers computed on the null scores (regressors shifted in time).

    Returns
    -------
    best : array of shape (n_vertices,), layer numbers (as in ``result.layers``); NaN where
        not kept
    threshold : the null percentile the highest score had to exceed
    """
    def peak(scores):  # participant means (n_layers, n_vertices) -> best index, best value
        mean = np.asarray(scores, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # vertices never fitted
            mean = np.nanmean(mean, axis=0)
        mean = np.where(np.isfinite(mean), mean, -np.inf)
        index = mean.argmax(axis=0)
        return index, np.take_along_axis(mean, index[None], axis=0)[0]

    index, top = peak(result.scores)
    _, null_top = peak(result.null_scores)
    threshold = float(np.percentile(null_top[np.isfinite(null_top)], percentile))
    best = np.asarray(result.layers, dtype=float)[index]
    best[~(top > threshold)] = np.nan
    return best, threshold


def layer_shares(best: np.ndarray, masks: dict[str, np.ndarray],
                 layers: list[int]) -> pd.DataFrame:
    """Share of each region's kept vertices whose best layer is each layer (Figure 3C).

    Parameters
    ----------
    best : array of shape (n_vertices,), from :func:`best_layer_map` (NaN: not kept)
    masks : region name -> boolean array of shape (n_vertices,)
    layers : every layer number, the columns of the result

    Returns
    -------
    DataFrame indexed by region: one column per layer (percent of the region's kept
    vertices; NaN where none is kept) and ``n_vertices``, the kept vertices counted
    """
    rows = {}
    for name, mask in masks.items():
        if np.shape(mask) != np.shape(best):
            raise ValueError(f"masks[{name!r}] has shape {np.shape(mask)}; best has "
                             f"{np.shape(best)}.")
        kept = best[np.asarray(mask, dtype=bool) & np.isfinite(best)]
        counts = np.array([(kept == layer).sum() for layer in layers], dtype=float)
        shares = 100 * counts / len(kept) if len(kept) else np.full(len(layers), np.nan)
        rows[name] = {**dict(zip(layers, shares)), "n_vertices": len(kept)}
    return pd.DataFrame.from_dict(rows, orient="index")
