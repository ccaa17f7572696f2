"""Speech framing shared by every stage: the sample rate, wav2vec 2.0's frame grid, and the
phone heard at each 20 ms model frame (for supervised training and for probing).

Frames follow wav2vec 2.0's grid (320-sample step, 400-sample receptive field at 16 kHz):
frame k is centred at ``(k * 320 + 200) / 16000`` s. A phone's identity is its espeak-ng
mnemonic without stress marks; frames outside every phone of the table are silence.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE_RATE = 16_000
HOP, FIELD = 320, 400  # frame step and receptive field (samples)
SILENCE = "sil"  # label of frames outside every phone


def n_frames(n_samples: int) -> int:
    """Model frames of a waveform of ``n_samples`` samples."""
    return max(0, (n_samples - FIELD) // HOP + 1)


def frame_labels(phones: pd.DataFrame, n_frames: int, inventory: dict[str, int]) -> np.ndarray:
    """The phone under the centre of each frame.

    Parameters
    ----------
    phones : table with columns ``phone, onset, offset`` (s)
    n_frames : frames to label; frame k is centred at ``(k * 320 + 200) / 16000`` s
    inventory : phone (:func:`phone_label`) -> class index; frames outside every phone get
        ``inventory["sil"]``, phones missing from it -100 (ignored)

    Returns
    -------
    int array of shape (n_frames,)
    """
    times = (np.arange(n_frames) * HOP + FIELD / 2) / SAMPLE_RATE
    labels = np.full(n_frames, inventory.get(SILENCE, -100), dtype=np.int64)
    onsets, offsets = phones["onset"].to_numpy(), phones["offset"].to_numpy()
    index = np.searchsorted(onsets, times, side="right") - 1
    inside = (index >= 0) & (times < offsets[np.clip(index, 0, None)])
    codes = np.array([inventory.get(phone_label(p), -100) for p in phones["phone"]],
                     dtype=np.int64)
    labels[inside] = codes[index[inside]]
    return labels


def phone_inventory(stimuli) -> list[str]:
    """Sorted phones (:func:`phone_label`) of ``stimuli``'s phone tables, then ``"sil"``."""
    labels = set()
    for stimulus in stimuli:
        if stimulus.phones is None:
            raise ValueError(f"{stimulus.audio_path}: no phone table; frame labels need "
                             "phone timings.")
        labels |= set(map(phone_label, stimulus.phones["phone"]))
    return sorted(labels - {SILENCE}) + [SILENCE]


def phone_label(label) -> str:
    """A phone's identity: its espeak mnemonic without stress marks."""
    return str(label).lstrip("',%=")
