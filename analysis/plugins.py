"""Data sources and model families registered by name, found through package entry points.

A data source (Le Petit Prince, the demo world, a corpus of your own) or a family of models
(the demo's own small models) plugs into the core without the core importing it: its
package declares an entry point in ``pyproject.toml``, e.g.::

    [project.entry-points."analysis.sources"]
    lpp = "analysis.datasets.lpp_loader:load"

and the core looks it up by name when a profile asks for it. Groups:

- :data:`SOURCES` (``"analysis.sources"``): ``load(profile, languages, n_participants) ->
  Dataset`` (see :func:`analysis.datasets.load_dataset`);
- :data:`MODEL_FAMILIES` (``"analysis.model_families"``): an object with the
  :class:`analysis.models.ModelProvider` interface (see :func:`analysis.models.provider`).
"""
from __future__ import annotations

import functools
from importlib.metadata import entry_points

SOURCES = "analysis.sources"
MODEL_FAMILIES = "analysis.model_families"


@functools.cache
def names(group: str) -> tuple[str, ...]:
    """Names registered in entry point ``group`` (read from the installed metadata; nothing is
    imported)."""
    return tuple(sorted(ep.name for ep in entry_points(group=group)))


@functools.cache
def load(group: str, name: str):
    """The object registered as ``name`` in ``group``, imported on first use.

    Raises
    ------
    ValueError
        naming the registered names when ``name`` is not one of them.
    """
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        raise ValueError(f"{name!r} is not registered in {group!r} (registered: "
                         f"{', '.join(names(group)) or 'none'}); is the package installed "
                         "(`pip install -e .`, which `make` runs)?")
    return found[0].load()
