"""Activations of every layer of a speech model, for long audio, in one pass per window.

Layers are numbered as in the paper: 0..6 are the convolutional outputs, 7.. the transformer
block outputs (19 layers for wav2vec 2.0 Base). Every layer is returned on the model's output
frame grid (stride 320 samples, 20 ms at 16 kHz); convolutional layers, which run at higher
rates, are averaged over the output frame their receptive-field centre falls in.

Long audio is cut in windows with context (``window`` seconds every ``stride`` seconds);
frames seen by several windows are averaged. Full-length windows are run ``batch_size`` at a
time (they have equal lengths, so no padding, which would change the group normalisation of
Base's first convolution); a shorter last window runs alone.

Input normalisation: as transformers' ``Wav2Vec2FeatureExtractor`` with ``do_normalize=True``
would do for the whole waveform given as one input (zero mean, unit variance over the whole
section, before windowing), so that every window sees the same scaling; see
:func:`analysis.models.normalizes_input` for which models ask for it.

Devices: ``device="auto"`` uses CUDA when available. Results on CUDA differ from the CPU's by
rounding (cuDNN may run convolutions in TF32), at the 1e-3 relative level; cache keys do not
tell devices apart. Half-precision autocast is for CUDA only and is checked against float32
in the tests (relative RMS error per layer below 5 % for bfloat16, 1 % for float16).

Memory: activations are accumulated in float32 on the device, in place, one array per layer:
``4 * n_frames * sum(n_units)`` bytes (Base: 12,800 units, so 1.84 GB for a 12-minute
section of 36,000 frames), plus the model and one batch of windows in flight; on CUDA they
are copied to the host once, at the end (on the CPU the result shares their memory).
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from analysis.framing import SAMPLE_RATE

log = logging.getLogger(__name__)

DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Activations:
    """Every layer's activations on one frame grid.

    Attributes
    ----------
    times : array of shape (n_frames,), centre of each frame's receptive field (s)
    layers : list of arrays of shape (n_frames, n_units_layer), float32, one per layer
    """

    times: np.ndarray
    layers: list[np.ndarray]


def resolve_device(device: str = "auto"):
    """``torch.device`` for ``device``: ``"auto"`` is CUDA when available, else the CPU."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        target = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a device name; use 'auto', 'cpu' or "
                         "'cuda'.") from exc
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here; use 'auto' or "
                         "'cpu'.")
    return target


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


def _autocast(device, dtype: str):
    """Autocast context for ``dtype`` on ``device`` (float32: none); refuses CPU half types."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: choose one of {', '.join(DTYPES)}.")
    if dtype == "float32":
        return contextlib.nullcontext()
    if device.type != "cuda":
        raise ValueError(f"dtype={dtype!r} is for CUDA only (on CPUs without bfloat16 units it "
                         "is slower than float32, and less exact); use dtype='float32' on "
                         f"device {device}.")
    return torch.autocast("cuda", dtype=getattr(torch, dtype))


def extract_activations(model, waveform: np.ndarray, *, window: float = 10.0,
                        stride: float = 5.0, batch_size: int | None = None,
                        device: str = "auto", dtype: str = "float32", normalize: bool = True,
                        progress: bool = True) -> Activations:
    """Activations of every layer of ``model`` on ``waveform``.

    Parameters
    ----------
    model : a wav2vec 2.0-like transformers model (see :mod:`analysis.models`); moved to
        ``device`` if it is elsewhere.
    waveform : array of shape (n_samples,), 16 kHz mono.
    window, stride : window length and step in seconds; ``stride`` must be a multiple of the
        model's frame step (20 ms) and at most ``window`` minus one receptive field.
    batch_size : full-length windows per forward pass (default: 1 on CPU, 16 on CUDA). Each
        window in flight costs about 0.3 GB for Base at 10 s (float32).
    device : ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``...
    dtype : ``"float32"``, or ``"bfloat16"`` / ``"float16"`` autocast (CUDA only; results are
        returned in float32 either way).
    normalize : scale the waveform to zero mean and unit variance first (the model's
        ``do_normalize``; see :func:`analysis.models.normalizes_input`).

    Returns
    -------
    Activations with ``len(layers) == n_conv + n_transformer``.
    """
    import torch

    target = resolve_device(device)
    autocast = _autocast(target, dtype)
    batch_size = (16 if target.type == "cuda" else 1) if batch_size is None else batch_size
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
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
    if normalize:  # Wav2Vec2FeatureExtractor's zero_mean_unit_var_norm, on the whole input
        mean, var = waveform.mean(dtype=np.float64), waveform.var(dtype=np.float64)
        waveform = ((waveform - mean) / np.sqrt(var + 1e-7)).astype(np.float32)
    if next(model.parameters()).device != target:
        log.info("moving the model to %s", target)
        model.to(target)
    n_total = _n_frames(len(waveform), geometry)
    starts = [s for s in range(0, max(1, len(waveform) - win + step), step)
              if len(waveform) - s >= field]
    full = [s for s in starts if s + win <= len(waveform)]
    batches = [full[i:i + batch_size] for i in range(0, len(full), batch_size)]
    batches += [[s] for s in starts if s + win > len(waveform)]

    conv_outputs: list = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: conv_outputs.append(out))
             for layer in model.feature_extractor.conv_layers]
    pooling: dict = {}
    sums: list | None = None  # float32 tensors of shape (n_total, n_units) on the device
    counts = np.zeros(n_total, dtype=np.float32)
    try:
        for batch in tqdm(batches, desc="windows", disable=not progress, leave=False):
            chunks = np.stack([waveform[s:s + win] for s in batch])
            conv_outputs.clear()
            with torch.inference_mode(), autocast:
                out = model(torch.from_numpy(chunks).to(target), output_hidden_states=True)
                n_local = _n_frames(chunks.shape[1], geometry)
                layers = [_pool_conv(c, s, f, hop, field, n_local, pooling)
                          for c, (s, f) in zip(conv_outputs, geometry)]
                layers += [h[:, :n_local].float() for h in out.hidden_states[1:]]
                if sums is None:
                    sums = [torch.zeros(n_total, a.shape[2], device=target) for a in layers]
                for i, start in enumerate(batch):
                    offset = start // hop
                    for total, local in zip(sums, layers):
                        total[offset:offset + n_local] += local[i]
                    counts[offset:offset + n_local] += 1
            del out, layers
            conv_outputs.clear()
    finally:
        for hook in hooks:
            hook.remove()
    if not counts.all():  # the window check above guarantees coverage; keep it guaranteed
        raise RuntimeError(f"frames {np.flatnonzero(counts == 0)[:5]} fell in no window")
    times = (np.arange(n_total) * hop + field / 2) / SAMPLE_RATE
    layers = []
    with torch.inference_mode():  # the sums are inference tensors
        scale = torch.from_numpy(counts[:, None]).to(target)
        while sums:  # one layer at a time to the host, freeing the device copy as it goes
            layers.append(sums.pop(0).div_(scale).cpu().numpy())
    return Activations(times=times, layers=layers)


def _pool_conv(output, stride: int, field: int, hop: int, out_field: int, n_out: int,
               cache: dict):
    """Average a convolutional output onto the output frame grid, on its device.

    Parameters
    ----------
    output : tensor of shape (batch, channels, n_in)
    cache : per-call memo of the frame assignment for each (stride, field, n_in, n_out)

    Returns
    -------
    float32 tensor of shape (batch, n_out, channels): frame k averages the inputs whose
    receptive-field centre lies within ``hop / 2`` samples of output frame k's centre (inputs
    beyond the first and last output frames are dropped, so a frame's value does not depend
    on where the window around it ends).
    """
    import torch

    key = (stride, field, output.shape[2], n_out, str(output.device))
    if key not in cache:
        centres = np.arange(output.shape[2]) * stride + field / 2
        target = np.floor((centres - out_field / 2) / hop + 0.5).astype(int)  # ties go up
        keep = np.flatnonzero((target >= 0) & (target < n_out))
        counts = np.bincount(target[keep], minlength=n_out).astype(np.float32)
        run = int(counts[0])
        if len(keep) and np.all(counts == run) and np.all(np.diff(keep) == 1):
            cache[key] = (int(keep[0]), run)  # equal contiguous runs: a reshaped mean
        else:
            cache[key] = tuple(torch.from_numpy(a).to(output.device) for a in
                               (keep, target[keep], np.maximum(counts, 1)[:, None]))
    if len(cache[key]) == 2:
        first, run = cache[key]
        runs = output[:, :, first:first + n_out * run].float()
        return runs.reshape(output.shape[0], output.shape[1], n_out, run).mean(-1).transpose(1, 2)
    keep, target, counts = cache[key]
    kept = output.index_select(2, keep).transpose(1, 2).float()  # (batch, n_kept, channels)
    pooled = torch.zeros(output.shape[0], n_out, output.shape[1], device=output.device)
    pooled.index_add_(1, target, kept)
    return pooled / counts
