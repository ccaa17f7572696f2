from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis import framing


def test_frames_follow_the_wav2vec2_grid():
    assert framing.SAMPLE_RATE == 16_000 and (framing.HOP, framing.FIELD) == (320, 400)
    assert [framing.n_frames(n) for n in (0, 399, 400, 719, 720, 16000)] == [0, 0, 1, 1, 2, 49]


def test_each_frame_gets_the_phone_under_its_centre():
    phones = pd.DataFrame({"phone": ["'a", "t", "x"], "onset": [0.0, 0.1, 0.2],
                           "offset": [0.1, 0.15, 0.3]})
    inventory = {"a": 0, "t": 1, framing.SILENCE: 2}
    labels = framing.frame_labels(phones, 17, inventory)
    # frame k is centred at 12.5 ms + 20 ms * k
    assert labels.dtype == np.int64 and labels.shape == (17,)
    assert labels[:5].tolist() == [0] * 5  # 'a (stress ignored) until 100 ms
    assert labels[5:7].tolist() == [1, 1]  # t until 150 ms
    assert labels[7:10].tolist() == [2, 2, 2]  # a gap between phones is silence
    assert labels[10:15].tolist() == [-100] * 5  # a phone outside the inventory is ignored
    assert labels[15:].tolist() == [2, 2]  # after the last phone
    no_silence = framing.frame_labels(phones, 17, {"a": 0, "t": 1})
    assert no_silence[8] == -100 and no_silence[0] == 0


def test_phone_inventory_and_labels():
    assert [framing.phone_label(p) for p in ("'a", ",e", "%o", "=n", "a'", 3)] == [
        "a", "e", "o", "n", "a'", "3"]

    def stimulus(phones, path="s.wav"):
        table = None if phones is None else pd.DataFrame({"phone": phones})
        return SimpleNamespace(phones=table, audio_path=path)

    inventory = framing.phone_inventory([stimulus(["t", "'a", "sil"]), stimulus(["b", "a"])])
    assert inventory == ["a", "b", "t", "sil"]
    with pytest.raises(ValueError, match="missing.wav: no phone table"):
        framing.phone_inventory([stimulus(["a"]), stimulus(None, "missing.wav")])
