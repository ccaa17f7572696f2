import logging
import warnings

import nibabel
import numpy as np
import pytest
from nilearn.surface import vol_to_surf

from analysis import surface


def image(n_volumes=3, seed=0):
    """A coarse MNI grid: signal in a box covering most of the cortex, zero around it."""
    rng = np.random.default_rng(seed)
    shape = (20, 24, 20)
    affine = np.diag([8.0, 8.0, 8.0, 1.0])
    affine[:3, 3] = [-76, -110, -62]
    mask = np.zeros(shape, bool)
    mask[2:18, 3:21, 2:18] = True
    data = (rng.standard_normal(shape + (n_volumes,)) + 5).astype(np.float32)
    data[~mask] = 0
    return nibabel.Nifti1Image(data, affine), mask


def test_projection_equals_vol_to_surf():
    img, mask = image()
    texture, n_dead = surface.project(img)
    mask_img = nibabel.Nifti1Image(mask.astype(np.uint8), img.affine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vertices with no sample: mean of an empty slice
        reference = np.concatenate([vol_to_surf(img, pial, inner_mesh=white, mask_img=mask_img)
                                    for pial, white in surface._meshes("fsaverage5")]).T
    assert texture.shape == (3, 20484) and texture.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(texture), np.isnan(reference))
    np.testing.assert_allclose(texture, reference, atol=1e-4)
    assert 0 < n_dead == np.isnan(texture[0]).sum() < 20484 // 4


def test_constant_vertices_are_nan_and_counted():
    img, mask = image(n_volumes=4)
    data = np.asarray(img.dataobj).copy()
    data[:10] = 7.0 * mask[:10, ..., None]  # the left half is constant in time
    texture, n_dead = surface.project(nibabel.Nifti1Image(data, img.affine))
    left_dead = np.isnan(texture[:, :10242]).all(axis=0).mean()
    assert left_dead > 0.5 and n_dead == np.isnan(texture).all(axis=0).sum()
    assert np.isfinite(texture[:, 10242:]).all(axis=0).mean() > 0.5


def test_projection_is_cached_per_run(tmp_path, caplog):
    caplog.set_level(logging.INFO, "analysis")
    img, _ = image(n_volumes=5)
    run = tmp_path / "sub-EN057_task-lppEN_run-15_space-MNIColin27_desc-preproc_bold.nii.gz"
    img.to_filename(run)
    out = surface.projected_run(run, cache_root=tmp_path / "cache")
    assert out.name.startswith("sub-EN057_task-lppEN_run-15_") and np.load(out).shape == (5,
                                                                                         20484)
    assert "vertices have no signal" in caplog.text
    mtime = out.stat().st_mtime_ns
    assert surface.projected_run(run, cache_root=tmp_path / "cache") == out
    assert out.stat().st_mtime_ns == mtime
    out.write_bytes(out.read_bytes()[:100])  # a damaged product is projected again
    assert np.load(surface.projected_run(run, cache_root=tmp_path / "cache")).shape == (5, 20484)
    other = surface.projected_run(run, md5="0" * 32, cache_root=tmp_path / "cache")
    assert other != out  # keyed by the run's checksum


def test_a_run_without_signal_is_refused():
    img, _ = image()
    with pytest.raises(ValueError, match="no voxel varies"):
        surface.project(nibabel.Nifti1Image(np.zeros(img.shape, np.float32), img.affine))
