"""Regions of interest as vertex masks on fsaverage5 (both hemispheres, left then right).

Two sources behind one function, :func:`region_masks`:

- ``"destrieux"``: the FreeSurfer Destrieux atlas (nilearn's fetcher, downloaded once into
  nilearn's data folder), with the paper's label mapping (:data:`DESTRIEUX_LABELS`);
- ``"coordinates"``: offline, regions are drawn from published MNI coordinates on the mesh nilearn ships: a vertex
belongs to the region whose nearest centre lies within ``radius`` mm of its pial position.
The centres follow the paper's Destrieux-based definitions (see ``docs/paper.md``):
A1+A2 = Heschl's gyrus and planum temporale, STG = lateral superior temporal gyrus,
STS = superior temporal sulcus, IFG = opercular, triangular and orbital inferior frontal
gyrus, motor = precentral gyrus and central sulcus (the speech-motor representation).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

N_VERTICES_PER_HEMI = 10242
HEMISPHERES = ("left", "right")

# Left-hemisphere centres (x, y, z) in MNI mm; the right hemisphere mirrors x.
ROI_CENTRES: dict[str, list[tuple[float, float, float]]] = {
    "A1+A2": [(-42, -22, 7), (-50, -26, 10), (-54, -32, 14)],
    "STG": [(-62, -12, 2), (-64, -24, 6), (-60, -38, 14), (-56, 2, -8)],
    "STS": [(-54, -44, 6), (-58, -28, -4), (-56, -12, -12), (-50, 4, -22)],
    "IFG": [(-52, 12, 14), (-50, 26, 8), (-44, 32, -6)],
    "motor": [(-56, -6, 36), (-50, -10, 46), (-40, -18, 56)],
}
ROI_NAMES = tuple(ROI_CENTRES)

# The paper's regions as Destrieux labels (docs/paper.md).
DESTRIEUX_LABELS: dict[str, tuple[str, ...]] = {
    "A1+A2": ("G_temp_sup-G_T_transv", "S_temporal_transverse", "G_temp_sup-Plan_tempo"),
    "STG": ("G_temp_sup-Lateral",),
    "STS": ("S_temporal_sup",),
    "IFG": ("G_front_inf-Opercular_part", "G_front_inf-Triangul_part",
            "G_front_inf-Orbital"),
    "motor": ("G_precentral", "S_central"),
}


@lru_cache(maxsize=4)
def fsaverage5(surface: str = "pial") -> tuple[np.ndarray, np.ndarray]:
    """Vertex coordinates and triangles of fsaverage5, both hemispheres stacked.

    Returns
    -------
    coords : array of shape (20484, 3), mm
    faces : array of shape (40960, 3), indices into ``coords``
    """
    from nilearn.datasets import load_fsaverage

    mesh = load_fsaverage("fsaverage5")[surface]
    left, right = mesh.parts["left"], mesh.parts["right"]
    coords = np.vstack([left.coordinates, right.coordinates]).astype(float)
    faces = np.vstack([left.faces, right.faces + len(left.coordinates)]).astype(np.int64)
    return coords, faces


def hemisphere_of_vertices() -> np.ndarray:
    """Array of shape (20484,) with ``"left"`` or ``"right"`` for each vertex."""
    return np.repeat(np.array(HEMISPHERES), N_VERTICES_PER_HEMI)


def distance_to_region(region: str) -> np.ndarray:
    """Euclidean distance (mm, pial surface) from each vertex to the nearest centre of ``region``
    in the same hemisphere: array of shape (20484,)."""
    if region not in ROI_CENTRES:
        raise ValueError(f"region={region!r} is unknown; choose one of {', '.join(ROI_NAMES)}.")
    coords, _ = fsaverage5("pial")
    hemi = hemisphere_of_vertices()
    centres = np.asarray(ROI_CENTRES[region], dtype=float)
    dist = np.full(len(coords), np.inf)
    for name, sign in (("left", 1.0), ("right", -1.0)):
        side = hemi == name
        c = centres * np.array([sign, 1.0, 1.0])
        d = np.linalg.norm(coords[side, None, :] - c[None], axis=-1).min(axis=1)
        dist[side] = d
    return dist


def region_masks(source: str = "coordinates", radius: float = 10.0,
                 hemisphere: str | None = None) -> dict[str, np.ndarray]:
    """Boolean masks of the regions of interest.

    Parameters
    ----------
    source : ``"coordinates"`` (offline; each vertex goes to the nearest region centre within
        ``radius`` mm, so masks do not overlap) or ``"destrieux"`` (the atlas; needs it
        downloaded once)
    hemisphere : ``"left"`` or ``"right"`` to keep one hemisphere's vertices, None for both

    Returns
    -------
    dict mapping region name to a boolean array of shape (20484,)
    """
    if source == "destrieux":
        masks = _destrieux_masks()
    elif source == "coordinates":
        masks = _coordinate_masks(radius)
    else:
        raise ValueError(f"source={source!r}; choose 'coordinates' (offline) or 'destrieux'.")
    if hemisphere is not None:
        if hemisphere not in HEMISPHERES:
            raise ValueError(f"hemisphere={hemisphere!r}; choose 'left', 'right' or None.")
        side = hemisphere_of_vertices() == hemisphere
        masks = {name: mask & side for name, mask in masks.items()}
    return masks


def _destrieux_masks() -> dict[str, np.ndarray]:
    from nilearn import datasets

    try:
        atlas = datasets.fetch_atlas_surf_destrieux()
    except Exception as exc:
        raise RuntimeError(
            "the Destrieux atlas could not be fetched (no internet?); use "
            "region_masks(source='coordinates') offline, or run once with internet so nilearn "
            f"caches it ({exc})") from exc
    labels = [lab.decode() if isinstance(lab, bytes) else str(lab) for lab in atlas["labels"]]
    parcels = np.concatenate([np.asarray(atlas["map_left"]), np.asarray(atlas["map_right"])])
    if parcels.shape != (2 * N_VERTICES_PER_HEMI,):
        raise ValueError(f"the Destrieux maps have {parcels.shape} vertices, not fsaverage5's.")
    masks = {}
    for region, names in DESTRIEUX_LABELS.items():
        missing = [n for n in names if n not in labels]
        if missing:
            raise ValueError(f"Destrieux atlas lacks labels {missing} for region {region}.")
        masks[region] = np.isin(parcels, [labels.index(n) for n in names])
    return masks


def _coordinate_masks(radius: float) -> dict[str, np.ndarray]:
    distances = np.stack([distance_to_region(name) for name in ROI_NAMES])
    nearest = distances.argmin(axis=0)
    inside = distances.min(axis=0) <= radius
    return {name: inside & (nearest == i) for i, name in enumerate(ROI_NAMES)}


def smoothing_matrix(n_iter: int = 1):
    """Sparse row-stochastic matrix averaging each vertex with its mesh neighbours,
    applied ``n_iter`` times: sparse array of shape (20484, 20484)."""
    from scipy import sparse

    _, faces = fsaverage5("pial")
    n = N_VERTICES_PER_HEMI * 2
    rows = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], np.arange(n)])
    cols = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], np.arange(n)])
    adj = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(float)
    step = sparse.diags(1.0 / np.asarray(adj.sum(axis=1)).ravel()) @ adj
    out = sparse.identity(n, format="csr")
    for _ in range(n_iter):
        out = step @ out
    return out.tocsr()
