"""Speed and memory of feature extraction: every layer of a Base-size wav2vec 2.0.

Builds the Base architecture with random weights (no download), extracts all 19 layers of N
seconds of noise-like audio with the package's default windows (10 s every 5 s; see --window
and --stride), and prints:

- throughput as a multiple of real time (audio seconds per wall-clock second);
- peak memory: the process's maximum resident set size, and on CUDA the maximum allocated;
- the FLOP-bound limit: FLOPs the extraction performs per second of audio (counted with
  ``torch.utils.flop_counter.FlopCounterMode`` on one window, times the windows' overlap),
  divided by the matrix-multiply rate of this machine measured in the same run.

Usage (with the package importable, e.g. ``pip install -e .``)::

    python benchmarks/features.py --seconds 60 [--device auto|cpu|cuda] [--dtype float32]
                                  [--batch-size N]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import Wav2Vec2Config, Wav2Vec2Model

from analysis.features import SAMPLE_RATE, extract_activations, resolve_device

def matmul_gflops(device: torch.device, dtype: torch.dtype, size: int = 2048,
                  seconds: float = 2.0) -> float:
    """Measured rate of ``size``-square matrix products on ``device`` (GFLOP/s)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b  # warm-up
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
        if device.type == "cuda" and n % 50 == 0:
            sync()
    sync()
    return 2 * size ** 3 * n / (time.perf_counter() - start) / 1e9


def window_flops(model, device: torch.device, autocast, window: float) -> int:
    """FLOPs of one forward pass of a full window (batch 1), all hidden states."""
    x = torch.randn(1, int(window * SAMPLE_RATE), device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), autocast, counter:  # (weight norm fails under inference_mode here)
        model(x, output_hidden_states=True)
    return counter.get_total_flops()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length (s)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--batch-size", type=int, default=None,
                        help="windows per forward pass (default: 1 on CPU, 16 on CUDA)")
    parser.add_argument("--window", type=float, default=10.0, help="window length (s)")
    parser.add_argument("--stride", type=float, default=5.0, help="window step (s)")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    if device.type != "cuda" and args.dtype != "float32":
        parser.error(f"--dtype {args.dtype} runs on CUDA only; use --dtype float32 on {device}")
    torch.manual_seed(0)
    model = Wav2Vec2Model(Wav2Vec2Config()).eval().to(device)
    n_layers = len(model.config.conv_dim) + model.config.num_hidden_layers
    rng = np.random.default_rng(0)
    # noise-like audio: white noise shaped by a slow random envelope (bursts of sound)
    n = int(args.seconds * SAMPLE_RATE)
    envelope = np.repeat(np.abs(rng.standard_normal(n // 1600 + 1)), 1600)[:n]
    audio = (rng.standard_normal(n) * envelope).astype(np.float32)

    torch_dtype = getattr(torch, args.dtype)
    autocast = (torch.autocast("cuda", dtype=torch_dtype) if args.dtype != "float32"
                else torch.autocast(device.type, enabled=False))
    print(f"device: {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
             f" ({torch.get_num_threads()} threads)")
          + f"; dtype {args.dtype}; torch {torch.__version__}; Python {sys.version.split()[0]}")
    rate = matmul_gflops(device, torch_dtype if device.type == "cuda" else torch.float32)
    flops = window_flops(model, device, autocast, args.window)
    overlap = args.window / args.stride  # each frame is computed in this many windows
    per_audio_s = flops / args.window * overlap

    extract_activations(model, audio[:SAMPLE_RATE], device=str(device), dtype=args.dtype,
                        progress=False)  # warm-up (kernel selection, allocator)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    acts = extract_activations(model, audio, window=args.window, stride=args.stride,
                               batch_size=args.batch_size, device=str(device),
                               dtype=args.dtype, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - start
    assert len(acts.layers) == n_layers == 19, len(acts.layers)

    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # Linux: KiB
    output_gb = sum(a.nbytes for a in acts.layers) / 1e9
    print(f"audio: {args.seconds:g} s; windows {args.window:g} s every {args.stride:g} s; "
          f"{n_layers} layers, {len(acts.times)} frames, output {output_gb:.2f} GB float32")
    print(f"wall time: {elapsed:.2f} s -> throughput {args.seconds / elapsed:.2f}x real time")
    print(f"peak memory: RSS {rss_gb:.2f} GiB" + (
        f"; CUDA max allocated {torch.cuda.max_memory_allocated(device) / 1024 ** 3:.2f} GiB"
        if device.type == "cuda" else ""))
    print(f"model: {flops / args.window / 1e9:.1f} GFLOP per audio second in one pass; "
          f"{per_audio_s / 1e9:.1f} GFLOP per audio second with the windows' {overlap:g}x "
          "overlap")
    print(f"machine: {rate:.0f} GFLOP/s measured on 2048x2048 matrix products")
    limit = rate * 1e9 / per_audio_s
    achieved = args.seconds / elapsed / limit
    print(f"FLOP-bound limit: {limit:.2f}x real time; achieved {achieved:.0%} of it")


if __name__ == "__main__":
    main()
