"""Static maps on the inflated fsaverage5 cortex (nilearn), both hemispheres, each view:
continuous values (:func:`plot_cortex`) or one category per vertex with a labelled colour
bar (:func:`plot_categories`: Figure 3A's best layer, Figure 4D's contrasts)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from analysis.regions import N_VERTICES_PER_HEMI


def plot_cortex(values: np.ndarray, *, title: str = "", vmax: float | None = None,
                cmap: str = "hot", colorbar_label: str = "R", symmetric: bool = False,
                views=("lateral", "medial"), threshold: float | None = None, axes=None,
                panel_title: str = "", face_value: str = "mean"):
    """Values on the inflated fsaverage5 cortex, both hemispheres, each view.

    Parameters
    ----------
    values : array of shape (20484,), left hemisphere first; NaN vertices are left grey
    threshold : vertices whose absolute value is below it are left uncoloured
    axes : 3-D axes to draw in, one per (hemisphere, view) (default: a new figure)
    title : the figure's title (a figure of its own)
    panel_title : the title of the row of views, as a panel of a larger figure: written above
        the first view, wrapped at the figure's edge rather than cut off
    face_value : how each mesh face's colour comes from its three vertices' values
        (nilearn's ``avg_method``): ``"mean"``, or ``"median"``, one of the three values, for
        categories (a mean would invent categories between neighbouring ones)

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
                                    threshold=threshold or 1e-6, avg_method=face_value)
        for mesh_faces in ax.collections:
            # 20,484 faces per view as SVG paths make a 15 MB file that takes seconds to
            # write; the mesh is an image inside the SVG, its labels and colour bar stay vectors
            mesh_faces.set_rasterized(True)
        ax.set_title(f"{hemi} {view}", fontsize=9)
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(vmin, vmax))
    fig.colorbar(mappable, ax=list(np.atleast_1d(axes)), shrink=0.6, label=colorbar_label,
                 location="right", pad=0.02)
    if title:
        fig.suptitle(title)
    if panel_title:
        _panel_title(np.atleast_1d(axes)[0], panel_title)
    return fig


def _panel_title(ax, text: str, fontsize: float = 10):
    """``text`` above the 3-D axes ``ax`` (and the views' own titles), from its left edge, in
    figure coordinates so that it may run over the views beside it; ``wrap`` breaks it at the
    figure's right edge."""
    box = ax.get_position()
    return ax.figure.text(box.x0, box.y0 + 1.2 * box.height, text, fontsize=fontsize,
                          ha="left", va="bottom", wrap=True)


def plot_categories(categories: np.ndarray, labels, colors, *, axes, colorbar_label: str = "",
                    tick_step: int = 1, views=("lateral", "medial"), panel_title: str = ""):
    """One category per vertex on the cortex, one colour each, the colour bar labelled with
    the categories' names.

    Parameters
    ----------
    categories : array of shape (20484,): index into ``labels`` (0, 1, ...); a negative
        value or NaN leaves the vertex grey
    labels : name of each category, written beside its colour
    colors : one colour per category (names or RGBA rows)
    axes : 3-D axes to draw in, one per (hemisphere, view)
    tick_step : label every ``tick_step``-th category only (many categories)
    panel_title : see :func:`plot_cortex`

    Returns
    -------
    matplotlib Figure
    """
    categories = np.asarray(categories, dtype=float)
    labels = [str(label) for label in labels]
    if len(colors) != len(labels):
        raise ValueError(f"colors: {len(labels)} categories need {len(labels)} colours; got "
                         f"{len(colors)}.")
    with np.errstate(invalid="ignore"):  # NaN compares False: grey, like a negative index
        values = np.where(categories >= 0, categories + 0.5, np.nan)
    fig = plot_cortex(values, axes=axes, views=views, vmax=float(len(labels)),
                      cmap=ListedColormap(colors), colorbar_label=colorbar_label,
                      panel_title=panel_title, face_value="median")
    fig.axes[-1].set_yticks(np.arange(0, len(labels), tick_step) + 0.5, labels[::tick_step],
                            fontsize=8)
    return fig
