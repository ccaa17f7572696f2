"""Spectra of a sound from a well-kept audio library (librosa): the log-mel bands and the log
sound envelope that the acoustic baselines (:mod:`analysis.baselines`), the probing baseline
(:mod:`analysis.probing`) and the demo world's acoustic basis (:mod:`analysis.demo.planted`)
all use, so that the three describe a sound the same way.

Frames: frame ``k`` is centred at sample ``offset + k * hop_length`` (librosa centres its
frames at ``k * hop_length``; the waveform is read from ``offset`` on), with a Hann window of
``win_length`` samples zero-padded to ``n_fft``.
"""
from __future__ import annotations

import librosa
import numpy as np

from analysis.framing import FIELD, HOP, SAMPLE_RATE

FRAME_RATE = 100.0  # Hz: the grid of the baselines' feature time series
N_MELS = 32  # log-mel bands of the acoustic baseline
MODEL_FRAME_MELS = 40  # log-mel bands of one 20 ms frame of the models' grid
N_FFT = 512  # samples of the spectra's window (32 ms at 16 kHz)
DESCRIPTORS = ("onset strength", "spectral flatness", "voice activity")


def power_spectrogram(waveform: np.ndarray, hop_length: int, n_fft: int = N_FFT,
                      win_length: int | None = None, offset: int | None = None,
                      n_frames: int | None = None) -> np.ndarray:
    """Power spectrum of each frame.

    Parameters
    ----------
    waveform : array of shape (n_samples,)
    hop_length : samples between frame centres
    n_fft : FFT size; win_length : Hann window (default ``n_fft``)
    offset : sample of the first frame's centre (default ``hop_length // 2``: frame ``k``
        centred at ``(k + 0.5) * hop_length``)
    n_frames : frames returned (default ``len(waveform) // hop_length``); fewer computed are
        padded by repeating the last one

    Returns
    -------
    array of shape (n_fft // 2 + 1, n_frames), float32
    """
    offset = hop_length // 2 if offset is None else offset
    n_frames = len(waveform) // hop_length if n_frames is None else n_frames
    centred = np.asarray(waveform, dtype=np.float32)[offset:]
    power = np.abs(librosa.stft(centred, n_fft=n_fft, hop_length=hop_length,
                                win_length=win_length)) ** 2
    power = power[:, :n_frames]
    return np.pad(power, ((0, 0), (0, n_frames - power.shape[1])), mode="edge")


def log_mel_and_envelope(power: np.ndarray, sample_rate: int, n_mels: int = N_MELS
                         ) -> np.ndarray:
    """Log-mel bands (librosa's Slaney mel filters) and log total power of power spectra.

    Parameters
    ----------
    power : array of shape (n_bins, n_frames), from :func:`power_spectrogram`

    Returns
    -------
    array of shape (n_frames, n_mels + 1), dB (``10 log10``, floor 1e-10): the bands, then
    the envelope
    """
    mel = librosa.feature.melspectrogram(S=power, sr=sample_rate, n_mels=n_mels)
    total = power.sum(axis=0, keepdims=True)
    return librosa.power_to_db(np.vstack([mel, total]), ref=1.0, amin=1e-10, top_db=None).T


def acoustic_features(waveform: np.ndarray, sample_rate: int, frame_rate: float = FRAME_RATE,
                      n_mels: int = N_MELS, n_fft: int = N_FFT) -> np.ndarray:
    """The model-free acoustic description of a sound: log-mel bands and log envelope.

    Returns
    -------
    array of shape (n_frames, n_mels + 1), ``n_frames = len(waveform) // hop`` with ``hop =
    sample_rate / frame_rate``: the log-mel bands (dB), then the log total power (dB), frame
    ``k`` centred at ``(k + 0.5) / frame_rate`` s
    """
    hop = int(sample_rate / frame_rate)
    return log_mel_and_envelope(power_spectrogram(waveform, hop, n_fft), sample_rate, n_mels)


def descriptors(power: np.ndarray, decibels: np.ndarray, sample_rate: int,
                voice_range: float = 35.0) -> np.ndarray:
    """Descriptors of each frame that are nonlinear in its spectrum (:data:`DESCRIPTORS`):
    spectral flux (librosa's onset strength over the log-mel bands, which follows the
    syllable rate), spectral flatness (noise-like vs periodic sound) and voice activity
    (1 where the total power is within ``voice_range`` dB of the loud frames' 98th
    percentile, else 0).

    Parameters
    ----------
    power : array of shape (n_bins, n_frames), from :func:`power_spectrogram`
    decibels : array of shape (n_frames, n_mels + 1), from :func:`log_mel_and_envelope`

    Returns
    -------
    array of shape (n_frames, 3)
    """
    bands, total = decibels[:, :-1].T, decibels[:, -1]
    flux = librosa.onset.onset_strength(S=bands, sr=sample_rate)[:bands.shape[1]]
    flatness = librosa.feature.spectral_flatness(S=np.sqrt(power))[0]
    voiced = (total > np.percentile(total, 98) - voice_range).astype(float)
    return np.column_stack([flux, flatness, voiced])


def model_frame_log_mel(waveform: np.ndarray, n_frames: int | None = None,
                        n_mels: int = MODEL_FRAME_MELS) -> np.ndarray:
    """Log-mel spectrum (dB) of each frame of the models' 20 ms grid: a 400-sample Hann window
    centred at ``k * 320 + 200`` (16 kHz audio).

    Returns
    -------
    array of shape (n_frames, n_mels), float32 (default ``n_frames``: every whole window)
    """
    available = max(0, (len(waveform) - FIELD) // HOP + 1)
    if n_frames is None:
        n_frames = available
    elif available < n_frames:
        raise ValueError(f"waveform has {available} frames, fewer than n_frames={n_frames}.")
    power = power_spectrogram(waveform, HOP, n_fft=512, win_length=FIELD, offset=FIELD // 2,
                              n_frames=n_frames)
    return log_mel_and_envelope(power, SAMPLE_RATE, n_mels)[:, :n_mels].astype(np.float32)
