import numpy as np
import pytest

from analysis import encoding
from analysis.config import get_profile
from analysis.demo import listeners, planted, story, voices
from analysis.demo.oracle import oracle_check
from analysis.demo.world import SEED_VARIABLE, build_world, load_truth, select, sentences


def test_world_has_timed_stimuli_and_bold_of_the_right_size(tiny_world):
    assert list(tiny_world.stimuli) == list(story.LANGUAGES)
    for language, stimuli in tiny_world.stimuli.items():
        assert [s.section for s in stimuli] == list(range(1, len(story.sections(language)) + 1))
        for stim, sentences in zip(stimuli, story.sections(language)):
            duration = len(stim.waveform()) / 16000
            expected = [w for s in sentences[:5] for w in story.words_of(s, language)]
            assert list(stim.words.word) == expected  # one row per word of the story
            assert np.all(np.diff(stim.words.onset) > 0)
            assert stim.words.onset.min() >= 0 and stim.words.offset.max() <= duration + 1e-6
            assert stim.n_scans == int(np.ceil(duration / stim.tr)) + 4
            assert np.all(np.diff(stim.phones.onset) >= 0)
    assert [p.id for p in tiny_world.participants] == [
        f"sub-{lang.upper()}{k:02d}" for lang in story.LANGUAGES for k in (1, 2)]
    bold = tiny_world.participants[0].bold()
    assert bold.shape == (sum(s.n_scans for s in tiny_world.stimuli["en"]), 20484)
    assert np.isfinite(bold).all()


def test_each_sentence_has_its_drawn_voice_and_its_words(tiny_world):
    """The sentences table says how each sentence was spoken; voices vary within a language,
    and each sentence's words lie within its time span."""
    for language, stimuli in tiny_world.stimuli.items():
        tables = [sentences(stim) for stim in stimuli]
        drawn = np.concatenate([t.voice for t in tables])
        assert {v.split("+")[0] for v in drawn} <= set(voices.ACCENTS[language])
        assert len(set(drawn)) > 5 and np.concatenate([t.pitch for t in tables]).std() > 5
        for stim, table, written in zip(stimuli, tables, story.sections(language)):
            assert list(table.text) == [story.display(s, language) for s in written[:5]]
            spans = table.set_index("sentence")
            onsets = spans.onset[stim.words.sentence].to_numpy()
            offsets = spans.offset[stim.words.sentence].to_numpy()
            assert np.all(stim.words.onset.to_numpy() >= onsets - 1e-6)
            assert np.all(stim.words.onset.to_numpy() < offsets)


def test_truth_is_saved_for_every_language(tiny_world):
    truth = load_truth(tiny_world)
    assert list(truth["levels"]) == ["acoustic", "pitch", "phonetic", "phonotactic",
                                     "lexical", "contextual"]
    assert list(truth["planted_levels"]) == list(truth["levels"]) and truth["language_specific"]
    assert truth["region_level_share"].shape == (len(truth["regions"]), len(truth["levels"]))
    for language, stimuli in tiny_world.stimuli.items():
        n_scans = sum(s.n_scans for s in stimuli)
        assert truth[f"{language}_ceiling"].shape == (2, 20484)
        assert truth[f"{language}_regressors_phonetic"].shape[0] == n_scans
        basis = truth[f"{language}_acoustic_basis"]
        assert basis.shape == (n_scans, planted.N_BASIS)
        for level in truth["levels"][1:]:  # above acoustics: nothing a spectrum explains
            regs = truth[f"{language}_regressors_{level}"]
            corr = np.corrcoef(regs.T, basis.T)[:regs.shape[1], regs.shape[1]:]
            assert np.abs(corr).max() < 1e-4, (language, level)
        assert list(truth[f"{language}_section_lengths"]) == [s.n_scans for s in stimuli]
        assert truth[f"{language}_example_signal"].shape == (2, n_scans, len(truth["regions"]))
    # each listener's phonetic level uses the phones of their own language, their lexical
    # level the frequent words of their own language
    assert set(truth["fr_phone_inventory"]) != set(truth["cn_phone_inventory"])
    assert not set(truth["en_top_words"]) & set(truth["cn_top_words"])


def test_select_keeps_languages_and_first_participants(tiny_world):
    part = select(tiny_world, ["fr"], 1)
    assert list(part.stimuli) == ["fr"] and [p.id for p in part.participants] == ["sub-FR01"]
    with pytest.raises(ValueError, match="n_participants=3"):
        select(tiny_world, ["fr"], 3)
    with pytest.raises(ValueError, match="no \\['de'\\]"):
        select(tiny_world, ["de"])


def test_load_dataset_builds_one_world_for_every_language(tiny_world, monkeypatch):
    from analysis import datasets
    from analysis.demo import world

    calls = []

    def fake_build_world(**kwargs):
        calls.append(kwargs)
        return tiny_world

    monkeypatch.setattr(world, "build_world", fake_build_world)
    english = datasets.load_dataset("demo", languages=["en"], n_participants=1)
    french = datasets.load_dataset("demo", languages=["fr"], n_participants=2)
    assert [p.id for p in english.participants] == ["sub-EN01"]
    assert [p.id for p in french.participants] == ["sub-FR01", "sub-FR02"]
    assert all(tuple(c["languages"]) == get_profile("demo").languages for c in calls)
    assert all(c["seed"] == world.DEFAULT_SEED for c in calls)


def test_world_seed_comes_from_its_environment_variable(tiny_world, monkeypatch):
    from analysis import datasets
    from analysis.demo import world

    calls = []
    monkeypatch.setattr(world, "build_world", lambda **kwargs: calls.append(kwargs)
                        or tiny_world)
    monkeypatch.setenv(SEED_VARIABLE, "7")
    datasets.load_dataset("demo", languages=["en"], n_participants=1)
    assert calls[-1]["seed"] == 7
    for bad in ("seven", "-1", "1.5"):
        monkeypatch.setenv(SEED_VARIABLE, bad)
        with pytest.raises(ValueError, match=f"{SEED_VARIABLE}='{bad}'"):
            datasets.load_dataset("demo", languages=["en"], n_participants=1)


def test_world_is_reused_and_rebuilt_when_damaged(tmp_path):
    first = build_world(languages=("en",), n_participants=1, sentences_per_section=3,
                        root=tmp_path)
    path = first.participants[0].bold_paths[0]
    mtime = path.stat().st_mtime_ns
    again = build_world(languages=("en",), n_participants=1, sentences_per_section=3,
                        root=tmp_path)
    assert again.participants[0].bold_paths[0].stat().st_mtime_ns == mtime
    reference, audio = np.load(path), first.stimuli["en"][0].waveform()
    path.write_bytes(b"damaged")
    rebuilt = build_world(languages=("en",), n_participants=1, sentences_per_section=3,
                          root=tmp_path)
    np.testing.assert_array_equal(np.load(rebuilt.participants[0].bold_paths[0]), reference)
    np.testing.assert_array_equal(rebuilt.stimuli["en"][0].waveform(), audio)
    # another seed: other voices and other listeners
    other = build_world(languages=("en",), n_participants=1, sentences_per_section=3, seed=1,
                        root=tmp_path)
    assert list(sentences(other.stimuli["en"][0]).voice) != list(
        sentences(first.stimuli["en"][0]).voice)
    assert not np.allclose(load_truth(other)["en_amplitude"], load_truth(first)["en_amplitude"])


def test_control_world_records_and_plants_only_its_levels(tmp_path):
    """The no-language control: broad phone classes only, no level of the language's
    statistics; its truth says so, and the oracle uses the planted regressors only."""
    control = build_world(languages=("en",), n_participants=1, sentences_per_section=3,
                          params=listeners.WORLDS["no-language"], root=tmp_path)
    truth = load_truth(control)
    assert list(truth["planted_levels"]) == ["acoustic", "pitch", "phonetic"]
    assert not truth["language_specific"]
    assert tuple(truth["en_phone_inventory"]) == planted.BROAD_INVENTORY
    off = [i for i, level in enumerate(truth["levels"]) if level in listeners.LANGUAGE_LEVELS]
    assert (truth["region_level_share"][:, off] == 0).all()
    assert (truth["en_level_share"][off] == 0).all()
    assert not any(f"en_regressors_{level}" in truth for level in listeners.LANGUAGE_LEVELS)
    checked = oracle_check(control, get_profile("demo"))
    assert checked["regions"]["A1+A2"]["mean_r"] > 0


def test_oracle_check_runs_on_a_world(tiny_world, monkeypatch):
    """The planted regressors of a tiny world, fitted by the pipeline, find the planted regions
    (a few minutes of scans are too few to reach the ceilings: see test_listeners); a second
    check reads the fits from the cache."""
    checked = oracle_check(select(tiny_world, ["en"]), get_profile("demo"))
    assert set(checked["regions"]) == {"A1+A2", "STG", "STS", "IFG", "motor"}
    assert checked["oracle_ratio"] > 0.3 and abs(checked["noise_mean_r"]) < 0.03
    assert checked["regions"]["A1+A2"]["mean_r"] > checked["regions"]["motor"]["mean_r"]
    monkeypatch.setattr(encoding, "brain_score",
                        lambda *a, **k: pytest.fail("refitted a cached oracle check"))
    assert oracle_check(select(tiny_world, ["en"]), get_profile("demo")) == checked
