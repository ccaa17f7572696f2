"""Profiles, paths and parameter checks shared by every stage.

A *profile* chooses the world a notebook runs in (see ``docs``: demo, lpp, paper). Paths are
resolved from the data home, never from the working directory:

- data home: ``$ANALYSIS_DATA_HOME`` if set, else ``<project root>/data``;
- build folder: ``$ANALYSIS_BUILD_DIR`` if set, else ``<project root>/_build``.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Profile:
    """Sizes and sources of one world.

    Attributes
    ----------
    name : ``"demo"``, ``"lpp"`` or ``"paper"``.
    languages : languages whose participants are analysed.
    n_participants : participants per language.
    n_folds : outer cross-validation folds (contiguous in time, no shuffling).
    inner_folds : inner folds of ``alpha_selection="kfold"``.
    alphas : ridge penalties searched.
    alpha_selection : how each vertex's penalty is chosen on the training part: ``"loo"``
        (the authors' choice), ``"kfold"`` or ``"gcv"`` (see :mod:`analysis.ridge`).
    precision : ``"float64"`` (exact alpha choices) or ``"float32"`` (twice as fast; a
        near-tie target may pick a neighbouring alpha, changing its r by about 1e-3).
    offline : whether the profile runs without internet.
    simulated : whether the data are the demo world's.
    sections : story sections analysed (None: every section of the data set).
    model_family : which models the paper's conditions (random, native, non-native,
        non-speech, supervised) name: ``"public"`` checkpoints or the ``"demo"``'s own small
        models (see :func:`analysis.models.resolve_condition`).
    """

    name: str
    description: str
    languages: tuple[str, ...]
    n_participants: int
    n_folds: int
    inner_folds: int
    alphas: tuple[float, ...] = field(default_factory=lambda: tuple(np.logspace(1, 8, 20)))
    alpha_selection: str = "loo"
    precision: str = "float64"
    offline: bool = True
    simulated: bool = False
    sections: tuple[int, ...] | None = None
    model_family: str = "public"


PROFILES: dict[str, Profile] = {
    "demo": Profile("demo", "embedded demo world: synthetic speech, simulated listeners",
                    languages=("en", "fr", "cn"), n_participants=3, n_folds=5, inner_folds=5,
                    precision="float32", simulated=True, model_family="demo"),
    "lpp": Profile("lpp", "Le Petit Prince fMRI, a few participants per language",
                   languages=("en", "fr", "cn"), n_participants=3, n_folds=10, inner_folds=5,
                   offline=False),
    "paper": Profile("paper", "every participant of Le Petit Prince: the full reproduction",
                     languages=("en", "fr", "cn"), n_participants=0, n_folds=10, inner_folds=5,
                     offline=False),
}


def get_profile(name: str, overrides: dict | None = None) -> Profile:
    """Return the profile called ``name``, with ``overrides`` applied.

    Parameters
    ----------
    name : a key of :data:`PROFILES`
    overrides : new values of some of the profile's attributes, e.g.
        ``{"n_participants": 1, "sections": [1, 2]}`` (for a quick run of ``lpp``)

    Raises
    ------
    ValueError
        listing the valid names, or naming an override that is not an attribute or has a
        wrong value.
    """
    if not isinstance(name, str) or name not in PROFILES:
        raise ValueError(f"profile={name!r} is not a profile; choose one of "
                         f"{', '.join(sorted(PROFILES))} (demo runs offline).")
    spec = PROFILES[name]
    if not overrides:
        return spec
    fields = {f.name for f in dataclasses.fields(Profile)} - {"name", "simulated", "offline"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"overrides: {unknown} are not settings of a profile; choose among "
                         f"{', '.join(sorted(fields))}.")
    values = {k: tuple(v) if isinstance(v, (list, tuple, range)) else v
              for k, v in overrides.items()}
    for key in ("n_folds", "inner_folds"):
        if key in values:
            check_positive_int(f"overrides[{key!r}]", values[key], minimum=2)
    if "model_family" in values:
        check_choice("overrides['model_family']", values["model_family"], ("public", "demo"))
    if "n_participants" in values:
        check_positive_int("overrides['n_participants']", values["n_participants"], minimum=0)
    if values.get("sections") is not None:
        if not values["sections"] or not set(values["sections"]) <= set(range(1, 10)):
            raise ValueError(f"overrides['sections']={list(values['sections'])} must be "
                             "story sections between 1 and 9.")
    return dataclasses.replace(spec, **values)


def data_home() -> Path:
    """Folder holding downloads, the demo world and the cache of every stage."""
    return Path(os.environ.get("ANALYSIS_DATA_HOME", PROJECT_ROOT / "data")).expanduser()


def build_dir() -> Path:
    """Folder of build outputs: executed notebooks, figures, HTML."""
    return Path(os.environ.get("ANALYSIS_BUILD_DIR", PROJECT_ROOT / "_build")).expanduser()


def figures_dir() -> Path:
    """Where figure notebooks write their PNG, SVG and JSON."""
    return build_dir() / "figures"


def cache_dir() -> Path:
    """Root of the on-disk cache of every stage's products."""
    return data_home() / "cache"


def check_choice(name: str, value, choices) -> None:
    """Raise a ValueError naming parameter ``name`` when ``value`` is not among ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of "
                         f"{', '.join(map(repr, choices))}.")


def check_positive_int(name: str, value, minimum: int = 1) -> None:
    """Raise a ValueError naming parameter ``name`` unless it is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}.")
