import numpy as np
import pandas as pd
import pytest

from analysis import abx


def naive_dtw(x, y):
    """Reference DTW by explicit recursion over the cells (mean cost along the path)."""
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    d = 1 - unit(x) @ unit(y).T
    n, m = d.shape
    cost = np.full((n + 1, m + 1), np.inf)
    steps = np.zeros((n + 1, m + 1))
    cost[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = [(cost[i - 1, j - 1], steps[i - 1, j - 1]), (cost[i - 1, j], steps[i - 1, j]),
                       (cost[i, j - 1], steps[i, j - 1])]
            c, s = min(options, key=lambda o: o[0])
            cost[i, j], steps[i, j] = d[i - 1, j - 1] + c, s + 1
    return cost[n, m] / steps[n, m]


def test_dtw_matches_the_cell_by_cell_recursion_on_ragged_batches():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((n, 6)) for n in (3, 7, 5, 1)]
    ys = [rng.standard_normal((m, 6)) for m in (4, 2, 9, 3)]
    got = abx.dtw_cosine(xs, ys, batch=3)
    np.testing.assert_allclose(got, [naive_dtw(x, y) for x, y in zip(xs, ys)])


def test_dtw_is_zero_for_a_time_stretched_copy_and_scale_free():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4))
    stretched = np.repeat(x, 2, axis=0) * 3.0
    assert abx.dtw_cosine([x], [stretched])[0] == pytest.approx(0, abs=1e-12)
    assert abx.dtw_cosine([x[:1]], [-x[:1]])[0] == pytest.approx(2.0)  # opposite frames


def test_triplets_pair_every_contrast_both_ways_across_voices():
    items = abx.item_table(["fr"], variants=("", "+f1", "+m3"))
    table = abx.triplets(items)
    a, b, x = (items.loc[table[c]].reset_index(drop=True) for c in ("A", "B", "X"))
    assert (a.phone == x.phone).all() and (a.phone != b.phone).all()
    assert (a.voice == b.voice).all() and (a.voice != x.voice).all()
    assert ((a.prev == b.prev) & (a.next == x.next)).all()
    n_pairs = sum(len(p) * len(abx.CONTEXTS["fr"][k]) for k, p in abx.CONTRASTS["fr"].items())
    assert len(table) == n_pairs * 2 * 3 * 2
    assert table.contrast.nunique() == n_pairs


def test_accuracy_of_a_perfect_and_a_blind_representation():
    outcomes = pd.DataFrame({"language": "en", "kind": "vowel", "contrast": ["c1"] * 4 + ["c2"] * 2,
                             "d_ax": [0.1, 0.2, 0.1, 0.5, 0.3, 0.3],
                             "d_bx": [0.5, 0.6, 0.4, 0.4, 0.3, 0.3]})
    outcomes["correct"] = np.where(outcomes.d_ax < outcomes.d_bx, 1.0,
                                   np.where(outcomes.d_ax > outcomes.d_bx, 0.0, 0.5))
    acc = abx.contrast_accuracy(outcomes).set_index("contrast")
    assert acc.accuracy["c1"] == 0.75 and acc.accuracy["c2"] == 0.5
    assert acc.n_triplets["c1"] == 4


@pytest.mark.slow
def test_stimuli_are_what_they_claim_and_a_model_discriminates_them(tiny_model_dir):
    stimuli = abx.synthesize_stimuli(["en"], variants=("", "+f1", "+m3"))
    assert len(stimuli.waveforms) == len(stimuli.items)
    assert all(len(w) > 1600 for w in stimuli.waveforms)  # > 0.1 s each
    again = abx.synthesize_stimuli(["en"], variants=("", "+f1", "+m3"))  # from the cache
    np.testing.assert_array_equal(again.waveforms[5], stimuli.waveforms[5])
    table = abx.condition_abx({"en": {"tiny": str(tiny_model_dir)}}, stimuli, layer=0)
    assert set(table.language) == {"en"} and table.accuracy.between(0, 1).all()
    # the first convolution's output keeps the spectrum: phones are told apart above chance
    assert table.accuracy.mean() > 0.55
    with pytest.raises(ValueError, match="layer=30"):
        abx.condition_abx({"en": {"tiny": str(tiny_model_dir)}}, stimuli, layer=30)
    with pytest.raises(ValueError, match="no models for the stimuli in"):
        abx.condition_abx({"fr": {"tiny": str(tiny_model_dir)}}, stimuli, layer=0)


def test_paper_layer_is_transformer_block_5_or_its_relative_depth(tiny_model_dir):
    assert abx.resolve_layer("random") == abx.PAPER_LAYER == 11
    assert abx.resolve_layer(str(tiny_model_dir)) == 7  # 7 conv + 2 blocks: the first block
    assert abx.resolve_layer("random", 3) == 3
    with pytest.raises(ValueError, match="layer='x'"):
        abx.resolve_layer("random", "x")


@pytest.mark.slow
@pytest.mark.parametrize("variants, same", [(abx.VOICE_VARIANTS, True), (("+f2",), False)])
def test_voice_variants_speak_the_same_audio_in_every_process(variants, same):
    """The stimuli are synthesised in a fresh process: every variant the ABX uses must give
    the same audio there each time (f2's breath noise does not, which the test must see)."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    items = abx.item_table(["en"], variants)
    items = items[(items.phone == "i:") & (items.prev == "b")]  # one triphone in each voice
    runs = []
    for _ in range(2):
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            runs.append(pool.submit(abx._speak_items, items, 130).result()[0])
        time.sleep(1.1)  # a seed taken from the clock would change
    equal = [np.array_equal(a, b) for a, b in zip(*runs)]
    assert equal == [same] * len(items), dict(zip(items.voice, equal))
