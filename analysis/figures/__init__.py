"""Figures: saving them with the numbers they plot, and the panels they are made of.

- :func:`save_figure` writes a figure's PNG, SVG and JSON under the build folder;
- :mod:`analysis.figures.cortex`: static maps on the cortex, continuous or one category per
  vertex;
- :mod:`analysis.figures.interactive`: 3-D cortex views embedded in the pages;
- :mod:`analysis.figures.panels`: layer curves, shares, participants, schematic, vertices,
  the demo models' training curves and decoding;
- :mod:`analysis.figures.bars`: grouped bars with intervals and significance brackets, and
  Figure 4A's human listeners (or the statement that there are none offline);
- :mod:`analysis.figures.tables`: tables as the pages show them, constant columns in a
  caption.

Each figure notebook calls :func:`save_figure` once per figure: ``<name>.png`` and
``<name>.svg`` for the picture, ``<name>.json`` for every plotted number, so the numbers can be
compared with the paper's without reading pixels.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from analysis.cache import atomic_write
from analysis.config import figures_dir

log = logging.getLogger(__name__)


def save_figure(fig, name: str, numbers: dict, profile: str,
                output_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``fig`` as PNG and SVG and ``numbers`` as JSON, atomically.

    Parameters
    ----------
    fig : matplotlib Figure
    name : file stem, e.g. ``"fig3"``
    numbers : ``{"panels": {...}, ...}``; arrays become lists, NaN becomes null
    profile : the profile that produced them, recorded in the JSON
    output_dir : default :func:`analysis.config.figures_dir`

    Returns
    -------
    dict with the ``png``, ``svg`` and ``json`` paths
    """
    folder = Path(output_dir) if output_dir else figures_dir()
    paths = {ext: folder / f"{name}.{ext}" for ext in ("png", "svg", "json")}
    for ext in ("png", "svg"):
        atomic_write(paths[ext], lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=150,
                                                                 bbox_inches="tight"))
    record = {"figure": name, "profile": profile, **_plain(numbers)}
    atomic_write(paths["json"], lambda tmp: tmp.write_text(json.dumps(record, indent=1)))
    log.info("saved %s", ", ".join(str(p) for p in paths.values()))
    return paths


def _plain(value):
    """JSON-ready copy: arrays to lists, numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    return value


def simulated_data_notice(simulated: bool):
    """An HTML admonition for notebook output saying the page's data are simulated (or not):
    the only output of a page's resolving cell, so one line of text under its title."""
    from IPython.display import HTML

    if not simulated:
        return HTML("")
    return HTML(
        '<div class="admonition warning"><p class="admonition-title">Simulated data</p>'
        "<p>Built with the <code>demo</code> profile: synthesised speech, simulated listeners; "
        "no number here measures a human brain (<code>profile=\"lpp\"</code>: the real Le "
        "Petit Prince fMRI data).</p></div>")
