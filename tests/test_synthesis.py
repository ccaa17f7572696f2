import numpy as np
import pytest

from analysis.demo import story
from analysis.framing import SAMPLE_RATE
from analysis.synthesis import align_words, synthesize


def test_words_in_order_and_within_the_audio():
    utt = synthesize("The fox counted every step out loud. Then he slept.")
    duration = len(utt.waveform) / utt.sample_rate
    assert utt.sample_rate == SAMPLE_RATE == 16_000
    assert list(utt.words.word) == ["The", "fox", "counted", "every", "step", "out", "loud",
                                    "Then", "he", "slept"]
    onsets = utt.words.onset.to_numpy()
    assert np.all(np.diff(onsets) > 0)
    assert onsets[0] >= 0 and utt.words.offset.iloc[-1] <= duration + 1e-6
    assert (utt.words.offset > utt.words.onset).all()
    assert len(utt.phones) > len(utt.words)
    assert np.all(np.diff(utt.phones.onset) >= 0)


@pytest.mark.parametrize("language", story.LANGUAGES)
def test_story_words_timed_in_order_within_the_audio(language):
    """Each language's first sentences: one row per word of the story, in order, in the audio."""
    for sentence in story.sections(language)[1][:2]:
        words = story.words_of(sentence, language)
        utt = synthesize(story.display(sentence, language), voice=story.VOICES[language],
                         rate=story.RATES[language], words=words)
        duration = len(utt.waveform) / utt.sample_rate
        assert list(utt.words.word) == words
        assert np.all(np.diff(utt.words.onset) > 0)
        assert utt.words.onset.iloc[0] >= 0 and utt.words.offset.iloc[-1] <= duration + 1e-6
        assert len(utt.phones) > len(words) and np.all(np.diff(utt.phones.onset) >= 0)


def test_mandarin_syllables_split_espeak_words():
    # one espeak word over three characters; phones n 'i | X 'Au | m 'A
    text = "你好吗"
    word_events = [(0, 1, 3)]
    phones = [(0, 1, "n"), (50, 1, "'i"), (100, 1, "X"), (150, 1, "'Au"), (200, 1, "m"),
              (250, 1, "'A"), (300, 1, "_|")]
    np.testing.assert_allclose(align_words(text, ["你好", "吗"], word_events, phones),
                               [0.0, 0.2])
    np.testing.assert_allclose(align_words(text, ["你", "好", "吗"], word_events, phones),
                               [0.0, 0.1, 0.2])
    # a coda N stays with its syllable: 另一 = l 'i N | j i
    phones = [(0, 1, "l"), (40, 1, "'i"), (90, 1, "N"), (120, 1, "j"), (150, 1, "i")]
    np.testing.assert_allclose(align_words("另一", ["另", "一"], [(0, 1, 2)], phones),
                               [0.0, 0.12])


def test_words_espeak_joins_are_placed_on_phones():
    # espeak joined "the far" into one event; "the" is placed at the next phone onset
    text = "On the far side"
    events = [(0, 1, 2), (300, 8, 3), (500, 12, 4)]
    phones = [(0, 1, "0"), (80, 1, "n"), (150, 1, "D"), (200, 1, "@"), (300, 8, "f"),
              (500, 12, "s")]
    onsets = align_words(text, ["On", "the", "far", "side"], events, phones)
    np.testing.assert_allclose(onsets, [0.0, 0.15, 0.3, 0.5])


def test_non_ascii_words_keep_their_letters():
    utt = synthesize("Les étoiles brillaient.", voice="fr")
    assert list(utt.words.word) == ["Les", "étoiles", "brillaient"]


@pytest.mark.parametrize("text,voice,match", [("   ", "en", "empty"),
                                               ("hello", "no-such-voice", "no voice")])
def test_bad_input_gives_clear_error(text, voice, match):
    with pytest.raises(ValueError, match=match):
        synthesize(text, voice=voice)


def test_words_not_in_the_text_are_refused():
    with pytest.raises(ValueError, match="not in the text"):
        synthesize("Les étoiles brillaient.", voice="fr", words=["Les", "lune"])


def test_pitch_and_range_change_the_voice_and_are_reset_each_time():
    text = "The fox counted every step."
    plain = synthesize(text)
    high = synthesize(text, pitch=90, pitch_range=10)
    assert list(high.phones.phone) == list(plain.phones.phone)
    assert not np.array_equal(high.waveform[:len(plain.waveform)],
                              plain.waveform[:len(high.waveform)])
    f0 = [_f0(u.waveform) for u in (plain, high)]
    assert f0[1] > 1.2 * f0[0]
    assert _f0(synthesize(text).waveform) == pytest.approx(f0[0], rel=0.05)  # not kept
    with pytest.raises(ValueError, match="pitch=120"):
        synthesize(text, pitch=120)


def _f0(waveform, sr=16_000):
    """Median pitch (Hz) of the voiced 40 ms frames, from the autocorrelation peak."""
    frames = np.lib.stride_tricks.sliding_window_view(waveform, 640)[::320]
    frames = frames[frames.std(1) > 0.3 * frames.std(1).max()]
    lags = np.arange(sr // 400, sr // 60)
    ac = np.array([[np.dot(f[:-lag], f[lag:]) for lag in lags] for f in frames])
    return float(np.median(sr / lags[ac.argmax(1)]))
