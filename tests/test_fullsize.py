"""A full-size synthetic participant through the whole ``lpp`` path: its runs projected onto
fsaverage5 (``load_lpp``), cleaned per run and fitted (``layer_scores``), must score highest
at the vertices nearest the spheres where one layer's signal was planted.

The participant (``fullsize_participant`` and its fixtures in ``conftest.py``) has the
corpus's file names and run labels, the real volume counts, MNI-space runs zeroed outside the
brain, per-run offsets and drifts, and four spheres of radius 6 mm at published coordinates
of Heschl's gyrus and the posterior STS, driven by layer 4 of a random wav2vec 2.0 in
miniature. The fast tests run it cut down (sections 1 and 2, 4 mm voxels, about a minute);
the slow one at full size (nine runs on the 2 mm grid, about 3 minutes on two cores).
``benchmarks/fullsize_lpp.py`` runs it at full size with wav2vec 2.0 Base.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from analysis.config import get_profile
from analysis.datasets.lpp_loader import load_lpp
from analysis.regions import fsaverage5
from analysis.scores import layer_scores

BEST_WITHIN_MM = 15.0  # a sphere's best vertex lies this close to its centre
TOP_VERTICES = 20  # the best vertices of the whole cortex all lie near some sphere


def analyse(built, monkeypatch):
    """The ``lpp`` path on ``built``: ``(dataset, scores of the planted layer, (20484,))``."""
    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(built.index))
    dataset = load_lpp(root=built.root, languages=(built.language,),
                       participants=[built.participant], sections=built.sections,
                       download=False)
    profile = get_profile("lpp", {"languages": [built.language],
                                  "sections": list(built.sections)})
    result = layer_scores(dataset, profile, built.model, built.language,
                          layers=[built.layer], null=False, n_jobs=1)
    return dataset, result.scores[0, 0]


def check_localised(built, scores) -> None:
    table = built.localise(scores)
    for row in table.itertuples():
        assert row.best_mm <= BEST_WITHIN_MM, (
            f"{row.sphere}: its best vertex is {row.best_mm:.1f} mm from the centre\n{table}")
        assert row.near_mean > row.far_mean + 0.15, (
            f"{row.sphere}: mean r {row.near_mean:.3f} near it, {row.far_mean:.3f} far from "
            f"every sphere\n{table}")
    assert abs(table.far_mean.iloc[0]) < 0.05, table
    coords, _ = fsaverage5("pial")
    centres = np.array(list(built.spheres.values()))
    top = np.argsort(-np.nan_to_num(scores, nan=-np.inf))[:TOP_VERTICES]
    distance = np.linalg.norm(coords[top, None] - centres[None], axis=-1).min(axis=1)
    assert (distance <= BEST_WITHIN_MM).all(), (
        f"the {TOP_VERTICES} best vertices lie {np.round(distance, 1)} mm from the nearest "
        "sphere")


def test_best_vertices_are_the_planted_spheres(fullsize_participant, monkeypatch):
    built = fullsize_participant
    assert built.grid == (37, 46, 38) and np.allclose(np.diag(built.affine)[:3], [-4, 4, 4])
    dataset, scores = analyse(built, monkeypatch)
    bold = dataset.participants[0].bold()
    assert bold.shape == (282 + 298, 20484)
    assert np.isnan(bold[0]).mean() < 0.01  # the brain mask covers the cortex
    check_localised(built, scores)


def test_offsets_and_drifts_of_runs_do_not_hide_the_spheres(fullsize_participant,
                                                            fullsize_steady, monkeypatch):
    drifting, steady = fullsize_participant, fullsize_steady
    dataset, scores = analyse(drifting, monkeypatch)
    # the projected runs do carry the offsets and drifts (which the cleaning must remove)
    runs = [np.load(p) for p in dataset.participants[0].bold_paths]
    alive = np.isfinite(runs[0]).all(0) & np.isfinite(runs[1]).all(0)
    step = np.median(np.abs(runs[0][:, alive].mean(0) - runs[1][:, alive].mean(0)))
    assert step > 50, f"the runs' levels differ by only {step:.1f}"
    halves = np.median(np.abs(np.diff([h.mean(0) for h in np.array_split(
        runs[1][:, alive], 2)], axis=0)))
    assert halves > 5, f"run 2 drifts by only {halves:.1f} between its halves"

    _, reference = analyse(steady, monkeypatch)
    check_localised(drifting, scores)
    with_drifts, without = drifting.localise(scores), steady.localise(reference)
    ratio = with_drifts.near_mean / without.near_mean
    assert (ratio > 0.8).all(), (
        f"offsets and drifts cut the scores near the spheres to {np.round(ratio, 2)} of "
        f"those without\n{with_drifts}\n{without}")


@pytest.mark.slow  # about 3 minutes on two cores: nine runs built, projected, fitted
@pytest.mark.skipif(not os.environ.get("ANALYSIS_FULLSIZE"),
                    reason="builds and analyses nine full-size runs (about 3 minutes on two "
                           "cores, past make test's 10-minute budget); set ANALYSIS_FULLSIZE=1")
def test_full_size_participant(fullsize_participant_full, monkeypatch):
    built = fullsize_participant_full
    assert built.grid == (73, 90, 74)
    dataset, scores = analyse(built, monkeypatch)
    assert dataset.participants[0].bold().shape == (2816, 20484)
    check_localised(built, scores)
