import numpy as np
import pytest

from analysis.regions import (ROI_NAMES, hemisphere_of_vertices, region_masks,
                              smoothing_matrix)


def test_masks_are_disjoint_and_bilateral():
    masks = region_masks()
    assert set(masks) == set(ROI_NAMES)
    stacked = np.stack(list(masks.values()))
    assert stacked.shape == (len(ROI_NAMES), 20484)
    assert stacked.sum(axis=0).max() == 1
    hemi = hemisphere_of_vertices()
    for name, mask in masks.items():
        assert (mask & (hemi == "left")).sum() > 50, name
        assert (mask & (hemi == "right")).sum() > 50, name


def test_unknown_region_is_refused():
    from analysis.regions import distance_to_region

    with pytest.raises(ValueError, match="unknown"):
        distance_to_region("V1")


def test_smoothing_preserves_constants():
    smooth = smoothing_matrix(2)
    np.testing.assert_allclose(smooth @ np.ones(20484), 1.0)


def test_destrieux_labels_map_to_the_paper_regions(monkeypatch):
    from nilearn import datasets

    from analysis.regions import DESTRIEUX_LABELS

    names = ["Unknown"] + [n for group in DESTRIEUX_LABELS.values() for n in group]
    parcels = np.arange(20484) % len(names)
    fake = {"labels": [n.encode() for n in names], "map_left": parcels[:10242],
            "map_right": parcels[10242:]}
    monkeypatch.setattr(datasets, "fetch_atlas_surf_destrieux", lambda: fake)
    masks = region_masks(source="destrieux")
    assert set(masks) == set(ROI_NAMES)
    stg = names.index("G_temp_sup-Lateral")
    np.testing.assert_array_equal(masks["STG"], parcels == stg)
    left = region_masks(source="destrieux", hemisphere="left")
    assert not left["STG"][10242:].any() and left["STG"][:10242].any()


def test_destrieux_offline_gives_clear_error(monkeypatch):
    from nilearn import datasets

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(datasets, "fetch_atlas_surf_destrieux", offline)
    with pytest.raises(RuntimeError, match="source='coordinates'"):
        region_masks(source="destrieux")
