"""The Narratives corpus as a data source: on a miniature tree built from the real events,
sidecars and participants.tsv (``narratives_miniature``), with fsaverage6 surfaces and WAVs
of the lengths the events give, the loader's listeners, stimuli and runs are those of
``index_scans``; profiles choose the corpora merged and each corpus's outer folds."""
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import narratives_miniature
from analysis import config, scores
from analysis.datasets import (Dataset, Participant, Stimulus, merge, narratives,
                               narratives_loader)
from analysis.datasets.lpp import CorpusError
from analysis.datasets.summary import participants_per_corpus

# pieman in two runs; milkyway (vodka, TR 1.52 s in the miniature) and prettymouth
LISTENERS = ("sub-002", "sub-086")


@pytest.fixture(scope="module")
def narratives_data(tmp_path_factory, shared_narratives):
    """A tree of :data:`LISTENERS` with their surfaces and audio: its root."""
    root = tmp_path_factory.mktemp("narratives-data") / "ds002345"
    narratives_miniature.build_tree(root, set(LISTENERS))
    narratives_miniature.write_scan_data(root)
    return root


@pytest.fixture(scope="module")
def loaded(narratives_data, tmp_path_factory):
    """:data:`LISTENERS` loaded once, their runs cached in a folder of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANALYSIS_DATA_HOME", str(tmp_path_factory.mktemp("narratives-home")))
        return narratives_loader.load_narratives(narratives_data, n_participants=0)


def lpp_like(n_participants: int = 2) -> Dataset:
    """A data set of two sections heard by every listener, as Le Petit Prince's are (no file
    is read)."""
    stimuli = [Stimulus(language="en", section=k, audio_path=Path(f"en{k}.wav"),
                        words=pd.DataFrame(columns=["word", "onset", "offset"]),
                        n_scans=10, tr=2.0) for k in (1, 2)]
    people = [Participant(f"sub-EN{i:03d}", "en", (Path(f"{i}-1.npy"), Path(f"{i}-2.npy")))
              for i in range(n_participants)]
    return Dataset("lpp", {"en": stimuli}, people, simulated=False)


def test_the_loader_gives_the_listeners_stories_and_runs_of_index_scans(narratives_data,
                                                                         loaded):
    index = narratives_loader.story_runs(narratives.index_scans(narratives_data))
    assert [p.id for p in loaded.participants] == sorted(set(index.participant))
    assert loaded.name == "narratives" and not loaded.simulated
    assert list(loaded.stimuli) == ["en"]
    for person in loaded.participants:
        rows = index[index.participant == person.id]
        assert person.language == "en" and person.corpus == "narratives"
        assert [s.name for s in person.stimuli] == rows.story.tolist()
        assert len(person.bold_paths) == len(rows)
        for stimulus, path, row in zip(person.stimuli, person.bold_paths, rows.itertuples()):
            assert stimulus.tr == row.tr and stimulus.n_scans == row.n_scans
            assert stimulus.audio_start == row.audio_start
            assert stimulus.audio_duration == row.duration
            assert np.load(path).shape == (row.n_scans, 20484)
    # each story heard once per timing: pieman (both runs of sub-002), milkyway, prettymouth
    assert sorted(s.name for s in loaded.stimuli["en"]) == ["milkywayvodka", "pieman",
                                                            "prettymouth"]
    sub002 = loaded.participants[0]
    assert sub002.stimuli[0] is sub002.stimuli[1]


def test_runs_start_at_the_first_volume_of_the_story(loaded):
    pieman = next(s for s in loaded.stimuli["en"] if s.name == "pieman")
    # story 15-437 s at TR 1.5: volumes 10 to 290 start in it; the last is left out
    assert (pieman.scan_start, pieman.n_scans, pieman.tr) == (0.0, 280, 1.5)
    milkyway = next(s for s in loaded.stimuli["en"] if s.name == "milkywayvodka")
    # story 21-425 s at TR 1.52: volume 14 at 21.28 s, the first of 264
    assert milkyway.tr == 1.52 and milkyway.n_scans == 264
    assert milkyway.scan_start == pytest.approx(0.28)
    assert np.allclose(milkyway.scan_times()[:2], [0.28, 1.80])
    # the WAV's music clip is not heard as part of the story
    assert len(pieman.waveform()) == 422 * 16000


def test_the_cut_runs_are_the_scans_volumes(narratives_data, loaded):
    sub086 = loaded.participants[1]
    bold = narratives.read_surface_bold(narratives.bold_paths(narratives_data, "sub-086",
                                                              "milkyway"))
    assert np.array_equal(np.load(sub086.bold_paths[0]), bold[14:14 + 264])


def test_listeners_of_different_stories_are_fitted_in_groups(loaded):
    groups = loaded.groups("en")
    assert [[p.id for p in people] for _, people in groups] == [["sub-002"], ["sub-086"]]
    assert [[s.name for s in stimuli] for stimuli, _ in groups] == [
        ["pieman", "pieman"], ["milkywayvodka", "prettymouth"]]
    # one listener, two TRs: each run is cleaned at its own
    Y = scores.responses(loaded.participants[1], 264 + 449,
                         scores.run_trs(groups[1][0]), config.get_profile("lpp"))
    assert Y.shape == (713, 20484) and np.isfinite(Y).all()


def test_merged_corpora_keep_who_heard_what(loaded):
    real = lpp_like()
    both = merge([real, loaded])
    assert both.name == "lpp+narratives"
    assert len(both.stimuli["en"]) == len(real.stimuli["en"]) + 3
    assert [p.corpus for p in both.participants] == ["lpp"] * len(real.participants) + [
        "narratives"] * 2
    first = both.participants[0]
    assert both.stimuli_of(first) == list(real.stimuli["en"])
    assert len(both.groups("en")) == 3
    with pytest.raises(ValueError, match="simulated and real"):
        merge([dataclasses.replace(real, simulated=True), loaded])
    with pytest.raises(ValueError, match="more than one"):
        merge([loaded, loaded])


def test_a_missing_file_names_the_command_that_fetches_it(narratives_data, tmp_path):
    with pytest.raises(CorpusError, match="fetch narratives --profile lpp"):
        narratives_loader.load_narratives(tmp_path / "nowhere")
    gii = narratives.bold_paths(narratives_data, "sub-086", "prettymouth")[1]
    moved = gii.rename(tmp_path / gii.name)
    try:
        with pytest.raises(CorpusError, match=r"fetch narratives --participants sub-086"):
            narratives_loader.load_narratives(narratives_data, participants=["086"])
    finally:
        moved.rename(gii)


def test_the_loader_is_english_only(narratives_data):
    empty = narratives_loader.load_narratives(narratives_data, languages=("fr",))
    assert empty.participants == [] and empty.stimuli == {}


def test_profiles_choose_the_corpora_and_their_folds():
    paper, lpp = config.get_profile("paper"), config.get_profile("lpp")
    assert paper.corpora_loaded() == ("lpp", "narratives")
    assert lpp.corpora_loaded() == ("lpp",)
    assert (paper.folds_of("narratives"), paper.folds_of("lpp"), paper.folds_of(None)) == (5, 10,
                                                                                           10)
    both = config.get_profile("lpp", {"corpora": ["lpp", "narratives"],
                                      "corpus_folds": {"narratives": 3}})
    assert both.corpora == ("lpp", "narratives") and both.folds_of("narratives") == 3
    assert scores.fit_parameters(both, "narratives")["n_folds"] == 3
    with pytest.raises(ValueError, match=r"\['corpora'\]"):
        config.get_profile("lpp", {"corpora": ["lpp", "nope"]})
    with pytest.raises(ValueError, match=r"\['corpus_folds'\]\['narratives'\]"):
        config.get_profile("lpp", {"corpus_folds": {"narratives": 1}})


def test_participants_are_counted_per_corpus(loaded, narratives_data):
    table = participants_per_corpus(loaded, narratives_root=narratives_data)
    assert table.to_dict("records") == [{"corpus": "narratives", "language": "en",
                                         "analysed": 2, "in the corpus": 2}]


def test_a_participant_without_stimuli_hears_its_languages():
    real = lpp_like(3)
    person = real.participants[0]
    assert person.stimuli is None and person.corpus is None
    assert real.stimuli_of(person) == list(real.stimuli["en"])
    assert len(real.groups("en")) == 1
    assert [p.id for p in real.groups("en", ["sub-EN001"])[0][1]] == ["sub-EN001"]
