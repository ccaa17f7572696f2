"""What the demo world planted beyond acoustics, for the acoustic-baseline chapter.

A region's planted signal is a mix of levels (``truth["region_level_share"]``, which sum to
1 per region) and, in A1+A2 only, of the sound envelope (``truth["<L>_envelope_share"]`` of
the signal variance, mixed after the levels: see :mod:`analysis.demo.listeners`). The
acoustic level (the first principal components of the acoustic basis) and the envelope (a
column of that basis) lie in the span of the acoustic baseline's regressors; every level
above acoustics was made orthogonal to that span. So the share of a region's planted signal
variance that an acoustic baseline cannot explain is
``(1 - envelope share) * (1 - acoustic level share)``.
"""
from __future__ import annotations

import numpy as np

from analysis.datasets import Dataset
from analysis.demo import world


def planted_above_acoustic(truth: dict, language: str = "en") -> dict[str, float]:
    """Each region's share of planted signal variance carried by levels above acoustics.

    Parameters
    ----------
    truth : :func:`analysis.demo.world.load_truth`'s output

    Returns
    -------
    region -> share in [0, 1] (the envelope share is the mean over the region's core,
    ``truth["<L>_region"]``)
    """
    levels = [str(level) for level in truth["levels"]]
    regions = [str(region) for region in truth["regions"]]
    share = np.asarray(truth["region_level_share"], dtype=float)
    region = truth[f"{language}_region"]
    envelope = truth[f"{language}_envelope_share"]
    acoustic = levels.index("acoustic")
    out = {}
    for r, name in enumerate(regions):
        above = 1.0 - share[r, acoustic] / share[r].sum()
        out[name] = float((1.0 - envelope[region == r].mean()) * above)
    return out


def region_cores(dataset: Dataset, language: str = "en") -> tuple[np.ndarray, dict]:
    """The vertices of the regions' planted cores, and each region's core.

    Returns
    -------
    core : boolean array of shape (20484,), the vertices of every region's core
    masks : region -> boolean array of shape (20484,), that region's core
    """
    truth = world.load_truth(dataset)
    region = truth[f"{language}_region"]
    masks = {str(name): region == r for r, name in enumerate(truth["regions"])}
    return region >= 0, masks


def planted_extent(dataset: Dataset, language: str = "en") -> np.ndarray:
    """The vertices where any listener of ``language`` got planted signal (amplitude > 0;
    elsewhere the BOLD is noise only): boolean array of shape (20484,)."""
    return world.load_truth(dataset)[f"{language}_amplitude"].max(axis=0) > 0
