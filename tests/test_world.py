import numpy as np

from analysis.demo import listeners
from analysis.demo.world import build_world


def test_world_has_timed_stimuli_and_bold_of_the_right_size(tiny_world):
    stimuli = tiny_world.stimuli["en"]
    assert [s.section for s in stimuli] == [1, 2, 3]
    for stim in stimuli:
        duration = len(stim.waveform()) / 16000
        assert stim.words.onset.is_monotonic_increasing
        assert stim.words.offset.max() <= duration + 1e-6
        assert stim.n_scans == int(np.ceil(duration / stim.tr)) + 4
        assert set(stim.words.columns) >= {"word", "onset", "offset"}
    assert [p.id for p in tiny_world.participants] == ["sub-EN01", "sub-EN02"]
    bold = tiny_world.participants[0].bold()
    assert bold.shape == (sum(s.n_scans for s in stimuli), 20484)
    assert np.isfinite(bold).all()


def test_world_is_reused_and_rebuilt_when_damaged(tmp_path):
    first = build_world(n_participants=1, sentences_per_section=2, root=tmp_path)
    path = first.participants[0].bold_paths[0]
    mtime = path.stat().st_mtime_ns
    again = build_world(n_participants=1, sentences_per_section=2, root=tmp_path)
    assert again.participants[0].bold_paths[0].stat().st_mtime_ns == mtime
    reference = np.load(path)
    path.write_bytes(b"damaged")
    rebuilt = build_world(n_participants=1, sentences_per_section=2, root=tmp_path)
    np.testing.assert_array_equal(np.load(rebuilt.participants[0].bold_paths[0]), reference)


def test_simulation_is_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    regs = {level: rng.standard_normal((40, k)) for level, k in
            (("acoustic", 8), ("phonetic", 5), ("lexical", 3), ("envelope", 1))}
    a, truth_a = listeners.simulate_listeners(regs, [20, 20], n_participants=2, seed=7)
    b, _ = listeners.simulate_listeners(regs, [20, 20], n_participants=2, seed=7)
    c, _ = listeners.simulate_listeners(regs, [20, 20], n_participants=2, seed=8)
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[1][1], c[1][1])
    ceiling = truth_a["ceiling"]
    assert ceiling.shape == (2, 20484) and 0 <= ceiling.min() and ceiling.max() < 1
    assert (truth_a["region"] >= 0).sum() > 500
