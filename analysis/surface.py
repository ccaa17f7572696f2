"""Project preprocessed volume runs onto the fsaverage5 surface, cached per run.

Each run (4-D NIfTI in MNI space) is sampled along the line between the pial and
white-matter surfaces of nilearn's fsaverage5 (``load_fsaverage``), both hemispheres, left then
right: 20,484 vertices. The computation is that of ``nilearn.surface.vol_to_surf`` with
``kind="depth"``, ``inner_mesh`` the white surface, trilinear interpolation and a mask, written
as one sparse matrix applied to every volume at once: ``vol_to_surf`` interpolates volume by
volume, about 30 s for the 282 volumes of a run on two cores, against about 6 s here for a
run on the corpus's grid, masking included (``tests/bench_lpp_io.py``). The tests check the
two against each other.

Brain mask: voxels whose time series is finite and not constant. Preprocessed runs are
expected to be zero outside the brain (as masked preprocessing outputs are), so this is the
brain as the preprocessing defined it, whatever the runs' mean level (ME-ICA denoised data need not keep the mean that an
intensity-threshold mask such as ``compute_epi_mask`` relies on). Should a run vary almost
everywhere (no zeroed background, over 95 % of the grid), ``nilearn.masking.compute_epi_mask``
on its mean image is used instead, and the log says so. Samples outside the mask are ignored;
a vertex with no sample inside it, or whose projected series is constant, is NaN (and left
out of the fits downstream); their number is logged.

The projection of a run is cached as ``<cache>/surface/<participant>_run-<RR>_<key>.npy``
(array of shape (n_volumes, 20484), float32), the key covering the run's MD5, this module's
source and the projection's parameters; written atomically.
"""
from __future__ import annotations

import logging
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from analysis.cache import atomic_write, key_digest, md5sum, source_digest
from analysis.config import cache_dir

log = logging.getLogger(__name__)

MESH = "fsaverage5"
N_VERTICES = 20484
N_SAMPLES = 10  # vol_to_surf's default for kind="depth"
BACKGROUND_FRACTION = 0.95


@lru_cache(maxsize=2)
def _meshes(mesh: str):
    from nilearn.datasets import load_fsaverage

    surfaces = load_fsaverage(mesh)
    return [(surfaces["pial"].parts[h], surfaces["white_matter"].parts[h])
            for h in ("left", "right")]


def brain_mask(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Voxels of a run inside the brain: boolean array of shape ``data.shape[:3]``.

    Parameters
    ----------
    data : array of shape (x, y, z, n_volumes), finite
    affine : array of shape (4, 4)
    """
    varying = data.std(axis=3) > 0
    if varying.mean() <= BACKGROUND_FRACTION:
        return varying
    import nibabel
    from nilearn.masking import compute_epi_mask

    log.info("the run varies in %.0f %% of its grid (no zeroed background): masking it with "
             "compute_epi_mask on its mean image", 100 * varying.mean())
    mean = nibabel.Nifti1Image(data.mean(axis=3), affine)
    return np.asarray(compute_epi_mask(mean).dataobj, dtype=bool) & varying


def projection_matrix(affine: np.ndarray, shape: tuple[int, int, int], mask: np.ndarray,
                      mesh: str = MESH, n_samples: int = N_SAMPLES) -> sparse.csr_matrix:
    """The linear map from a volume to the surface: sparse matrix of shape (n_vertices,
    n_voxels), voxels in Fortran order (x fastest, as nibabel stores them). Rows of
    vertices with no sample inside ``mask`` are empty.

    Each vertex samples ``n_samples`` points evenly spaced from its pial to its white-matter
    position; a sample is ignored when outside the grid or when the voxel holding it is
    outside ``mask``; each kept sample is a trilinear interpolation (linear extrapolation in
    the grid's last cell); the vertex averages its kept samples. This is what
    ``vol_to_surf(img, pial, inner_mesh=white, kind="depth", n_samples=n_samples,
    interpolation="linear", mask_img=mask)`` computes, volume by volume.
    """
    inverse = np.linalg.inv(affine)
    shape_arr = np.asarray(shape)
    rows, cols, vals, offset = [], [], [], 0
    for pial, white in _meshes(mesh):
        outer, inner = np.asarray(pial.coordinates), np.asarray(white.coordinates)
        n = len(outer)
        steps = np.linspace(0, 1, n_samples)[:, None, None]
        points = (outer + steps * (inner - outer)).reshape(-1, 3)  # sample-major
        vox = points @ inverse[:3, :3].T + inverse[:3, 3]
        vertex = np.tile(np.arange(n), n_samples) + offset
        kept = ((vox >= 0) & (vox < shape_arr)).all(axis=1)
        floor = np.floor(vox[kept]).astype(int)
        kept[kept] = mask[floor[:, 0], floor[:, 1], floor[:, 2]]
        vox, vertex = vox[kept], vertex[kept]
        count = np.bincount(vertex - offset, minlength=n)[vertex - offset]
        base = np.clip(np.floor(vox).astype(int), 0, np.maximum(shape_arr - 2, 0))
        frac = vox - base
        for corner in np.ndindex(2, 2, 2):
            c = np.asarray(corner)
            weight = np.prod(np.where(c, frac, 1 - frac), axis=1) / count
            index = np.ravel_multi_index((base + c).T, shape, mode="clip", order="F")
            rows.append(vertex)
            cols.append(index)
            vals.append(weight)
        offset += n
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                     np.concatenate(cols))),
                             shape=(offset, int(np.prod(shape))))


def project(img, mesh: str = MESH, n_samples: int = N_SAMPLES) -> tuple[np.ndarray, int]:
    """Project a 4-D image onto both hemispheres of ``mesh``.

    Parameters
    ----------
    img : a 4-D NIfTI image or its path (MNI space)
    mesh : a nilearn fsaverage mesh name
    n_samples : samples per vertex between the white-matter and pial surfaces

    Returns
    -------
    (array of shape (n_volumes, n_vertices), float32, NaN where a vertex has no signal;
    the number of such vertices)
    """
    import nibabel

    img = nibabel.load(img) if isinstance(img, (str, Path)) else img
    name = img.get_filename() or "the image"
    data = np.asarray(img.get_fdata(dtype=np.float32))
    if data.ndim != 4:
        raise ValueError(f"{name}: a run must be 4-D, got shape {data.shape}.")
    data[~np.isfinite(data)] = 0
    mask = brain_mask(data, img.affine)
    if not mask.any():
        raise ValueError(f"{name}: no voxel varies in time; is the file a run?")
    matrix = projection_matrix(img.affine, data.shape[:3], mask, mesh, n_samples)
    voxels = data.reshape(-1, data.shape[3], order="F")  # no copy: nibabel arrays are F-ordered
    texture = np.asarray(matrix @ voxels, dtype=np.float32).T
    dead = np.asarray(matrix.getnnz(axis=1) == 0)
    dead |= ~np.isfinite(texture).all(axis=0)
    dead[~dead] = texture[:, ~dead].std(axis=0) == 0
    texture[:, dead] = np.nan
    return texture, int(dead.sum())


def projection_key(md5: str, mesh: str = MESH, n_samples: int = N_SAMPLES) -> dict:
    """What a run's projection depends on."""
    return {"stage": "surface", "run_md5": md5, "code": source_digest(sys.modules[__name__]),
            "mesh": mesh, "n_samples": n_samples, "kind": "depth", "interpolation": "linear"}


def projected_run(path: str | Path, md5: str | None = None, cache_root: Path | None = None,
                  name: str | None = None, **params) -> Path:
    """The cached projection of one run (computed on first use): a ``.npy`` file holding an
    array of shape (n_volumes, 20484), float32.

    Parameters
    ----------
    path : the run's NIfTI file
    md5 : its MD5 (computed when not given)
    cache_root : cache folder (default :func:`analysis.config.cache_dir`)
    name : readable prefix of the cached file (default: the run's file name)
    **params : ``mesh``, ``n_samples`` of :func:`project`
    """
    path = Path(path)
    key = projection_key(md5 or md5sum(path), **params)
    prefix = name or path.name.split("_space-")[0]
    out = Path(cache_root or cache_dir()) / "surface" / f"{prefix}_{key_digest(key)}.npy"
    if _readable(out):
        return out
    started = time.monotonic()
    texture, n_dead = project(path, **params)
    atomic_write(out, lambda tmp: _save(tmp, texture))
    log.info("%s: projected to %s in %.1f s; %d of %d vertices have no signal (outside the "
             "brain mask or constant) and are NaN", path.name, params.get("mesh", MESH),
             time.monotonic() - started, n_dead, texture.shape[1])
    return out


def _readable(path: Path) -> bool:
    """Whether ``path`` is a complete .npy of a 2-D float32 array."""
    if not path.exists():
        return False
    try:
        array = np.load(path, mmap_mode="r")
        return array.ndim == 2 and array.dtype == np.float32
    except (OSError, ValueError):
        log.warning("%s is unreadable; projecting the run again", path)
        return False


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)
