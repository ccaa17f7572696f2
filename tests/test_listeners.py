import numpy as np
import pandas as pd
import pytest

from analysis.config import get_profile
from analysis.demo import listeners, ngrams, oracle, planted
from analysis.encoding import brain_score


def _regressors(n_scans=60, seed=0):
    rng = np.random.default_rng(seed)
    regs = {level: rng.standard_normal((n_scans, 2)) for level in listeners.LEVELS}
    regs["envelope"] = rng.standard_normal((n_scans, 1))
    return regs


def test_simulation_is_deterministic_for_a_seed():
    regs = _regressors()
    a, truth_a = listeners.simulate_listeners(regs, [30, 30], n_participants=2, seed=7)
    b, truth_b = listeners.simulate_listeners(regs, [30, 30], n_participants=2, seed=7)
    c, _ = listeners.simulate_listeners(regs, [30, 30], n_participants=2, seed=8)
    np.testing.assert_array_equal(a[1][1], b[1][1])
    np.testing.assert_array_equal(truth_a["ceiling"], truth_b["ceiling"])
    assert not np.array_equal(a[1][1], c[1][1])
    assert a[0][0].shape == (30, 20484) and a[0][0].dtype == np.float32


def test_truth_is_complete_and_consistent():
    regs = _regressors()
    bold, truth = listeners.simulate_listeners(regs, [30, 30], n_participants=2, seed=1)
    amplitude, ceiling = truth["amplitude"], truth["ceiling"]
    assert amplitude.shape == ceiling.shape == (2, 20484)
    noise_only = amplitude == 0
    assert noise_only.sum() > 10000 and (ceiling[noise_only] == 0).all()
    assert 0 < ceiling[~noise_only].min() and ceiling.max() < 1
    np.testing.assert_allclose(ceiling, amplitude / np.sqrt(1 + amplitude ** 2))
    # the measured ceiling is the BOLD's correlation with its planted signal
    v = truth["example_vertices"]
    data = np.vstack(bold[0])[:, v]
    measured = [np.corrcoef(data[:, i], truth["example_signal"][0][:, i])[0, 1]
                for i in range(len(v))]
    np.testing.assert_allclose(measured, truth["ceiling_measured"][0, v], atol=1e-4)
    assert abs(truth["ceiling_measured"].mean() - ceiling.mean()) < 0.02
    region = truth["region"]
    assert set(np.unique(region)) == {-1, *range(len(listeners.ROI_NAMES))}
    inside = region >= 0
    np.testing.assert_allclose(truth["level_share"][:, inside].sum(axis=0), 1.0)
    a1 = region == listeners.ROI_NAMES.index("A1+A2")
    ifg = region == listeners.ROI_NAMES.index("IFG")
    acoustic, contextual = (listeners.LEVELS.index(n) for n in ("acoustic", "contextual"))
    share = truth["level_share"]
    assert share[acoustic, a1].mean() > share[acoustic, ifg].mean()
    assert share[contextual, ifg].mean() > share[contextual, a1].mean()


def test_regressors_must_match_the_sections():
    with pytest.raises(ValueError, match="section_lengths"):
        listeners.simulate_listeners(_regressors(60), [30, 20], n_participants=1, seed=0)


def test_phone_categories_are_the_languages_own():
    common = pd.DataFrame({"phone": ["'a", "a", "t", "t", "n", "S;"] * 40 + ["ts.h"]})
    inventory = planted.phone_categories([common])
    assert {"a", "t", "n", "S;"} <= set(inventory) and "ts.h" not in inventory
    assert inventory[-len(planted.PHONE_CLASSES):] == planted.BROAD_INVENTORY
    words = pd.DataFrame({"word": ["the", "fox", "ran"], "onset": [0.0, 0.3, 0.6],
                          "offset": [0.3, 0.6, 0.9], "sentence": [0, 0, 1]})
    phones = pd.DataFrame({"phone": ["D", "@", "f", "0", "ts.h", "r", "a", "n"],
                           "onset": np.arange(8) * 0.1, "offset": np.arange(1, 9) * 0.1})
    language = planted.learn_language([words], [phones], inventory)
    feats = planted.planted_features(np.random.default_rng(0).standard_normal(16000), 16000,
                                     words, phones, language)
    assert feats["phonetic"].shape == (100, len(inventory))
    rare = inventory.index(f"<{planted.phone_class('ts.h')}>")
    assert feats["phonetic"][45, rare] == 1 and feats["phonetic"][45].sum() == 1
    assert feats["acoustic"].shape == (100, planted.N_BASIS)
    np.testing.assert_array_equal(feats["envelope"], feats["acoustic"][:, -1:])
    assert feats["pitch"].shape == (100, 2)
    assert feats["phonotactic"].shape == feats["contextual"].shape == (100, 2)
    # word onsets, and a boundary surprisal where a word starts inside its sentence only
    lexical = feats["lexical"]
    assert np.flatnonzero(lexical[:, 0]).tolist() == [0, 30, 60]
    assert np.flatnonzero(lexical[:, 1]).tolist() == [30]
    assert lexical[30, 1] > 0
    # word identity of the frequent forms, over each word's span
    fox = 2 + language.top_words.index("fox")
    assert lexical[45, fox] == 1 and lexical[15, fox] == 0
    # contextual: the word bigram surprisal of "fox" after "the" (and the entropy before
    # it), relative to their means over the language's words; 0 in silence
    surprisal, entropy = language.words.score(["the", "fox"])
    ran = language.words.score(["ran"])
    np.testing.assert_allclose(language.word_means, [np.mean([*surprisal, *ran[0]]),
                                                     np.mean([*entropy, *ran[1]])])
    np.testing.assert_allclose(feats["contextual"][45], [surprisal[1] - language.word_means[0],
                                                         entropy[1] - language.word_means[1]])
    assert (feats["contextual"][95] == 0).all() and (feats["phonotactic"][95] == 0).all()
    # a broad inventory: only the classes, whatever the language
    broad = planted.learn_language([words], [phones], planted.BROAD_INVENTORY)
    assert set(broad.phones.vocabulary) <= {*planted.BROAD_INVENTORY, planted.BOUNDARY,
                                            ngrams.END}


def test_pitch_track_follows_a_voice_and_is_silent_elsewhere():
    # 1 s of a harmonic tone gliding from 110 to 220 Hz, then 1 s of quiet noise
    sr = 16000
    t = np.arange(sr) / sr
    f0 = 110 * 2 ** t
    tone = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / sr) / k for k in (1, 2, 3))
    rng = np.random.default_rng(0)
    waveform = np.concatenate([tone, 0.01 * rng.standard_normal(sr)]).astype(np.float32)
    track = planted.pitch_track(waveform, sr, n_frames=200)
    assert track.shape == (200, 2)
    relative, voicing = track.T
    inside = slice(20, 80)  # frames well inside the tone (100 Hz frames)
    assert voicing[inside].min() > 0.5 and voicing[120:].max() < 0.2
    assert (relative[120:] == 0).all()
    # log2 f0 rises by one octave over the tone: its slope, not its offset (relative to the
    # mean over voiced frames), is known
    times = (np.arange(200) + 0.5) / 100
    slope = np.polyfit(times[inside], relative[inside], 1)[0]
    assert slope == pytest.approx(1.0, abs=0.05)


def test_ngram_surprisal_and_entropy_have_their_known_values():
    """Bigrams with add-1 smoothing over sentences "a b" and "a a": after <s>, "a" twice in
    2 (vocabulary </s>, a, b: P(a) = 3/5); after "a", each of b, a, </s> once in 3."""
    model = ngrams.NGramModel([["a", "b"], ["a", "a"]], order=2, k=1.0)
    surprisal, entropy = model.score(["a", "b", "a"])
    # after "b": </s> once in 1, so P(</s>, a, b) = 2/4, 1/4, 1/4
    np.testing.assert_allclose(model.distribution(["b"]), [2 / 4, 1 / 4, 1 / 4])
    np.testing.assert_allclose(surprisal, -np.log2([3 / 5, 1 / 3, 1 / 4]))
    after_start = np.array([3, 1, 1]) / 5
    np.testing.assert_allclose(entropy, [-(after_start * np.log2(after_start)).sum(),
                                         np.log2(3), 1.5])
    # a trigram sees two symbols back; a phone table's sentences and word boundaries
    trigram = ngrams.NGramModel([["x", "y", "z"], ["x", "y", "y"]], order=3, k=0.5)
    np.testing.assert_allclose(trigram.distribution(["x", "y"]),
                               (np.array([0, 0, 1, 1]) + 0.5) / 4)  # </s>, x, y, z
    with pytest.raises(ValueError, match="vocabulary"):
        model.score(["c"])


def test_phone_model_sees_word_boundaries():
    words = pd.DataFrame({"word": ["ab", "ab"], "onset": [0.0, 0.2], "offset": [0.2, 0.4],
                          "sentence": [0, 0]})
    phones = pd.DataFrame({"phone": ["a", "b", "a", "b"], "onset": np.arange(4) * 0.1,
                           "offset": np.arange(1, 5) * 0.1})
    language = planted.learn_language([words], [phones], ("a", "b"))
    # the one sentence is a b | a b: after (a, b) the boundary once, </s> once
    np.testing.assert_allclose(
        language.phones.distribution(["a", "b"]),
        (np.array([1, 0, 0, 1]) + planted.SMOOTHING) / (2 + 4 * planted.SMOOTHING))


def _features(n_frames, rng, params=listeners.ListenerParameters()):
    """Random planted features of one section, the levels made partly of the spectrum."""
    acoustic = rng.standard_normal((n_frames, planted.N_BASIS))
    acoustic = np.cumsum(acoustic, axis=0)  # slow, like log-mel bands
    feats = {"acoustic": acoustic, "envelope": acoustic[:, -1:]}
    for level in listeners.LEVELS[1:]:
        own = (rng.random((n_frames, 4)) < 0.2).astype(float)
        feats[level] = own + 0.5 * acoustic[:, :4]  # a level that a spectrum half explains
    return feats


def test_levels_above_acoustics_carry_nothing_of_the_acoustic_basis():
    rng = np.random.default_rng(0)
    features = [_features(n, rng) for n in (6000, 5000)]
    times = [np.arange(n) * 2.0 for n in (34, 29)]
    regs = listeners.level_regressors(features, times)
    basis = regs["acoustic_basis"]
    assert basis.shape == (63, planted.N_BASIS)
    for level in listeners.LEVELS[1:]:
        assert regs[level].shape == (63, listeners.ListenerParameters().n_components[
            listeners.LEVELS.index(level)])
        corr = np.corrcoef(regs[level].T, basis.T)[:len(regs[level].T), len(regs[level].T):]
        assert np.abs(corr).max() < 1e-4, level
        np.testing.assert_allclose(regs[level].std(axis=0), 1.0)
    # the acoustic level is drawn from the basis: the basis predicts it exactly
    design = np.hstack([basis, np.ones((len(basis), 1))])
    fit = design @ np.linalg.lstsq(design, regs["acoustic"], rcond=None)[0]
    np.testing.assert_allclose(fit, regs["acoustic"], atol=1e-4)
    np.testing.assert_array_equal(regs["envelope"][:, 0] * basis[:, -1].std(), basis[:, -1])
    with pytest.raises(ValueError, match="too few"):
        listeners.level_regressors([_features(3000, rng)], [np.arange(17) * 2.0])


@pytest.mark.parametrize("world", ["main", "no-language", "acoustic-only"])
def test_switched_off_levels_are_planted_nowhere(world):
    params = listeners.WORLDS[world]
    regs = _regressors(n_scans=60)
    _, truth = listeners.simulate_listeners(
        {name: value for name, value in regs.items() if name in (*params.levels, "envelope")},
        [30, 30], n_participants=1, seed=2, params=params)
    off = [listeners.LEVELS.index(lv) for lv in listeners.LEVELS if lv not in params.levels]
    assert (truth["level_share"][off] == 0).all() and (truth["region_level_share"][:, off]
                                                       == 0).all()
    np.testing.assert_allclose(truth["region_level_share"].sum(axis=1), 1.0)
    assert list(truth["planted_levels"]) == list(params.levels)
    # the planted signal at every region is a linear function of the planted levels only
    design = np.hstack([regs[name] for name in (*params.levels, "envelope")]
                       + [np.ones((60, 1))])
    signal = truth["example_signal"][0].astype(np.float64)
    fit = design @ np.linalg.lstsq(design, signal, rcond=None)[0]
    np.testing.assert_allclose(fit, signal, atol=1e-4)
    # ... and of none of the switched-off ones
    if off:
        others = np.hstack([regs[lv] for lv in listeners.LEVELS if lv not in params.levels])
        inside = np.hstack([design, others])
        extra = np.linalg.lstsq(inside, signal, rcond=None)[0][design.shape[1]:]
        np.testing.assert_allclose(extra, 0.0, atol=1e-4)
    # the envelope drives A1+A2 only
    a1 = truth["region"] == listeners.ROI_NAMES.index("A1+A2")
    outside = (truth["region"] >= 0) & ~a1
    assert (truth["envelope_share"][a1] == params.envelope_share).all()
    assert (truth["envelope_share"][outside] == 0).all()


def test_named_worlds_switch_the_claims_off():
    shares = {name: listeners.region_levels(params)
              for name, params in listeners.WORLDS.items()}
    assert all(set(levels) == {"acoustic"} for levels in shares["acoustic-only"].values())
    assert not any(set(levels) & set(listeners.LANGUAGE_LEVELS)
                   for levels in shares["no-language"].values())
    assert not listeners.WORLDS["no-language"].language_specific
    for region in ("STS", "IFG"):  # the main world plants language-specific levels there
        assert set(shares["main"][region]) <= set(listeners.LANGUAGE_LEVELS)
    with pytest.raises(ValueError, match="language_specific=False"):
        listeners.ListenerParameters(language_specific=False)
    with pytest.raises(ValueError, match="including 'acoustic'"):
        listeners.ListenerParameters(levels=("phonetic",))


@pytest.mark.slow
def test_oracle_ratio_on_a_small_simulated_world():
    """With as many scans as a demo section set (500) and its planted dimensions, the
    pipeline's encoding model given the planted regressors reaches the planted ceilings."""
    rng = np.random.default_rng(3)
    n_scans, kernel = 500, np.exp(-np.arange(8) / 2.0)
    regs = {}
    for level, k in zip((*listeners.LEVELS, "envelope"), (*listeners.ListenerParameters(
            ).n_components, 1)):
        raw = rng.standard_normal((n_scans + 7, k))
        smooth = np.stack([np.convolve(raw[:, j], kernel, "valid") for j in range(k)], axis=1)
        regs[level] = smooth / smooth.std(axis=0)
    bold, truth = listeners.simulate_listeners(regs, [250, 250], n_participants=1, seed=0)
    inside = np.flatnonzero(truth["region"] >= 0)
    noise = np.flatnonzero(truth["amplitude"][0] == 0)[::4]
    keep = np.concatenate([inside, noise])
    spec = get_profile("demo")
    X = np.hstack([regs[name] for name in (*listeners.LEVELS, "envelope")])
    scores = brain_score(X, np.vstack(bold[0])[:, keep], n_folds=spec.n_folds,
                         alphas=spec.alphas, alpha_selection=spec.alpha_selection,
                         inner_folds=spec.inner_folds, dtype=spec.precision)
    checked = oracle.summarize(scores[None], truth["ceiling"][:, keep], truth["region"][keep],
                               truth["amplitude"][:, keep], listeners.ROI_NAMES)
    assert 0.9 <= checked["oracle_ratio"] <= 1.1
    assert abs(checked["noise_mean_r"]) <= 0.01
