import numpy as np
import pytest

from analysis.demo import sounds


def test_clips_are_deterministic_bounded_and_differ_by_index():
    a = sounds.clip(seed=3, index=7, duration=1.5)
    b = sounds.clip(seed=3, index=7, duration=1.5)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (24000,)
    assert not np.array_equal(a, sounds.clip(seed=3, index=8, duration=1.5))
    assert not np.array_equal(a, sounds.clip(seed=4, index=7, duration=1.5))


def test_corpus_is_within_unit_range_and_not_silent():
    clips = sounds.corpus(40, seed=0, clip_seconds=2.0)
    assert len(clips) == 20
    for clip in clips:
        assert np.isfinite(clip).all()
        assert np.abs(clip).max() <= 1.0
        assert clip.std() > 1e-3


@pytest.mark.parametrize("make", [*sounds.BACKGROUNDS.values(), *sounds.EVENTS.values()])
def test_every_generator_gives_finite_sound_of_the_asked_length(make):
    out = make(np.random.default_rng(0), 8000)
    assert out.shape == (8000,) and np.isfinite(out).all() and np.abs(out).max() > 0


def test_bad_durations_are_refused():
    with pytest.raises(ValueError, match="duration"):
        sounds.clip(0, 0, duration=0)
    with pytest.raises(ValueError, match="total_seconds"):
        sounds.corpus(1.0, clip_seconds=4.0)
