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


def test_data_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "elsewhere"))
    assert config.data_home() == tmp_path / "elsewhere"
    assert config.cache_dir() == tmp_path / "elsewhere" / "cache"
