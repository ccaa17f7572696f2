"""Static maps on the inflated fsaverage5 cortex (nilearn), both hemispheres, each view."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.regions import N_VERTICES_PER_HEMI


def plot_cortex(values: np.ndarray, *, title: str = "", vmax: float | None = None,
                cmap: str = "hot", colorbar_label: str = "R", symmetric: bool = False,
                views=("lateral", "medial"), threshold: float | None = None, axes=None):
    """Values on the inflated fsaverage5 cortex, both hemispheres, each view.

    Parameters
    ----------
    values : array of shape (20484,), left hemisphere first; NaN vertices are left grey
    threshold : vertices whose absolute value is below it are left uncoloured
    axes : 3-D axes to draw in, one per (hemisphere, view) (default: a new figure)

    Returns
    -------
    matplotlib Figure
    """
    from nilearn import plotting
    from nilearn.datasets import load_fsaverage, load_fsaverage_data
    from nilearn.surface import SurfaceImage

    values = np.asarray(values, dtype=float)
    if values.shape != (2 * N_VERTICES_PER_HEMI,):
        raise ValueError(f"values must have shape ({2 * N_VERTICES_PER_HEMI},), one per "
                         f"fsaverage5 vertex; got {values.shape}.")
    mesh = load_fsaverage("fsaverage5")["inflated"]
    sulcal = load_fsaverage_data(mesh="fsaverage5", data_type="sulcal", mesh_type="inflated")
    shown = np.nan_to_num(values, nan=0.0)
    image = SurfaceImage(mesh=mesh, data={"left": shown[:N_VERTICES_PER_HEMI],
                                          "right": shown[N_VERTICES_PER_HEMI:]})
    vmax = float(np.nanmax(np.abs(values))) if vmax is None else vmax
    vmin = -vmax if symmetric else 0.0
    panels = [(h, v) for v in views for h in ("left", "right")]
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2),
                               subplot_kw={"projection": "3d"})
    if len(np.atleast_1d(axes)) != len(panels):
        raise ValueError(f"axes: {len(panels)} 3-D axes are needed, one per hemisphere and view.")
    fig = np.atleast_1d(axes)[0].figure
    for ax, (hemi, view) in zip(np.atleast_1d(axes), panels):
        plotting.plot_surf_stat_map(stat_map=image, hemi=hemi, view=view, bg_map=sulcal,
                                    axes=ax, figure=fig, cmap=cmap, vmin=vmin, vmax=vmax,
                                    symmetric_cbar=symmetric, colorbar=False,
                                    threshold=threshold or 1e-6)
        ax.set_title(f"{hemi} {view}", fontsize=9)
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(vmin, vmax))
    fig.colorbar(mappable, ax=list(np.atleast_1d(axes)), shrink=0.6, label=colorbar_label,
                 location="right", pad=0.02)
    if title:
        fig.suptitle(title)
    return fig
