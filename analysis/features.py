"""Activations of every layer of a speech model, for long audio, in one pass per window.

Layers are numbered as in the paper: 0..6 are the convolutional outputs, 7.. the transformer
block outputs (19 layers for wav2vec 2.0 Base). Every layer is returned on the model's output
frame grid (stride 320 samples, 20 ms at 16 kHz); convolutional layers, which run at higher
rates, are averaged over the output frame their receptive-field centre falls in.

Long audio is cut in windows with context (``window`` seconds every ``stride`` seconds);
frames seen by several windows are averaged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Activations:
    """Every layer's activations on one frame grid.

    Attributes
    ----------
    times : array of shape (n_frames,), centre of each frame's receptive field (s)
    layers : list of arrays of shape (n_frames, n_units_layer), one per layer
    """

    times: np.ndarray
    layers: list[np.ndarray]


def _conv_geometry(model) -> list[tuple[int, int]]:
    """(cumulative stride, receptive field) in samples of each convolutional layer's frames."""
    out, stride, field = [], 1, 1
    for kernel, step in zip(model.config.conv_kernel, model.config.conv_stride):
        field += (kernel - 1) * stride
        stride *= step
        out.append((stride, field))
    return out


def _n_frames(n_samples: int, geometry: list[tuple[int, int]]) -> int:
    stride, field = geometry[-1]
    return max(0, (n_samples - field) // stride + 1)


def extract_activations(model, waveform: np.ndarray, *, window: float = 10.0,
                        stride: float = 5.0, progress: bool = True) -> Activations:
    """Activations of every layer of ``model`` on ``waveform``.

    Parameters
    ----------
    model : a wav2vec 2.0-like transformers model (see :mod:`analysis.models`).
    waveform : array of shape (n_samples,), 16 kHz mono.
    window, stride : window length and step in seconds; ``stride`` must be a multiple of the
        model's frame step (20 ms) and at most ``window``.

    Returns
    -------
    Activations with ``len(layers) == n_conv + n_transformer``.
    """
    import torch

    geometry = _conv_geometry(model)
    hop, field = geometry[-1]
    win, step = int(round(window * SAMPLE_RATE)), int(round(stride * SAMPLE_RATE))
    if step <= 0 or step % hop or win - step < field - hop:
        raise ValueError(
            f"stride={stride} s must be a positive multiple of {hop / SAMPLE_RATE} s, and "
            f"window={window} s must exceed it by at least {(field - hop) / SAMPLE_RATE} s so "
            "that every frame lies whole inside some window.")
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1 or len(waveform) < field:
        raise ValueError(f"waveform must be 1-D with at least {field} samples; got shape "
                         f"{waveform.shape}.")
    waveform = (waveform - waveform.mean()) / (waveform.std() + 1e-7)
    n_total = _n_frames(len(waveform), geometry)
    starts = list(range(0, max(1, len(waveform) - win + step), step))

    conv_outputs: list = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: conv_outputs.append(out))
             for layer in model.feature_extractor.conv_layers]
    sums: list[np.ndarray] | None = None
    counts = np.zeros(n_total, dtype=np.float32)
    try:
        for start in tqdm(starts, desc="windows", disable=not progress, leave=False):
            chunk = waveform[start:start + win]
            if len(chunk) < field:
                continue
            conv_outputs.clear()
            with torch.inference_mode():
                out = model(torch.from_numpy(chunk)[None], output_hidden_states=True)
            n_local = _n_frames(len(chunk), geometry)
            offset = start // hop
            layers = [_pool_conv(c[0].numpy(), s, f, hop, field, n_local)
                      for c, (s, f) in zip(conv_outputs, geometry)]
            layers += [h[0].numpy() for h in out.hidden_states[1:]]
            if sums is None:
                sums = [np.zeros((n_total, a.shape[1]), dtype=np.float64) for a in layers]
            for total, local in zip(sums, layers):
                total[offset:offset + n_local] += local[:n_local]
            counts[offset:offset + n_local] += 1
    finally:
        for hook in hooks:
            hook.remove()
    if not counts.all():  # the window check above guarantees coverage; keep it guaranteed
        raise RuntimeError(f"frames {np.flatnonzero(counts == 0)[:5]} fell in no window")
    times = (np.arange(n_total) * hop + field / 2) / SAMPLE_RATE
    layers = [(total / counts[:, None]).astype(np.float32) for total in sums]
    return Activations(times=times, layers=layers)


def _pool_conv(output: np.ndarray, stride: int, field: int, hop: int, out_field: int,
               n_out: int) -> np.ndarray:
    """Average a convolutional output of shape (channels, n_in) onto the output frame grid.

    Returns an array of shape (n_out, channels): frame k averages the inputs whose
    receptive-field centre lies within ``hop / 2`` samples of output frame k's centre (inputs
    beyond the first and last output frames are dropped, so a frame's value does not depend
    on where the window around it ends).
    """
    centres = np.arange(output.shape[1]) * stride + field / 2
    target = np.floor((centres - out_field / 2) / hop + 0.5).astype(int)  # ties go up
    keep = (target >= 0) & (target < n_out)
    target, kept = target[keep], output[:, keep]
    frames, first = np.unique(target, return_index=True)  # target is non-decreasing
    sums = np.add.reduceat(kept.T.astype(np.float64), first, axis=0)
    counts = np.diff(np.append(first, len(target)))
    pooled = np.zeros((n_out, output.shape[0]))
    pooled[frames] = sums / counts[:, None]
    return pooled
