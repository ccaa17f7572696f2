import numpy as np
import pytest

from analysis.demo.speech import synthesize


def test_words_in_order_and_within_the_audio():
    utt = synthesize("The fox counted every step out loud. Then he slept.")
    duration = len(utt.waveform) / utt.sample_rate
    assert utt.sample_rate == 16_000
    assert list(utt.words.word) == ["The", "fox", "counted", "every", "step", "out", "loud",
                                    "Then", "he", "slept"]
    onsets = utt.words.onset.to_numpy()
    assert np.all(np.diff(onsets) > 0)
    assert onsets[0] >= 0 and utt.words.offset.iloc[-1] <= duration + 1e-6
    assert (utt.words.offset > utt.words.onset).all()
    assert len(utt.phones) > len(utt.words)
    assert np.all(np.diff(utt.phones.onset) >= 0)


def test_non_ascii_words_keep_their_letters():
    utt = synthesize("Les étoiles brillaient.", voice="fr")
    assert list(utt.words.word) == ["Les", "étoiles", "brillaient"]


@pytest.mark.parametrize("text,voice,match", [("   ", "en", "empty"),
                                               ("hello", "no-such-voice", "no voice")])
def test_bad_input_gives_clear_error(text, voice, match):
    with pytest.raises(ValueError, match=match):
        synthesize(text, voice=voice)
