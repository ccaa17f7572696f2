import numpy as np
import pytest

from analysis.demo import story, voices


def test_deliveries_are_drawn_from_the_pools_and_repeat_for_a_seed():
    draw = voices.draw_deliveries(400, "en", 135, np.random.default_rng([3, 0, 0]))
    again = voices.draw_deliveries(400, "en", 135, np.random.default_rng([3, 0, 0]))
    other = voices.draw_deliveries(400, "en", 135, np.random.default_rng([4, 0, 0]))
    assert list(draw.columns) == list(voices.DELIVERY_COLUMNS) and len(draw) == 400
    assert draw.equals(again) and not draw.equals(other)
    accents = {v.split("+")[0] for v in draw.voice}
    variants = {"+" + v.split("+")[1] if "+" in v else "" for v in draw.voice}
    assert accents == set(voices.ACCENTS["en"]) and variants == set(voices.VARIANTS)
    assert draw.pitch.between(*voices.PITCH).all() and draw.pitch.nunique() > 30
    assert draw.pitch_range.between(*voices.PITCH_RANGE).all()
    low, high = 135 * np.array(voices.RATE_FACTOR)
    assert draw.rate.between(np.floor(low), np.ceil(high)).all() and draw.rate.nunique() > 20


def test_without_a_generator_one_voice_speaks_at_its_own_pitch():
    draw = voices.draw_deliveries(3, "cn", 170, None)
    assert draw.to_dict("list") == {"voice": ["cmn"] * 3, "pitch": [50] * 3,
                                    "pitch_range": [50] * 3, "rate": [170] * 3}
    assert draw.voice[0] == story.VOICES["cn"]
    with pytest.raises(ValueError, match="voices are defined"):
        voices.draw_deliveries(3, "de", 170, None)


def test_noise_is_pink_at_the_asked_level_and_seeded():
    rng = np.random.default_rng(0)
    noise = voices.pink_noise(2 ** 16, rng)
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(len(noise))
    bands = [power[(freqs > f) & (freqs < 2 * f)].sum() for f in (0.01, 0.02, 0.04, 0.08)]
    np.testing.assert_allclose(bands, bands[0], rtol=0.15)  # equal power per octave
    speech = 0.1 * np.sin(np.arange(16000) / 5.0)
    noisy = voices.add_noise(speech, float(np.mean(speech ** 2)),
                             np.random.default_rng(1), snr_db=30.0)
    snr = 10 * np.log10(np.mean(speech ** 2) / np.mean((noisy - speech) ** 2))
    assert noisy.dtype == np.float32 and abs(snr - 30.0) < 0.2
    again = voices.add_noise(speech, float(np.mean(speech ** 2)), np.random.default_rng(1))
    np.testing.assert_array_equal(noisy, again)
    np.testing.assert_array_equal(voices.add_noise(speech, 1.0, None),
                                  speech.astype(np.float32))
