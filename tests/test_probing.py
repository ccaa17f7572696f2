from collections import Counter

import numpy as np
import pandas as pd
import pytest

from analysis import acoustics, probing
from analysis.datasets import Stimulus


def test_log_mel_puts_a_tone_in_its_band():
    t = np.arange(16000) / 16000
    low = acoustics.model_frame_log_mel(np.sin(2 * np.pi * 300 * t))
    high = acoustics.model_frame_log_mel(np.sin(2 * np.pi * 5000 * t))
    assert low.shape == (49, 40) and low.dtype == np.float32
    assert low.mean(0).argmax() < 8 < 25 < high.mean(0).argmax()
    with pytest.raises(ValueError, match="n_frames"):
        acoustics.model_frame_log_mel(np.zeros(1000), n_frames=5)


def test_targets_follow_the_timing_tables(tmp_path):
    import soundfile

    path = tmp_path / "s.wav"
    soundfile.write(path, np.zeros(16000, np.float32), 16000)
    words = pd.DataFrame({"word": ["The", "fox,"], "onset": [0.1, 0.5], "offset": [0.4, 0.9]})
    phones = pd.DataFrame({"phone": ["D", "'@", "f", "0", "ks"],
                           "onset": [0.1, 0.2, 0.5, 0.6, 0.7],
                           "offset": [0.2, 0.4, 0.6, 0.7, 0.9]})
    stim = Stimulus("en", 1, path, words, n_scans=1, tr=2.0, phones=phones)
    inventory = {"D": 0, "@": 1, "f": 2, "0": 3}  # "ks" unknown: left out
    out = probing.targets(stim, 49, inventory, Counter({"the": 10, "fox": 1}))
    times = (np.arange(49) * 320 + 200) / 16000
    at = {t: int(np.argmin(abs(times - t))) for t in (0.05, 0.12, 0.3, 0.55, 0.8, 0.95)}
    assert out["phone"][at[0.12]] == 0 and out["phone"][at[0.3]] == 1
    assert out["phone"][at[0.55]] == 2 and out["phone"][at[0.8]] == -100
    assert np.isnan(out["word_length"][at[0.05]]) and np.isnan(out["word_onset"][at[0.95]])
    assert out["word_length"][at[0.3]] == 3 and out["word_length"][at[0.55]] == 3
    assert out["word_frequency"][at[0.3]] == 1.0 and out["word_frequency"][at[0.8]] == 0.0
    assert out["word_onset"][at[0.12]] == 1 and out["word_onset"][at[0.3]] == 0
    assert out["mel"].shape == (49, 40)


def test_decoding_finds_the_layer_that_carries_the_targets():
    rng = np.random.default_rng(0)
    n = 2000
    phone = rng.integers(0, 5, n)
    mel = rng.standard_normal((n, 40))
    length = rng.integers(1, 9, n).astype(float)
    informative = np.hstack([np.eye(5)[phone], mel[:, :10], length[:, None]])
    informative = informative + 0.1 * rng.standard_normal(informative.shape)
    noise = rng.standard_normal((n, 16))
    frame_targets = {"phone": phone, "mel": mel, "word_onset": (length > 4).astype(float),
                     "word_length": length, "word_frequency": rng.standard_normal(n)}
    test = np.arange(n) >= 1500
    scores = probing.decode([informative, noise], ~test, test, frame_targets)
    names = list(probing.TARGETS)
    assert scores.shape == (2, len(names))
    assert scores[0, names.index("phone")] > 0.9 > 0.4 > scores[1, names.index("phone")]
    assert scores[0, names.index("word_length")] > 0.9
    assert scores[1, names.index("word_length")] < 0.05
    assert 0.15 < scores[0, names.index("mel")] < 0.35  # 10 of 40 bands are carried


def test_targets_on_the_same_frames_share_one_fit_and_score_as_if_fitted_alone(monkeypatch):
    from sklearn.metrics import r2_score, roc_auc_score

    rng = np.random.default_rng(1)
    n = 1200
    X = rng.standard_normal((n, 12))
    inside = rng.random(n) > 0.3  # frames inside words
    phone = np.where(rng.random(n) > 0.2, (X[:, 0] > 0).astype(int), -100)
    word = {"word_onset": (X[:, 1] + rng.standard_normal(n) > 0).astype(float),
            "word_length": X[:, 2] + rng.standard_normal(n),
            "word_frequency": X[:, 3] + rng.standard_normal(n)}
    frame_targets = {"phone": phone, "mel": X[:, 4:8] + rng.standard_normal((n, 4)),
                     **{k: np.where(inside, v, np.nan) for k, v in word.items()}}
    test = np.arange(n) >= 900
    fits = []
    real = probing.ridge_fit_predict
    monkeypatch.setattr(probing, "ridge_fit_predict",
                        lambda *a, **k: fits.append(a[1].shape[1]) or real(*a, **k))
    scores = probing.decode([X], ~test, test, frame_targets)[0]
    assert sorted(fits) == [2, 3, 4]  # phone (2 classes), the word targets together, mel
    tr, te = ~test & inside, test & inside
    X = (X - X[~test].mean(0)) / (X[~test].std(0) + 1e-8)  # as decode standardises
    for name, metric in (("word_onset", roc_auc_score), ("word_length", r2_score),
                         ("word_frequency", r2_score)):
        alone = real(X[tr], frame_targets[name][tr, None], X[te])[:, 0]
        assert scores[list(probing.TARGETS).index(name)] == pytest.approx(
            metric(frame_targets[name][te], alone), abs=1e-9), name


@pytest.mark.slow
def test_probe_scores_the_baseline_and_a_model_then_reuses_them(tiny_world, tiny_model_dir,
                                                                 monkeypatch):
    table = probing.probe_models([str(tiny_model_dir)], tiny_world, "en")
    assert set(table["model"]) == {"log-mel", str(tiny_model_dir)}
    assert len(table[table.model == "log-mel"]) == len(probing.TARGETS)
    assert len(table[table.model != "log-mel"]) == 9 * len(probing.TARGETS)
    baseline = table[(table.model == "log-mel") & (table.target == "mel")]["score"].item()
    assert baseline > 0.95  # log-mel decodes itself
    monkeypatch.setattr(probing, "decode", lambda *a: pytest.fail("recomputed"))
    again = probing.probe_models([str(tiny_model_dir)], tiny_world, "en")
    pd.testing.assert_frame_equal(table, again)
    n_sections = len(tiny_world.stimuli["en"])
    with pytest.raises(ValueError, match=f"held_out={n_sections}"):
        probing.probe("log-mel", tiny_world, "en", held_out=n_sections)
    with pytest.raises(ValueError, match="language='de'"):
        probing.probe("log-mel", tiny_world, "de")


def test_per_layer_and_best_layer_scores_read_the_probes_table():
    rows = [{"model": m, "layer": layer, "target": t, "score": score + layer * 0.1}
            for m, score in (("m1", 0.2), ("m2", 0.1)) for layer in range(3)
            for t in probing.TARGETS]
    rows += [{"model": probing.BASELINE, "layer": 0, "target": t, "score": 0.5}
             for t in probing.TARGETS]
    probes = pd.DataFrame(rows)
    layers = probing.per_layer(probes)
    assert list(layers) == list(probing.TARGETS)
    np.testing.assert_allclose(layers["phone"]["m1"], [0.2, 0.3, 0.4])
    assert layers["mel"][probing.BASELINE].tolist() == [0.5]
    best = probing.best_layer_scores(probes, ["m2", "m1"])
    assert list(best.index) == [probing.BASELINE, "m2", "m1"]
    assert list(best.columns) == list(probing.TARGETS)
    assert best.loc["m1", "phone"] == pytest.approx(0.4)
    assert best.loc["m2", "word_onset"] == pytest.approx(0.3)
