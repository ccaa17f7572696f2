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

from analysis import plugins

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Profile:
    """Sizes and sources of one world.

    Attributes
    ----------
    name : ``"demo"``, ``"lpp"`` or ``"paper"``.
    languages : languages whose participants are analysed.
    n_participants : participants per language.
    n_folds : outer cross-validation folds (contiguous in time, no shuffling), of every
        corpus but those of ``corpus_folds``.
    inner_folds : inner folds of ``alpha_selection="kfold"`` and ``"shuffled-kfold"``.
    alphas : ridge penalties searched.
    alpha_selection : how each vertex's penalty is chosen on the training part: ``"loo"``
        (the authors' choice), ``"kfold"``, ``"shuffled-kfold"`` or ``"gcv"`` (see
        :mod:`analysis.ridge`).
    precision : ``"float64"`` (exact alpha choices) or ``"float32"`` (twice as fast; a
        near-tie target may pick a neighbouring alpha, changing its r by about 1e-3).
    offline : whether the profile runs without internet.
    source : the data source (:data:`analysis.plugins.SOURCES`): ``"demo"`` or ``"lpp"``,
        when ``corpora`` is None.
    corpora : the data sources whose data sets are loaded and merged (see
        :func:`analysis.datasets.load_dataset`), e.g. ``("lpp", "narratives")``: the paper's
        English listeners are Le Petit Prince's and the Narratives corpus's (Narratives is
        English only); None: ``(source,)``.
    corpus_folds : outer folds of the listeners of some corpora, e.g.
        ``(("narratives", 5),)``: the authors' Narratives code used 5 outer folds, their Le
        Petit Prince code 10 (``n_folds``); an override may give a mapping,
        ``{"narratives": 5}``.
    sections : story sections analysed (None: every section of the data set).
    model_family : which models the paper's conditions (random, native, non-native,
        non-speech, supervised) name: ``"public"`` checkpoints or a registered family such
        as the ``"demo"``'s own small models (see :func:`analysis.models.resolve_condition`).
    cumulative : score each layer k on layers 0..k concatenated, as the authors' code also
        did (False: each layer alone, the default; which the figures used is not known).
    y_pca : reduce the scaled responses to this many principal components on each training
        part before the fit, as the authors' Le Petit Prince code did (100); None: no PCA.
    excluded : participants left out, e.g. ``("CN018", "CN019")``, whom the authors' code
        skips under ``paper``; an override of ``[]`` keeps them.
    high_pass : cut-off (Hz) of the cosine high-pass filter applied to each run of BOLD, with
        its linear trend, before the runs are z-scored and stacked (None: detrending only;
        see :func:`analysis.scores.responses`).
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
    source: str = "lpp"
    sections: tuple[int, ...] | None = None
    model_family: str = "public"
    cumulative: bool = False
    y_pca: int | None = None
    excluded: tuple[str, ...] = ()
    high_pass: float | None = 1 / 128
    corpora: tuple[str, ...] | None = None
    corpus_folds: tuple[tuple[str, int], ...] = (("narratives", 5),)

    def corpora_loaded(self) -> tuple[str, ...]:
        """The sources whose data sets an analysis merges: ``corpora``, or ``(source,)``."""
        return tuple(self.corpora) if self.corpora else (self.source,)

    def folds_of(self, corpus: str | None = None) -> int:
        """Outer folds of the listeners of ``corpus`` (``corpus_folds``, else ``n_folds``)."""
        return dict(self.corpus_folds).get(corpus, self.n_folds)


PROFILES: dict[str, Profile] = {
    "demo": Profile("demo", "embedded demo world: synthetic speech, simulated listeners",
                    languages=("en", "fr", "cn"), n_participants=3, n_folds=5, inner_folds=5,
                    precision="float32", source="demo", model_family="demo"),
    "lpp": Profile("lpp", "Le Petit Prince fMRI, a few participants per language",
                   languages=("en", "fr", "cn"), n_participants=3, n_folds=10, inner_folds=5,
                   offline=False),
    "paper": Profile("paper", "every participant of Le Petit Prince and of Narratives "
                     "(English): the full reproduction",
                     languages=("en", "fr", "cn"), n_participants=0, n_folds=10, inner_folds=5,
                     offline=False, excluded=("CN018", "CN019"),
                     corpora=("lpp", "narratives")),
}


ALPHA_SELECTIONS = ("loo", "kfold", "shuffled-kfold", "gcv")  # :data:`analysis.ridge.SELECTIONS`
PRECISIONS = ("float32", "float64")
LANGUAGES = ("en", "fr", "cn")
N_SECTIONS = 9  # sections of the story in every source


def get_profile(name: str, overrides: dict | None = None) -> Profile:
    """Return the profile called ``name``, with ``overrides`` applied, every field checked.

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
    overrides = dict(overrides or {})
    fields = {f.name for f in dataclasses.fields(Profile)} - {"name", "offline", "description"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"overrides: {unknown} are not settings of a profile; choose among "
                         f"{', '.join(sorted(fields))}.")
    if isinstance(overrides.get("corpus_folds"), dict):
        overrides["corpus_folds"] = tuple(sorted(overrides["corpus_folds"].items()))
    values = {k: tuple(v) if isinstance(v, (list, tuple, range)) else v
              for k, v in overrides.items()}
    if isinstance(values.get("corpus_folds"), tuple):
        values["corpus_folds"] = tuple(tuple(item) if isinstance(item, list) else item
                                       for item in values["corpus_folds"])
    spec = dataclasses.replace(PROFILES[name], **values)
    check_profile(spec, "overrides" if overrides else f"profile {name!r}")
    return spec


def check_profile(spec: Profile, where: str = "profile") -> None:
    """Raise a ValueError naming the first field of ``spec`` with a wrong value (``where``
    says where it came from, e.g. ``"overrides"``)."""
    for key in ("n_folds", "inner_folds"):
        check_positive_int(f"{where}[{key!r}]", getattr(spec, key), minimum=2)
    check_positive_int(f"{where}['n_participants']", spec.n_participants, minimum=0)
    if not spec.languages or not set(spec.languages) <= set(LANGUAGES):
        raise ValueError(f"{where}['languages']={list(spec.languages)} must be among "
                         f"{', '.join(LANGUAGES)}.")
    alphas = np.asarray(spec.alphas, dtype=float)
    if alphas.ndim != 1 or not len(alphas) or not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(f"{where}['alphas']={list(spec.alphas)} must be positive numbers.")
    check_choice(f"{where}['alpha_selection']", spec.alpha_selection, ALPHA_SELECTIONS)
    check_choice(f"{where}['precision']", spec.precision, PRECISIONS)
    check_choice(f"{where}['source']", spec.source, plugins.names(plugins.SOURCES))
    if spec.corpora is not None:
        if not spec.corpora or len(set(spec.corpora)) != len(spec.corpora):
            raise ValueError(f"{where}['corpora']={list(spec.corpora)} must name each data "
                             "source once, e.g. ['lpp', 'narratives'] (or None: the source).")
        for corpus in spec.corpora:
            check_choice(f"{where}['corpora']", corpus, plugins.names(plugins.SOURCES))
    for item in spec.corpus_folds:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(f"{where}['corpus_folds']={list(spec.corpus_folds)} must map "
                             "corpus names to outer folds, e.g. {'narratives': 5}.")
        check_positive_int(f"{where}['corpus_folds'][{item[0]!r}]", item[1], minimum=2)
    check_choice(f"{where}['model_family']", spec.model_family,
                 ("public", *plugins.names(plugins.MODEL_FAMILIES)))
    if not isinstance(spec.cumulative, bool):
        raise ValueError(f"{where}['cumulative']={spec.cumulative!r} must be true or false.")
    if spec.y_pca is not None:
        check_positive_int(f"{where}['y_pca']", spec.y_pca)
    if spec.high_pass is not None and not (isinstance(spec.high_pass, (int, float))
                                           and 0 < spec.high_pass < 0.25):
        raise ValueError(f"{where}['high_pass']={spec.high_pass!r} must be a cut-off in Hz "
                         "below the Nyquist frequency of every run (e.g. 1/128), or None.")
    if not all(isinstance(p, str) for p in spec.excluded):
        raise ValueError(f"{where}['excluded']={list(spec.excluded)} must be participant ids, "
                         "e.g. ['CN018'].")
    if spec.sections is not None:
        if not spec.sections or not set(spec.sections) <= set(range(1, N_SECTIONS + 1)):
            raise ValueError(f"{where}['sections']={list(spec.sections)} must be story "
                             f"sections between 1 and {N_SECTIONS}.")


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
