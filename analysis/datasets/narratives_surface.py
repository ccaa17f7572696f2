"""Surface time series of the Narratives corpus: the ``afni-nosmooth`` fsaverage6 GIFTI files of
both hemispheres, read onto the book's fsaverage5 mesh.

FreeSurfer's icosahedral meshes are nested: fsaverage5's 10,242 vertices of a hemisphere are
the first 10,242 of fsaverage6's 40,962, at the same places (:func:`check_nested` verifies it
on spheres), so :func:`to_fsaverage5` keeps those vertices; :func:`read_surface_bold` reads a
scan's two hemispheres, whose volumes must last until the scan's story ends
(:func:`check_covers`).
"""
from __future__ import annotations

from pathlib import Path

import nibabel
import numpy as np
from scipy.spatial import cKDTree

from analysis.datasets.lpp import CorpusError
from analysis.datasets.narratives_layout import FETCH
from analysis.surface import N_VERTICES

FSAVERAGE5_VERTICES = N_VERTICES // 2  # 10242 per hemisphere: icosahedron of order 5
FSAVERAGE6_VERTICES = 40962  # order 6; order k has 10 * 4**k + 2 vertices
NESTING_TOLERANCE = 1e-3  # unit sphere: ~0.1 mm on FreeSurfer's 100 mm sphere


def check_nested(coarse: np.ndarray, fine: np.ndarray,
                 tolerance: float = NESTING_TOLERANCE) -> float:
    """Check that a fine icosahedral sphere extends a coarse one, vertices in order.

    FreeSurfer's icosahedral meshes are built by subdivision: the mesh of order k + 1 keeps
    the vertices of order k first, in their order, then adds one vertex per edge, at its
    midpoint pushed onto the sphere. So the first ``len(coarse)`` vertices of ``fine`` are
    ``coarse``'s, and every later one is the normalised midpoint of its two nearest coarse
    vertices (an edge's ends are the two coarse vertices nearest its midpoint).

    Parameters
    ----------
    coarse : vertex coordinates of a sphere of order k, array of shape (n_k, 3), any radius
    fine : vertex coordinates of a sphere of order k + 1, array of shape (n_(k+1), 3)
    tolerance : largest distance allowed, on the unit sphere

    Returns
    -------
    The largest distance found (unit sphere).

    Raises
    ------
    ValueError
        when the vertex counts are not those of consecutive orders (``10 * 4**k + 2``), or a
        vertex is farther than ``tolerance`` from where the subdivision puts it (the message
        names the rule and the vertex).
    """
    coarse = np.asarray(coarse, dtype=float)
    fine = np.asarray(fine, dtype=float)
    n_coarse, n_fine = len(coarse), len(fine)
    if n_fine != 4 * n_coarse - 6:
        raise ValueError(f"{n_coarse} and {n_fine} vertices are not icosahedral spheres of "
                         "consecutive orders (10 * 4**k + 2 vertices: 10242 for fsaverage5, "
                         "40962 for fsaverage6).")
    coarse = coarse / np.linalg.norm(coarse, axis=1, keepdims=True)
    fine = fine / np.linalg.norm(fine, axis=1, keepdims=True)
    kept = np.linalg.norm(fine[:n_coarse] - coarse, axis=1)
    if kept.max() > tolerance:
        v = int(kept.argmax())
        raise ValueError(f"vertex {v} of the fine sphere is {kept.max():.2e} from vertex {v} of "
                         f"the coarse one (tolerance {tolerance:g}): the first {n_coarse} "
                         "vertices of the fine mesh are not the coarse mesh's, in order.")
    _, ends = cKDTree(coarse).query(fine[n_coarse:], k=2)
    middle = coarse[ends[:, 0]] + coarse[ends[:, 1]]
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    added = np.linalg.norm(fine[n_coarse:] - middle, axis=1)
    if added.max() > tolerance:
        v = n_coarse + int(added.argmax())
        raise ValueError(f"vertex {v} of the fine sphere is {added.max():.2e} from the midpoint "
                         f"of its two nearest coarse vertices (tolerance {tolerance:g}): the "
                         f"vertices after the first {n_coarse} are not the subdivision's.")
    return float(max(kept.max(), added.max()))


def to_fsaverage5(data: np.ndarray, path: str | Path = "?") -> np.ndarray:
    """One hemisphere's fsaverage6 time series on fsaverage5: its first 10,242 vertices.

    The two meshes share those vertices (:func:`check_nested`), so this samples the
    fsaverage6 data where fsaverage5 has its vertices, without interpolation (nor smoothing:
    the three quarters of fsaverage6's vertices between them are left out).

    Parameters
    ----------
    data : array of shape (n_scans, 40962)
    path : the file it came from, named in errors

    Returns
    -------
    array of shape (n_scans, 10242), a view of ``data``
    """
    if data.ndim != 2 or data.shape[1] != FSAVERAGE6_VERTICES:
        raise CorpusError(f"{path}: {data.shape} values, but a hemisphere of fsaverage6 has "
                          f"{FSAVERAGE6_VERTICES} vertices (array of shape (n_scans, "
                          f"{FSAVERAGE6_VERTICES})); is it another mesh's file?")
    return data[:, :FSAVERAGE5_VERTICES]


def read_gifti_series(path: str | Path) -> np.ndarray:
    """A GIFTI time series (``.func.gii``, one data array per volume): array of shape
    (n_scans, n_vertices), float32.

    Raises
    ------
    CorpusError
        naming the file when it is missing, cannot be read, or its arrays differ in length.
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `{FETCH} --kinds bold`.")
    try:
        arrays = [np.asarray(d.data) for d in nibabel.load(path).darrays]
    except Exception as exc:
        raise CorpusError(f"{path}: cannot read it as GIFTI ({exc}); delete it and fetch it "
                          f"again (`{FETCH} --kinds bold`).") from exc
    if not arrays or len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise CorpusError(f"{path}: {len(arrays)} data arrays of shapes "
                          f"{sorted({a.shape for a in arrays})}; a surface time series has one "
                          "array of one value per vertex for each volume.")
    return np.vstack(arrays).astype(np.float32)


def read_surface_bold(paths: tuple[str | Path, str | Path]) -> np.ndarray:
    """A scan's cleaned fsaverage6 time series of both hemispheres on the book's fsaverage5
    mesh, left then right (as :mod:`analysis.surface` orders them).

    Parameters
    ----------
    paths : the left and right ``.func.gii`` files (:func:`bold_paths`)

    Returns
    -------
    array of shape (n_scans, 20484), float32

    Raises
    ------
    CorpusError
        naming the file when one cannot be read or is not on fsaverage6, or naming both when
        the hemispheres have different numbers of volumes.
    """
    left, right = (to_fsaverage5(read_gifti_series(p), p) for p in paths)
    if len(left) != len(right):
        raise CorpusError(f"{paths[0]} has {len(left)} volumes but {paths[1]} has "
                          f"{len(right)}; the two hemispheres of a scan have the same.")
    return np.hstack([left, right])


def check_covers(path: str | Path, n_volumes: int, tr: float, story_end: float) -> None:
    """Check that a scan's volumes last until the end of its last story segment.

    Parameters
    ----------
    path : the scan's file, named in errors
    n_volumes : volumes of the scan (rows of :func:`read_surface_bold`)
    tr : its repetition time (s)
    story_end : ``onset + duration`` of its last story segment (s from the first volume)

    Raises
    ------
    CorpusError
        when the volumes end more than one TR before the story (the last volume's repetition
        time may hold the story's end): then the file is cut short, or another scan's.
    """
    covered = n_volumes * tr
    if story_end - covered > tr:
        raise CorpusError(f"{path}: {n_volumes} volumes of {tr:g} s cover {covered:g} s, but the "
                          f"scan's story ends at {story_end:g} s (its events): more than one TR "
                          "short, so the file is cut short or another scan's; delete it and "
                          f"fetch it again (`{FETCH} --kinds bold`).")
