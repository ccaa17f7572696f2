"""A notebook's parameters turned into checked settings, before anything is computed.

Every figure notebook calls :func:`resolve` once, in its first code cell: the profile (with
its overrides) is checked field by field, the language against the profile's, each panel's
condition resolved to a model that can be used here (a hub model unavailable offline fails
now, not after an hour of fitting), the regions' source chosen, and the layer parameters
checked. An error names the parameter, its value and what to choose instead.

Figure 4 runs its conditions on the ABX stimuli of several languages as well as on the
listeners' brains: ``native`` on French triphones is the French-trained model, so
:func:`resolve` also resolves the conditions once per stimulus language
(``stimulus_languages``), into :attr:`Settings.stimulus_models`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from analysis import abx, models
from analysis.config import Profile, check_choice, get_profile

REGION_SOURCES = ("coordinates", "destrieux")


@dataclass(frozen=True)
class Settings:
    """What a notebook runs with.

    Attributes
    ----------
    profile : the profile, overrides applied and checked
    language : the listeners' language
    models : panel label -> model name (conditions resolved for ``language``)
    regions : ``"coordinates"`` (published MNI coordinates on the shipped mesh, offline) or
        ``"destrieux"`` (the atlas, downloaded)
    stimulus_models : stimulus language -> {panel label -> model name}: the conditions
        resolved for each language of ``stimulus_languages`` (empty when none was asked for)
    """

    profile: Profile
    language: str
    models: dict[str, str]
    regions: str
    stimulus_models: dict[str, dict[str, str]] = field(default_factory=dict)


def resolve(profile: str, overrides: dict | None = None, *, language: str,
            conditions: dict[str, str] | None = None, panels=None, regions: str | None = None,
            layers: dict | None = None, percentile: float | None = None,
            stimulus_languages=None) -> Settings:
    """Check a notebook's parameters and resolve its models.

    Parameters
    ----------
    profile, overrides : see :func:`analysis.config.get_profile`
    language : the listeners' language, one of the profile's
    conditions : panel label -> condition (``"native"``, ``"random"``...) or model name
    panels : the panel labels ``conditions`` must have (None: any)
    regions : ``"coordinates"``, ``"destrieux"`` or None: coordinates where the profile runs
        offline, else the atlas
    layers : parameter name -> layer value to check: ``"best"``, or a layer number >= 0 (None
        allowed: the notebook's default)
    percentile : a percentile parameter to check (strictly between 0 and 100), or None
    stimulus_languages : languages of ABX stimuli (:data:`analysis.abx.CONTRASTS`), each of
        the profile's; ``conditions`` are resolved for each (``stimulus_models``)
    """
    spec = get_profile(profile, overrides)
    check_choice("language", language, spec.languages)
    conditions = dict(conditions or {})
    if panels is not None:
        check_choice("conditions (panel labels)", sorted(conditions), [sorted(panels)])
    regions = regions or ("coordinates" if spec.offline else "destrieux")
    check_choice("regions", regions, REGION_SOURCES)
    for name, value in (layers or {}).items():
        check_layer(name, value)
    if percentile is not None and not 0 < percentile < 100:
        raise ValueError(f"percentile={percentile!r} must be between 0 and 100 (exclusive).")
    stimulus_models = {}
    for stimulus_language in abx.check_languages(stimulus_languages or []):
        check_choice("language", stimulus_language, spec.languages)
        stimulus_models[stimulus_language] = resolve_conditions(conditions, stimulus_language,
                                                                spec)
    return Settings(spec, language, resolve_conditions(conditions, language, spec), regions,
                    stimulus_models)


def check_layer(name: str, value) -> None:
    """Raise a ValueError naming parameter ``name`` unless ``value`` is None, ``"best"``,
    ``"paper"`` or a layer number >= 0."""
    if value is None or value in ("best", "paper"):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}={value!r} must be 'best', 'paper' (where a figure has a "
                         "layer of the paper's) or a layer number >= 0 (paper numbering: 0-6 "
                         "convolutional, 7.. transformer).")


def resolve_conditions(conditions: dict[str, str], language: str,
                       profile: Profile) -> dict[str, str]:
    """The model name of each panel's condition, checked before anything is computed.

    Parameters
    ----------
    conditions : panel label -> condition (``"native"``, ``"non-native"``, ``"random"``...)
        or model name (registry entry, local folder, hub id)
    language : the listeners' (or stimuli's) language, for ``native`` / ``non-native``
    profile : its ``model_family`` maps conditions to models

    Raises
    ------
    ValueError
        naming the panel and the condition that does not resolve to a usable model, and why.
    """
    out = {}
    for label, condition in conditions.items():
        try:
            name = models.resolve_condition(condition, language, profile.model_family)
            models.resolve(name)
            models.load_config(name)  # a hub model unavailable offline fails here, at once
        except (ValueError, OSError, models.ModelUnavailableError) as exc:
            raise ValueError(f"conditions[{label!r}]={condition!r} does not resolve to a usable "
                             f"model for language {language!r} under profile "
                             f"{profile.name!r}: {exc}") from exc
        out[label] = name
    return out
