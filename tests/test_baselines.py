"""Baseline feature spaces: their features from the audio and timing tables, their designs
through the regressors of a model layer, cached."""
import numpy as np
import pandas as pd
import pytest

from analysis import acoustics, baselines, regressors, scores
from analysis.cache import Cache
from analysis.config import cache_dir
from analysis.datasets import Stimulus


@pytest.fixture
def stimulus(tmp_path):
    import soundfile

    rate, seconds = 16000, 20.0
    t = np.arange(int(rate * seconds)) / rate
    wave = (0.1 * np.sin(2 * np.pi * 440 * t) * (t > 5)).astype(np.float32)
    path = tmp_path / "story.wav"
    soundfile.write(path, wave, rate)
    words = pd.DataFrame({"word": ["a", "b", "c"], "onset": [5.0, 5.5, 12.0],
                          "offset": [5.4, 6.0, 12.5]})
    phones = pd.DataFrame({"phone": list("abcde"), "onset": [5.0, 5.1, 5.2, 5.5, 12.0],
                           "offset": [5.1, 5.2, 5.4, 6.0, 12.5]})
    return Stimulus("en", 1, path, words=words, n_scans=12, tr=2.0, phones=phones)


def test_features_of_each_baseline(stimulus):
    n_frames = int(20.0 * acoustics.FRAME_RATE)
    shapes = {name: baselines.baseline_features(stimulus, name).shape
              for name in baselines.BASELINES}
    assert shapes == {"log-mel": (n_frames, acoustics.N_MELS), "envelope": (n_frames, 1),
                      "acoustic": (n_frames, acoustics.N_MELS + 1),
                      "word-rate": (n_frames, 1), "phone-rate": (n_frames, 1)}
    envelope = baselines.baseline_features(stimulus, "envelope")[:, 0]
    assert envelope[600:].mean() > envelope[:400].mean() + 30  # the tone starts at 5 s


def test_rates_count_the_onsets_of_the_tables(stimulus):
    words = baselines.baseline_features(stimulus, "word-rate")[:, 0]
    phones = baselines.baseline_features(stimulus, "phone-rate")[:, 0]
    assert words.sum() == 3 and np.flatnonzero(words).tolist() == [500, 550, 1200]
    assert phones.sum() == 5 and phones[500] == 1
    no_phones = Stimulus("en", 1, stimulus.audio_path, words=stimulus.words, n_scans=12,
                         tr=2.0)
    with pytest.raises(ValueError, match="phone-rate baseline needs one"):
        baselines.baseline_features(no_phones, "phone-rate")


def test_unknown_baseline_is_refused(stimulus):
    with pytest.raises(ValueError, match="baseline='mfcc'"):
        baselines.baseline_features(stimulus, "mfcc")


def test_designs_go_through_the_layer_regressors_and_are_cached(tiny_world, monkeypatch):
    design = baselines.baseline_designs(tiny_world, "acoustic", "en")
    stimuli = tiny_world.stimuli["en"]
    assert design.n_layers == 1 and design.n_scans == sum(s.n_scans for s in stimuli)
    X = design.layer(0)
    assert X.shape == (design.n_scans, acoustics.N_MELS + 1)
    first = stimuli[0]
    features = baselines.baseline_features(first, "acoustic")
    expected = regressors.build_regressors(
        features, (np.arange(len(features)) + 0.5) / acoustics.FRAME_RATE, first.scan_times())
    np.testing.assert_allclose(X[: first.n_scans], expected, atol=1e-6)
    monkeypatch.setattr(baselines, "baseline_regressors",
                        lambda *a: pytest.fail("recomputed a cached baseline"))
    again = baselines.baseline_designs(tiny_world, "acoustic", "en")
    assert again.digest == design.digest


def test_baseline_scores_per_vertex(tiny_world, tiny_profile):
    fitted = baselines.baseline_scores(tiny_world, tiny_profile, "envelope", "en")
    assert fitted.shape == (2, 20484)
    assert np.isfinite(fitted).mean() > 0.5


def test_listeners_of_other_stimuli_get_their_own_baseline_designs(tiny_world, two_groups,
                                                                   tiny_profile):
    world, stimuli, partial = two_groups
    assert len(world.groups("en")) == 2
    fitted = baselines.baseline_scores(world, tiny_profile, "envelope", "en")
    alone = scores.participant_scores(
        partial, baselines.baseline_designs_of(stimuli, "envelope"), tiny_profile,
        Cache(cache_dir()), scores.run_trs(stimuli), [0], False, n_jobs=1)["scores"][0]
    np.testing.assert_allclose(fitted[1], alone, equal_nan=True)
    whole = baselines.baseline_scores(tiny_world, tiny_profile, "envelope", "en")
    np.testing.assert_allclose(fitted[0], whole[0], equal_nan=True)
    assert not np.allclose(fitted[1], whole[1], equal_nan=True)
