"""Interactive 3-D cortex views that render offline, for the book's HTML pages.

nilearn's :func:`~nilearn.plotting.view_surf` (plotly engine) writes a self-contained page:
jQuery and plotly.js are inlined from the package's assets, and the mesh and the map are
embedded as base64. One thing in it is fetched from the network: the favicon of nilearn's
page template (a ``<link rel="icon">`` to GitHub). :func:`cortex_view_html` removes it and
refuses to return a page that would still fetch anything remote; :func:`view_cortex` wraps the
page in an ``<iframe srcdoc=...>`` for notebook output, so the executed notebook, and the
book built from it, carry the whole view (about 3 MB per map) and need no server.
"""
from __future__ import annotations

import html
import logging
import re
import textwrap

import numpy as np

from analysis.html_assets import remote_urls
from analysis.regions import N_VERTICES_PER_HEMI

log = logging.getLogger(__name__)

TITLE_WIDTH = 60  # characters per line of a view's title: about 600 px at 14 px, a narrow page
_ICON = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"'](?:shortcut )?icon[\"'][^>]*>", re.I | re.S)
def cortex_view_html(values: np.ndarray, *, title: str = "", vmax: float | None = None,
                     threshold: float | None = None, cmap: str = "hot",
                     symmetric: bool = False) -> str:
    """A standalone HTML page showing ``values`` on the inflated fsaverage5 cortex in 3-D.

    Parameters
    ----------
    values : array of shape (20484,), left hemisphere first; NaN vertices are left uncoloured
    title : shown above the brain, broken into lines of at most :data:`TITLE_WIDTH`
        characters (plotly centres one line and cuts what does not fit in the frame)
    vmax : top of the colour scale (default: the largest absolute value)
    threshold : vertices whose absolute value is below it are left uncoloured
    cmap : matplotlib colour map name
    symmetric : colour scale from -vmax to vmax (else from 0 to vmax, negative values
        left uncoloured, as :func:`analysis.figures.cortex.plot_cortex` draws them)

    Returns
    -------
    the page's HTML, with every script inline and nothing fetched from the network

    Raises
    ------
    ValueError
        when ``values`` is not one value per fsaverage5 vertex, or holds no finite value.
    RuntimeError
        when the page would still fetch something remote (a change in nilearn's template).
    """
    from nilearn import plotting
    from nilearn.datasets import load_fsaverage, load_fsaverage_data
    from nilearn.surface import SurfaceImage

    values = np.asarray(values, dtype=float)
    if values.shape != (2 * N_VERTICES_PER_HEMI,):
        raise ValueError(f"values must have shape ({2 * N_VERTICES_PER_HEMI},), one per "
                         f"fsaverage5 vertex; got {values.shape}.")
    if not np.isfinite(values).any():
        raise ValueError("values: no finite value to show; every vertex is NaN or infinite.")
    mesh = load_fsaverage("fsaverage5")["inflated"]
    sulcal = load_fsaverage_data(mesh="fsaverage5", data_type="sulcal", mesh_type="inflated")
    shown = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if not symmetric:
        shown = np.clip(shown, 0.0, None)  # a 0..vmax scale leaves negative values uncoloured
    image = SurfaceImage(mesh=mesh, data={"left": shown[:N_VERTICES_PER_HEMI],
                                          "right": shown[N_VERTICES_PER_HEMI:]})
    vmax = float(np.nanmax(np.abs(values))) if vmax is None else float(vmax)
    vmin = None if symmetric else 0.0
    view = plotting.view_surf(surf_map=image, bg_map=sulcal, hemi="both",
                              threshold=threshold if threshold else None, cmap=cmap,
                              symmetric_cmap=symmetric, vmax=vmax, vmin=vmin,
                              title="<br>".join(textwrap.wrap(title, TITLE_WIDTH)) or None,
                              title_fontsize=14, colorbar_fontsize=12)
    page = _ICON.sub("", view.html)
    remote = remote_urls(page)
    if remote:
        raise RuntimeError(f"the interactive view would fetch {remote} from the network; "
                           "nilearn's page template changed: update analysis.figures.interactive.")
    return page


def view_cortex(values: np.ndarray, *, height: int = 520, **options):
    """An interactive 3-D cortex view for notebook output (and the HTML book), offline.

    Parameters
    ----------
    values : array of shape (20484,), left hemisphere first
    height : height of the frame in pixels (its width follows the page)
    **options : ``title``, ``vmax``, ``threshold``, ``cmap``, ``symmetric`` of
        :func:`cortex_view_html`

    Returns
    -------
    IPython.display.HTML holding an ``<iframe srcdoc=...>`` with the whole page
    """
    from IPython.display import HTML

    page = cortex_view_html(values, **options)
    title = html.escape(options.get("title") or "")
    return HTML(f'<div class="cortex-view"><iframe title="{title}"'
                f' srcdoc="{html.escape(page, quote=True)}" width="100%" height="{int(height)}"'
                f' style="border: none;" loading="lazy"></iframe></div>')
