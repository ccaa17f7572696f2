"""Saving figures and the numbers they plot under the build folder; tables comparing them
with the paper's.

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
import pandas as pd

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
    """An HTML admonition for notebook output saying the page's data are simulated (or not)."""
    from IPython.display import HTML

    if not simulated:
        return HTML("")
    return HTML(
        '<div class="admonition warning"><p class="admonition-title">Simulated data</p>'
        "<p>This page was built with the <code>demo</code> profile: the speech is synthesised "
        "by espeak-ng from a story written for this book, and the brain responses come from "
        "simulated listeners with a planted cortical hierarchy. No number on this page is a "
        "measurement of a human brain. Run the notebook with <code>profile=\"lpp\"</code> to "
        "use the real Le Petit Prince fMRI data.</p></div>")


def comparison_table(rows, *, profile: str, model: str | None = None,
                     participants=None) -> pd.DataFrame:
    """The paper's numbers beside this run's, with what produced them (one table per figure).

    Parameters
    ----------
    rows : iterable of ``(quantity, paper, this_run)``, or of dicts with those keys and,
        optionally, ``model`` and ``participants`` for a row produced by other models or
        people than the rest (a comparison of models, human listeners); ``paper`` is a number
        or the paper's text (e.g. ``"≈0.0265"``), ``this_run`` a number, a text, or None when
        this run cannot give it (shown as "n/a")
    profile : the profile that produced this run's numbers
    model : the model of every row that does not name its own
    participants : participant ids analysed in this run (or a text saying who), for every row
        that does not name its own

    Returns
    -------
    DataFrame indexed by ``quantity`` with columns ``paper, this run, profile, model,
    participants`` (``participants`` as "n: first ids"), numbers with 4 significant digits;
    ``.reset_index().to_dict(orient="records")`` is JSON-ready
    """
    records = []
    for row in rows:
        if not isinstance(row, dict):
            row = dict(zip(("quantity", "paper", "this_run"), row))
        missing = [k for k in ("quantity", "paper", "this_run") if k not in row]
        if missing:
            raise ValueError(f"rows: {row} lacks {missing}.")
        who = row.get("model", model)
        if who is None:
            raise ValueError(f"rows: {row['quantity']!r} names no model and no `model` was "
                             "given for the table.")
        records.append({"quantity": row["quantity"], "paper": _cell(row["paper"]),
                        "this run": _cell(row["this_run"]), "profile": profile, "model": who,
                        "participants": _people(row.get("participants", participants))})
    if not records:
        raise ValueError("rows: a comparison table needs at least one quantity.")
    return pd.DataFrame.from_records(records).set_index("quantity")


def _people(participants) -> str:
    """Who produced a number: a text as given, ids as "n: first ids"."""
    if isinstance(participants, str):
        return participants
    ids = list(participants or [])
    shown = ", ".join(ids[:4]) + (f", … ({len(ids) - 4} more)" if len(ids) > 4 else "")
    return f"{len(ids)}: {shown}" if ids else "none"


def _cell(value) -> str:
    """A table cell: numbers with 4 significant digits, None and NaN as "n/a"."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.4g}"
    return str(value)
