"""Benchmark of the demo models' training steps on this machine's CPUs.

Trains the demo architecture (:class:`analysis.demo.training.TrainingSettings` defaults) for
``--steps`` steps on synthetic non-speech audio (the same cost as speech), in three ways:
one process with one thread, one process with ``--threads`` threads, and two processes with
one thread each running at once. Prints seconds per step of each (after the first step, which
includes start-up).

    python benchmarks/training.py --steps 20
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path


def seconds_per_step(steps: int, threads: int, seed: int = 0, objective: str = "contrastive"
                     ) -> float:
    """Seconds per training step after the first, from the run's curves."""
    import numpy as np

    from analysis.demo import sounds, training

    settings = dataclasses.replace(training.TrainingSettings(), steps=steps, threads=threads,
                                   log_every=1, n_checkpoints=1, seed=seed)
    clips = sounds.corpus(120, seed=seed)
    labels = [np.random.default_rng(0).integers(0, 40, len(c) // 320) for c in clips] \
        if objective == "phones" else None
    corpus = training.Corpus(clips, labels, [str(i) for i in range(40)] if labels else [])
    with tempfile.TemporaryDirectory() as folder:
        training.train(corpus, Path(folder) / "run", settings, objective=objective)
        curves = training.read_curves(Path(folder) / "run")
    return (curves[-1]["seconds"] - curves[0]["seconds"]) / (len(curves) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"contrastive, 1 process x 1 thread: {seconds_per_step(args.steps, 1):.3f} s/step")
    print(f"phones,      1 process x 1 thread: "
          f"{seconds_per_step(args.steps, 1, objective='phones'):.3f} s/step")
    print(f"contrastive, 1 process x {args.threads} threads: "
          f"{seconds_per_step(args.steps, args.threads):.3f} s/step")
    start = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        times = list(pool.map(seconds_per_step, [args.steps] * 2, [1, 1], [0, 1]))
    print(f"contrastive, 2 processes x 1 thread at once: {times[0]:.3f} and {times[1]:.3f} "
          f"s/step each ({time.perf_counter() - start:.0f} s wall)")


if __name__ == "__main__":
    main()
