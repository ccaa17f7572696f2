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
