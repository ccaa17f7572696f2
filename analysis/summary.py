"""Per-region summaries of a model's layer scores: how well, and how deep, each region is fit.

The paper's qualitative pattern is read from two numbers per region of interest: the score
of the region's best layer (its layer curve's peak) and the mean best layer of its vertices,
which should deepen from A1+A2 to the IFG.
"""
from __future__ import annotations

import numpy as np

from analysis.pipeline import LayerScores


def roi_summary(result: LayerScores, masks: dict[str, np.ndarray]) -> dict[str, dict]:
    """Mean r and mean best layer of each region.

    Parameters
    ----------
    result : :func:`analysis.pipeline.layer_scores`'s output; ``scores`` of shape
        (n_participants, n_layers, n_vertices)
    masks : region name -> boolean array of shape (n_vertices,)
        (:func:`analysis.regions.region_masks`)

    Returns
    -------
    dict region -> dict with

    - ``mean_r_per_layer`` (n_layers,): r averaged over the region's vertices and the
      participants, per layer;
    - ``mean_r``: the largest of those (the region's score at its best layer);
    - ``best_layer``: that layer (index as in ``result.layers``);
    - ``mean_best_layer``: each vertex's best layer (per participant), averaged over the
      region's vertices and the participants;
    - ``n_vertices``: vertices in the region.
    """
    scores = np.asarray(result.scores)
    if scores.ndim != 3:
        raise ValueError(f"result.scores has shape {scores.shape}; expected (n_participants, "
                         "n_layers, n_vertices).")
    layers = np.asarray(result.layers)
    out = {}
    for name, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (scores.shape[2],):
            raise ValueError(f"masks[{name!r}] has shape {mask.shape}; expected "
                             f"({scores.shape[2]},).")
        if not mask.any():
            raise ValueError(f"masks[{name!r}] selects no vertex.")
        region = scores[:, :, mask]  # (n_participants, n_layers, n_region)
        curve = np.nanmean(region, axis=(0, 2))
        best = int(np.nanargmax(curve))
        fitted = np.isfinite(region).any(axis=1)  # (n_participants, n_region)
        best_per_vertex = layers[np.nanargmax(np.where(np.isfinite(region), region, -np.inf),
                                              axis=1)]
        out[name] = {"mean_r_per_layer": curve, "mean_r": float(curve[best]),
                     "best_layer": int(layers[best]),
                     "mean_best_layer": float(best_per_vertex[fitted].mean()),
                     "n_vertices": int(mask.sum())}
    return out
