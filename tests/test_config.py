import pytest

from analysis import config


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ValueError, match="demo, lpp, paper"):
        config.get_profile("dmeo")


def test_check_choice_and_positive_int():
    config.check_choice("language", "en", ("en", "fr"))
    with pytest.raises(ValueError, match="language='de'"):
        config.check_choice("language", "de", ("en", "fr"))
    with pytest.raises(ValueError, match="n=0"):
        config.check_positive_int("n", 0)
    with pytest.raises(ValueError, match="n=True"):
        config.check_positive_int("n", True)
    config.check_positive_int("n", 0, minimum=0)
    with pytest.raises(ValueError, match="n=1 must be an integer >= 2"):
        config.check_positive_int("n", 1, minimum=2)


def test_data_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "elsewhere"))
    assert config.data_home() == tmp_path / "elsewhere"
    assert config.cache_dir() == tmp_path / "elsewhere" / "cache"


def test_profile_overrides_are_applied_and_checked():
    spec = config.get_profile("lpp", {"sections": [2, 1], "n_folds": 3})
    assert spec.sections == (2, 1) and spec.n_folds == 3 and spec.languages == ("en", "fr", "cn")
    assert config.get_profile("lpp").n_folds == 10  # the profile itself is unchanged
    with pytest.raises(ValueError, match="'n_subjects'"):
        config.get_profile("lpp", {"n_subjects": 1})
    with pytest.raises(ValueError, match="sections"):
        config.get_profile("lpp", {"sections": [0, 10]})
    with pytest.raises(ValueError, match="n_folds"):
        config.get_profile("lpp", {"n_folds": 1})
    with pytest.raises(ValueError, match="'name'"):
        config.get_profile("lpp", {"name": "mine"})


def test_profiles_choose_their_source_and_model_family():
    demo, lpp, paper = (config.get_profile(n) for n in ("demo", "lpp", "paper"))
    assert (demo.source, demo.model_family, demo.offline) == ("demo", "demo", True)
    assert lpp.source == paper.source == "lpp" and not lpp.offline and not paper.offline
    assert lpp.model_family == paper.model_family == "public"
    assert config.get_profile("lpp", {"model_family": "demo"}).model_family == "demo"
    with pytest.raises(ValueError, match="model_family"):
        config.get_profile("demo", {"model_family": "mine"})
    assert set(config.LANGUAGES) == set(demo.languages) and config.N_SECTIONS == 9


def test_build_and_figure_folders_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_BUILD_DIR", str(tmp_path / "out"))
    assert config.build_dir() == tmp_path / "out"
    assert config.figures_dir() == tmp_path / "out" / "figures"
