import subprocess
import sys
import tomllib
from dataclasses import dataclass

import pytest

from analysis import config, models, plugins
from analysis.datasets import Dataset, load_dataset


def test_the_sources_and_the_demo_family_are_registered():
    from analysis.datasets import lpp_loader, narratives_loader
    from analysis.demo import world, zoo

    assert plugins.names(plugins.SOURCES) == ("demo", "lpp", "narratives")
    assert plugins.load(plugins.SOURCES, "narratives") is narratives_loader.load
    assert plugins.names(plugins.MODEL_FAMILIES) == ("demo",)
    assert plugins.load(plugins.SOURCES, "lpp") is lpp_loader.load
    assert plugins.load(plugins.SOURCES, "demo") is world.load
    assert plugins.load(plugins.MODEL_FAMILIES, "demo") is zoo.PROVIDER
    assert models.families() == ("public", "demo")
    assert models.provider("demo") is zoo.PROVIDER
    assert set(models.PUBLIC) == set(zoo.PROVIDER.conditions) == {
        "random", "non-speech", "supervised", "en", "fr", "cn"}


def test_the_installed_entry_points_are_those_of_pyproject():
    """A plugin added to pyproject.toml but not installed (``pip install -e .``) is not seen."""
    declared = tomllib.loads((config.PROJECT_ROOT / "pyproject.toml").read_text())[
        "project"]["entry-points"]
    for group in (plugins.SOURCES, plugins.MODEL_FAMILIES):
        assert plugins.names(group) == tuple(sorted(declared[group])), group


@pytest.mark.parametrize("group", [plugins.SOURCES, plugins.MODEL_FAMILIES])
def test_an_unknown_name_is_refused_naming_the_registered_ones(group):
    registered = ", ".join(plugins.names(group))
    with pytest.raises(ValueError, match=rf"'nope' is not registered in '{group}' "
                                         rf"\(registered: {registered}\)"):
        plugins.load(group, "nope")


def test_load_dataset_dispatches_to_the_profile_source(monkeypatch):
    calls = []

    def fake_load(group, name):
        assert group == plugins.SOURCES
        return lambda profile, languages, n: calls.append(
            (name, profile, languages, n)) or Dataset(name, {}, [], simulated=False)

    monkeypatch.setattr(plugins, "load", fake_load)
    assert load_dataset("demo").name == "demo"
    assert calls[-1] == ("demo", config.get_profile("demo"), ("en", "fr", "cn"), 3)
    assert load_dataset("lpp", languages=["fr"]).name == "lpp"
    assert calls[-1] == ("lpp", config.get_profile("lpp"), ("fr",), 3)
    # paper merges Le Petit Prince's listeners and the Narratives corpus's
    assert load_dataset("paper", languages=["fr"]).name == "lpp+narratives"
    assert calls[-2:] == [(name, config.get_profile("paper"), ("fr",), 0)
                          for name in ("lpp", "narratives")]
    spec = config.get_profile("lpp", {"source": "demo", "n_participants": 2})
    assert load_dataset(spec, n_participants=1).name == "demo"
    assert calls[-1] == ("demo", spec, ("en", "fr", "cn"), 1)


@dataclass
class FakeEntryPoint:
    name: str
    target: object

    def load(self):
        return self.target


@pytest.fixture
def toy_source(monkeypatch):
    """A source ``toy`` registered beside the installed ones; returns the calls it received."""
    calls, real = [], plugins.entry_points

    def toy(profile, languages, n_participants):
        calls.append((profile.name, languages, n_participants))
        return f"toy data for {profile.name}"

    def entry_points(group):
        found = list(real(group=group))
        return found + [FakeEntryPoint("toy", toy)] if group == plugins.SOURCES else found

    plugins.names.cache_clear()
    plugins.load.cache_clear()
    monkeypatch.setattr(plugins, "entry_points", entry_points)
    yield calls
    plugins.names.cache_clear()
    plugins.load.cache_clear()


def test_a_registered_source_needs_no_change_to_the_core(toy_source):
    assert plugins.names(plugins.SOURCES) == ("demo", "lpp", "narratives", "toy")
    spec = config.get_profile("lpp", {"source": "toy", "languages": ["cn"]})
    assert load_dataset(spec, n_participants=4) == "toy data for lpp"
    assert toy_source == [("lpp", ("cn",), 4)]


def test_the_core_imports_no_plugin_until_a_profile_asks_for_it():
    code = (
        "import sys\n"
        "from analysis import cli, config, models, plugins\n"
        "config.get_profile('demo')\n"
        "assert plugins.names(plugins.SOURCES) == ('demo', 'lpp', 'narratives')\n"
        "assert not [m for m in sys.modules if m.startswith('analysis.demo')], 'imported'\n"
        "assert 'analysis.datasets.lpp_loader' not in sys.modules\n"
        "assert 'analysis.datasets.narratives_loader' not in sys.modules\n"
        "assert models.resolve_condition('native', 'en', 'demo') == 'demo-english'\n"
        "assert 'analysis.demo.zoo' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=config.PROJECT_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
