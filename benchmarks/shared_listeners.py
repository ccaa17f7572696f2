"""Benchmark: fitting listeners who heard the same stimulus one by one, or all at once.

Listeners of one language heard the same sections, so their designs and outer folds are the
same; concatenating their responses column-wise lets one decomposition of X per fold serve
every listener's vertices (issue 16's suggestion to keep the time budget with more simulated
listeners). This script times :func:`analysis.encoding.score_layers` on simulated data both
ways, in the same run, and prints the seconds and their ratio (one by one / all at once: above
1, sharing pays for itself).

    python benchmarks/shared_listeners.py                       # demo size: 1,400 x 128, 3 x 20,484
    python benchmarks/shared_listeners.py --features 768 --vertices 8000

Measured on the 2-core CPU machine (2026-11-30): 31.1 s one by one, 35.0 s at once (ratio
0.89) at demo size; 33.4 s and 33.9 s (0.99) with 768 features. The per-target work (products
with Y over every penalty) dominates the decomposition, so :mod:`analysis.scores` keeps fitting
listeners one by one, which also bounds memory to one listener's responses.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from analysis import encoding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=1400)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--vertices", type=int, default=20484)
    parser.add_argument("--listeners", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.scans, args.features))
    responses = [rng.standard_normal((args.scans, args.vertices)).astype(np.float32)
                 for _ in range(args.listeners)]
    options = dict(n_folds=args.folds, progress=False, backend="numpy", dtype=np.float32)

    start = time.perf_counter()
    apart = [encoding.score_layers([X], Y, **options) for Y in responses]
    one_by_one = time.perf_counter() - start
    start = time.perf_counter()
    together = encoding.score_layers([X], np.hstack(responses), **options)
    at_once = time.perf_counter() - start
    same = np.allclose(np.hstack(apart), together, atol=1e-5, equal_nan=True)
    print(f"{args.listeners} listeners x {args.vertices} vertices, {args.scans} scans x "
          f"{args.features} features, {args.folds} folds")
    print(f"one by one: {one_by_one:.1f} s   all at once: {at_once:.1f} s   "
          f"ratio {one_by_one / at_once:.2f}   same scores: {same}")


if __name__ == "__main__":
    main()
