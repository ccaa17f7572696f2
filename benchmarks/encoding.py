"""Benchmark of the encoding stage at Le Petit Prince size, against scikit-learn and himalaya.

One simulated participant: ``--samples`` scans, ``--features`` units per layer, ``--vertices``
targets, ``--layers`` layers, autocorrelated features and noise with a planted linear map.
Prints, for each alpha selection mode, the time and peak traced memory of one layer and of all
layers, then, on a subset of vertices and one outer fold measured in the same run,
scikit-learn's ``RidgeCV`` (per-target alphas, leave-one-out) and himalaya's ``RidgeCV``
(contiguous inner K-fold) against ours, as ratios.

    python benchmarks/encoding.py                      # full size (long: tens of minutes)
    python benchmarks/encoding.py --layers 2 --vertices 4096   # a quick look
"""
from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import warnings

import numpy as np


def simulate(n: int, p: int, t: int, n_layers: int, seed: int = 0, rho: float = 0.7):
    """Layers of shape (n, p) and responses (n, t), AR(1) in time, half the targets driven by
    layer 0 through a random map."""
    rng = np.random.default_rng(seed)

    def ar(shape):
        x = rng.standard_normal(shape, dtype=np.float32)
        for i in range(1, shape[0]):
            x[i] = rho * x[i - 1] + np.sqrt(1 - rho ** 2) * x[i]
        return x

    layers = [ar((n, p)) for _ in range(n_layers)]
    weights = rng.standard_normal((p, t), dtype=np.float32) / np.sqrt(p)
    weights[:, t // 2:] = 0
    return layers, layers[0] @ weights + 3 * ar((n, t))


def timed(function, *args, **kwargs):
    tracemalloc.start()
    start = time.perf_counter()
    out = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 30
    tracemalloc.stop()
    return out, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2800)
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--vertices", type=int, default=20484)
    parser.add_argument("--layers", type=int, default=19)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--alphas", type=int, default=20)
    parser.add_argument("--modes", nargs="+", default=["gcv", "loo", "kfold"])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--baseline-vertices", type=int, default=2048,
                        help="vertices given to scikit-learn and himalaya (one outer fold)")
    args = parser.parse_args()

    from threadpoolctl import threadpool_info

    from analysis.encoding import brain_score, outer_folds, resolve_backend

    alphas = np.logspace(1, 8, args.alphas)
    dtype = np.dtype(args.dtype).type
    layers, Y = simulate(args.samples, args.features, args.vertices, args.layers)
    blas = {(i["internal_api"], i["num_threads"]) for i in threadpool_info()}
    print(f"machine: {os.cpu_count()} CPUs, BLAS {sorted(blas)}; backend "
          f"{resolve_backend(args.backend)}, {args.dtype}")
    print(f"size: {args.samples} scans x {args.features} features -> {args.vertices} vertices, "
          f"{args.layers} layers, {args.folds} outer folds, {args.alphas} alphas")
    ours_per_fold = {}
    for mode in args.modes:
        kwargs = dict(n_folds=args.folds, alphas=alphas, alpha_selection=mode,
                      backend=args.backend, dtype=dtype)
        times, peak = [], 0.0
        for X in layers:
            scores, seconds, mem = timed(brain_score, X, Y, **kwargs)
            times.append(seconds)
            peak = max(peak, mem)
        signal = np.nanmean(scores[: args.vertices // 2])
        noise = np.nanmean(scores[args.vertices // 2:])
        ours_per_fold[mode] = np.mean(times) / args.folds / args.vertices
        print(f"{mode:6s} one layer {np.mean(times):8.1f} s   all {args.layers} layers "
              f"{np.sum(times):8.1f} s   peak {peak:5.2f} GiB   mean r: signal {signal:.3f}, "
              f"noise {noise:+.4f}")

    train, test = outer_folds(args.samples, args.folds)[0]
    subset = slice(0, args.baseline_vertices)
    X = (layers[0] - layers[0][train].mean(0)) / layers[0][train].std(0)
    Ysub = Y[:, subset]
    warnings.simplefilter("ignore")
    if "loo" in ours_per_fold or "gcv" in ours_per_fold:
        from sklearn.linear_model import RidgeCV

        _, seconds, _ = timed(RidgeCV(alphas=alphas, alpha_per_target=True).fit, X[train],
                              Ysub[train])
        per = seconds / args.baseline_vertices
        for mode in ("loo", "gcv"):
            if mode in ours_per_fold:
                print(f"scikit-learn RidgeCV (leave-one-out), {args.baseline_vertices} vertices,"
                      f" 1 fold: {seconds:.1f} s -> projected {per * args.vertices * args.folds:.0f}"
                      f" s per layer; ours ({mode}) is {per / ours_per_fold[mode]:.1f}x faster")
    if "kfold" in ours_per_fold:
        from himalaya.backend import set_backend
        from himalaya.ridge import RidgeCV as HimalayaRidgeCV
        from sklearn.model_selection import KFold

        set_backend("numpy")
        model = HimalayaRidgeCV(alphas=alphas, cv=KFold(5), fit_intercept=True)
        _, seconds, _ = timed(model.fit, X[train], Ysub[train])
        per = seconds / args.baseline_vertices
        print(f"himalaya RidgeCV (5 contiguous folds), {args.baseline_vertices} vertices, 1 fold:"
              f" {seconds:.1f} s -> projected {per * args.vertices * args.folds:.0f} s per layer;"
              f" ours (kfold) is {per / ours_per_fold['kfold']:.1f}x faster")


if __name__ == "__main__":
    main()
