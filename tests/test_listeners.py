import numpy as np
import pandas as pd
import pytest

from analysis.config import get_profile
from analysis.demo import listeners, oracle
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
    inventory = listeners.phone_categories([common])
    assert {"a", "t", "n", "S;"} <= set(inventory) and "ts.h" not in inventory
    assert inventory[-len(listeners.PHONE_CLASSES):] == tuple(
        f"<{c}>" for c in listeners.PHONE_CLASSES)
    words = pd.DataFrame({"word": ["the", "fox", "ran"], "onset": [0.0, 0.3, 0.6],
                          "offset": [0.3, 0.6, 0.9], "sentence": [0, 0, 1]})
    phones = pd.DataFrame({"phone": ["D", "@", "f", "0", "ts.h", "r", "a", "n"],
                           "onset": np.arange(8) * 0.1, "offset": np.arange(1, 9) * 0.1})
    feats = listeners.planted_features(np.random.default_rng(0).standard_normal(16000), 16000,
                                       words, phones, inventory)
    assert feats["phonetic"].shape == (100, len(inventory))
    rare = inventory.index(f"<{listeners.phone_class('ts.h')}>")
    assert feats["phonetic"][45, rare] == 1 and feats["phonetic"][45].sum() == 1
    # context: the mean of the sentence's words so far, reset at a new sentence
    fox = listeners.word_embedding("fox")
    np.testing.assert_allclose(feats["contextual"][45],
                               (listeners.word_embedding("the") + fox) / 2)
    np.testing.assert_allclose(feats["contextual"][75], listeners.word_embedding("ran"))
    np.testing.assert_allclose(feats["lexical"][45, 2:], fox)
    assert feats["acoustic"].shape == (100, 8) and feats["envelope"].shape == (100, 1)


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
