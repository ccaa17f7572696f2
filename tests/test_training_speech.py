import numpy as np
import pytest

from analysis.demo import story, training_speech


@pytest.mark.parametrize("language", ["en", "cn"])
def test_training_speech_is_spoken_text_the_listeners_never_hear(language, tmp_path):
    sections = training_speech.load(language, n_sentences=4, root=tmp_path)
    spoken = [t for s in sections for t in s.sentences.text]
    heard = {story.display(s, language) for sec in story.sections(language) for s in sec}
    assert len(spoken) == 4 and not heard & set(spoken)
    for section in sections:
        duration = len(section.waveform()) / 16000
        assert section.sentences.offset.max() <= duration + 1e-6
        assert section.phones.onset.is_monotonic_increasing and len(section.phones) > 20
        assert section.phones.offset.max() <= duration + 1e-6
    assert set(sections[0].sentences.columns) >= {"voice", "pitch", "pitch_range", "rate"}


def test_training_speech_is_cached_verified_and_respoken_the_same(tmp_path):
    first = training_speech.load("fr", n_sentences=3, root=tmp_path)
    path = first[0].audio_path
    mtime, audio = path.stat().st_mtime_ns, first[0].waveform()
    assert training_speech.load("fr", n_sentences=3, root=tmp_path)[0].audio_path.stat(
    ).st_mtime_ns == mtime
    path.write_bytes(b"damaged")
    again = training_speech.load("fr", n_sentences=3, root=tmp_path)
    np.testing.assert_array_equal(again[0].waveform(), audio)
    other = training_speech.load("fr", n_sentences=3, seed=1, root=tmp_path)
    assert other[0].audio_path.parent != path.parent
    assert list(other[0].sentences.text) != list(first[0].sentences.text)
