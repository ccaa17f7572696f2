import dataclasses
import re

import pytest

from analysis import config, ridge, settings

# field, a wrong value, a valid one (which must pass, so the check is not simply always failing)
FIELDS = [
    ("alpha_selection", "bad", "kfold"),
    ("precision", "float16", "float32"),
    ("n_folds", 1, 2),
    ("inner_folds", 1, 2),
    ("n_participants", -1, 0),
    ("languages", ["de"], ["fr"]),
    ("alphas", [0], [1.0]),
    ("sections", [10], [9]),
    ("source", "nope", "demo"),
    ("model_family", "nope", "demo"),
]


@pytest.mark.parametrize("field, wrong, valid", FIELDS, ids=[f[0] for f in FIELDS])
def test_get_profile_rejects_a_wrong_value_of_each_field(field, wrong, valid):
    with pytest.raises(ValueError, match=re.escape(f"overrides[{field!r}]={wrong!r}")):
        config.get_profile("lpp", {field: wrong})
    spec = config.get_profile("lpp", {field: valid})
    value = getattr(spec, field)
    assert (list(value) if isinstance(valid, list) else value) == valid


def test_check_profile_names_where_the_profile_came_from():
    for name, spec in config.PROFILES.items():
        config.check_profile(spec)  # every shipped profile is valid
        assert config.get_profile(name) == spec
    broken = dataclasses.replace(config.PROFILES["demo"], inner_folds=0)
    with pytest.raises(ValueError, match=re.escape("mine['inner_folds']=0")):
        config.check_profile(broken, "mine")
    with pytest.raises(ValueError, match="'n_subjects'.*n_participants"):
        config.get_profile("lpp", {"n_subjects": 1})


def test_alpha_selections_are_the_ridge_solvers():
    assert config.ALPHA_SELECTIONS == ridge.SELECTIONS


def test_resolve_checks_the_profile_and_picks_the_regions_source():
    demo = settings.resolve("demo", language="fr")
    assert isinstance(demo, settings.Settings)
    assert demo.profile == config.get_profile("demo") and demo.language == "fr"
    assert demo.regions == "coordinates" and demo.models == {}  # offline: shipped coordinates
    assert settings.resolve("lpp", language="en").regions == "destrieux"  # online: the atlas
    assert settings.resolve("lpp", language="en", regions="coordinates").regions == \
        "coordinates"
    quick = settings.resolve("lpp", {"n_participants": 1, "sections": [1, 2]}, language="cn")
    assert quick.profile.n_participants == 1 and quick.profile.sections == (1, 2)
    with pytest.raises(ValueError, match=re.escape("overrides['n_folds']=1")):
        settings.resolve("lpp", {"n_folds": 1}, language="en")
    with pytest.raises(ValueError, match="profile='dmeo'"):
        settings.resolve("dmeo", language="en")


def test_resolve_checks_the_language_panels_regions_and_layers():
    with pytest.raises(ValueError, match="language='de'"):
        settings.resolve("demo", language="de")
    with pytest.raises(ValueError, match="language='fr'"):
        settings.resolve("demo", {"languages": ["en"]}, language="fr")
    with pytest.raises(ValueError, match="regions='atlas'"):
        settings.resolve("demo", language="en", regions="atlas")
    panels = ("untrained", "trained")
    ok = settings.resolve("demo", language="en", panels=panels,
                          conditions={"trained": "native", "untrained": "random"})
    assert set(ok.models) == set(panels)
    with pytest.raises(ValueError, match=r"conditions \(panel labels\)=\['untrained'\]"):
        settings.resolve("demo", language="en", panels=panels,
                         conditions={"untrained": "random"})
    ok = settings.resolve("demo", language="en",
                          layers={"layer": "best", "a": None, "b": 0, "c": 12, "d": "paper"})
    assert ok.language == "en"
    for bad in (-1, "last", 1.5, True):
        with pytest.raises(ValueError, match=re.escape(f"layer={bad!r} must be 'best'")):
            settings.resolve("demo", language="en", layers={"layer": bad})


@pytest.mark.parametrize("language, native, non_native", [
    ("en", "demo-english", "demo-french"), ("fr", "demo-french", "demo-english"),
    ("cn", "demo-mandarin", "demo-english")])
def test_resolve_turns_conditions_into_the_profile_family_models(language, native,
                                                                 non_native):
    conditions = {"A": "native", "B": "non-native", "C": "random", "D": "non-speech",
                  "E": "supervised"}
    out = settings.resolve("demo", language=language, conditions=conditions).models
    assert out == {"A": native, "B": non_native, "C": "demo-random",
                   "D": "demo-non-speech", "E": "demo-supervised"}
    # the same conditions under the public family: the registry's models
    public = settings.resolve("lpp", language=language, conditions={"C": "random"}).models
    assert public == {"C": "random"}
    family = settings.resolve("lpp", {"model_family": "demo"}, language=language,
                              conditions={"C": "random"}).models
    assert family == {"C": "demo-random"}


def test_conditions_resolve_or_fail_naming_the_panel(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    demo, lpp = config.get_profile("demo"), config.get_profile("lpp")
    out = settings.resolve_conditions({"untrained": "random", "mine": str(tiny_model_dir)},
                                      "en", demo)
    assert out == {"untrained": "demo-random", "mine": str(tiny_model_dir)}
    assert settings.resolve_conditions({"untrained": "random"}, "fr", lpp) == {
        "untrained": "random"}
    with pytest.raises(ValueError, match=r"conditions\['x'\]='nope'.*profile 'demo'"):
        settings.resolve_conditions({"x": "nope"}, "en", demo)


def test_a_hub_model_missing_offline_fails_before_anything_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    with pytest.raises(ValueError, match=r"conditions\['supervised'\].*HF_HUB_OFFLINE"):
        settings.resolve_conditions({"supervised": "supervised"}, "en",
                                    config.get_profile("lpp"))
    with pytest.raises(ValueError, match=r"conditions\['B'\]='native'"):
        settings.resolve("lpp", language="fr", conditions={"B": "native"})


def test_resolve_turns_the_conditions_into_models_for_every_stimulus_language():
    conditions = {"native": "native", "non-native": "non-native", "random": "random"}
    run = settings.resolve("demo", language="en", conditions=conditions,
                           stimulus_languages=["en", "fr"])
    assert run.stimulus_models == {
        lang: settings.resolve("demo", language=lang, conditions=conditions).models
        for lang in ("en", "fr")}
    assert run.stimulus_models["fr"]["native"] == "demo-french"
    assert settings.resolve("demo", language="en").stimulus_models == {}
    with pytest.raises(ValueError, match="abx_languages: no ABX stimuli are defined for 'cn'"):
        settings.resolve("demo", language="en", stimulus_languages=["cn"])
    with pytest.raises(ValueError, match="language='fr'"):
        settings.resolve("demo", {"languages": ["en"]}, language="en", stimulus_languages=["fr"])


def test_resolve_checks_a_percentile():
    assert settings.resolve("demo", language="en", percentile=99.0).language == "en"
    for bad in (0, 100, -5):
        with pytest.raises(ValueError, match=re.escape(f"percentile={bad!r} must be between")):
            settings.resolve("demo", language="en", percentile=bad)
