"""Benchmark of each optimisation of the ridge solver (:mod:`analysis.ridge`), on and off.

Times ``ridge.fit_predict`` on one simulated outer fold (autocorrelated features, standardised,
half the targets driven by a planted linear map, the rest noise; 20 alphas logspace(1, 8), as
:mod:`analysis.encoding` calls it) with every optimisation on, then with each switched off in
turn (``ridge._OPTIMISATIONS``), the variants interleaved over ``--repeats`` rounds and the
fastest of each kept. Prints, for each alpha selection mode, the seconds with and without each
optimisation, their ratio (off / on: above 1, the optimisation pays for itself) and how many
targets' penalties differ from the optimised run (0 expected, except without the float64 tie
recomputation, and for float32 decompositions on ill-conditioned designs).

    python benchmarks/ridge_optimisations.py                 # 2,000 scans x 768 x 4,096
    python benchmarks/ridge_optimisations.py --full          # LPP size: 2,800 x 768 x 20,484
    python benchmarks/ridge_optimisations.py --samples 1000 --features 384 --targets 2048
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
from simulated import ar1

# each switch of ridge._Optimisations, off, and what it replaces
SWITCHES = {
    "float64_decompositions": "Gram matrices decomposed in the working dtype",
    "chunks": "one chunk of every target, BLAS threads (not chunks shared over threads)",
    "low_rank": "one product per penalty (no low-rank form over penalties)",
    "screening": "every low-rank term computed (no kfold screening)",
    "float64_ties": "float32 decides near ties (no float64 recomputation)",
}
ONLY_FOR = {"screening": {"kfold"}}  # switches that change nothing elsewhere
FLOAT32_ONLY = {"low_rank", "screening", "float64_ties", "float64_decompositions"}


def simulate(n: int, p: int, t: int, seed: int = 0, rho: float = 0.7):
    """Standardised features (n, p) and centred responses (n, t), both float64, AR(1) in time,
    half the targets driven by the features through a random map."""
    rng = np.random.default_rng(seed)

    def ar(shape):
        return ar1(rng, shape, rho)

    X = ar((n, p)).astype(np.float64)
    weights = rng.standard_normal((p, t), dtype=np.float32) / np.sqrt(p)
    weights[:, t // 2:] = 0
    Y = (X.astype(np.float32) @ weights + 3 * ar((n, t))).astype(np.float64)
    return (X - X.mean(0)) / X.std(0), Y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000,
                        help="scans; 9/10 train, 1/10 test (one of 10 outer folds)")
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--targets", type=int, default=4096)
    parser.add_argument("--full", action="store_true",
                        help="Le Petit Prince size: 2,800 scans x 768 features x 20,484 targets")
    parser.add_argument("--modes", nargs="+", default=["loo", "kfold"],
                        choices=["loo", "kfold", "gcv"])
    parser.add_argument("--switches", nargs="+", default=list(SWITCHES), choices=list(SWITCHES),
                        help="optimisations to switch off, one at a time")
    parser.add_argument("--alphas", type=int, default=20, help="alphas, logspace(1, 8)")
    parser.add_argument("--inner-folds", type=int, default=5)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "torch", "cuda"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="n_threads of fit_predict (numpy)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the fastest counts")
    args = parser.parse_args()
    if args.full:
        args.samples, args.features, args.targets = 2800, 768, 20484

    from threadpoolctl import threadpool_info

    from analysis import ridge

    X, Y = simulate(args.samples, args.features, args.targets)
    n_train = args.samples - args.samples // 10
    y_train = Y[:n_train] - Y[:n_train].mean(0)
    arrays = [a.astype(args.dtype) for a in (X[:n_train], y_train, X[n_train:])]
    if args.backend != "numpy":
        import torch

        device = "cuda" if args.backend == "cuda" else "cpu"
        arrays = [torch.as_tensor(a, device=device) for a in arrays]
    alphas = np.logspace(1, 8, args.alphas)
    blas = sorted({(i["internal_api"], i["num_threads"]) for i in threadpool_info()})
    print(f"machine: {os.cpu_count()} CPUs, BLAS {blas}; {args.backend}, {args.dtype}, "
          f"n_threads={args.threads}; {ridge.__file__}")
    print(f"size: {n_train} training + {args.samples - n_train} test scans x {args.features} "
          f"features -> {args.targets} targets, {args.alphas} alphas, fastest of "
          f"{args.repeats}", flush=True)

    def fit(mode, optimisations, n_threads):
        ridge._OPTIMISATIONS = optimisations
        try:
            start = time.perf_counter()
            prediction, best = ridge.fit_predict(*arrays, alphas, mode, args.inner_folds,
                                                 centred=True, n_threads=n_threads)
            if args.backend == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
        finally:
            ridge._OPTIMISATIONS = ridge._Optimisations()
        to_numpy = (lambda a: a.cpu().numpy()) if args.backend != "numpy" else np.asarray
        return seconds, to_numpy(prediction), to_numpy(best)

    on = ridge._Optimisations()
    header = (f"{'mode':6} {'optimisation':24} {'on (s)':>8} {'off (s)':>8} {'off/on':>7} "
              f"{'choices differ':>14}  off means")
    print(header + "\n" + "-" * len(header))
    for mode in args.modes:
        rows = comparisons(mode, args, on)
        variants = {variant for row in rows.values() for variant in row}
        fit(mode, on, args.threads)  # warm-up (first-call costs)
        seconds, outputs = {}, {}
        for _ in range(args.repeats):  # interleaved: drifts in the machine's load hit all
            for variant in sorted(variants, key=str):
                took, prediction, best = fit(mode, *variant)
                seconds[variant] = min(seconds.get(variant, np.inf), took)
                outputs[variant] = best
        for name, (variant_on, variant_off) in rows.items():
            differ = int((outputs[variant_off] != outputs[variant_on]).sum())
            meaning = (f"n_threads=1, {args.threads} BLAS threads" if name == "threads"
                       else SWITCHES[name])
            if name == "low_rank" and mode == "kfold":
                meaning += "; both without screening"
            print(f"{mode:6} {name:24} {seconds[variant_on]:8.2f} {seconds[variant_off]:8.2f} "
                  f"{seconds[variant_off] / seconds[variant_on]:7.2f} {differ:14d}  {meaning}",
                  flush=True)


def comparisons(mode: str, args, on) -> dict:
    """``{optimisation: (on, off)}`` for ``mode``, each a variant ``(switches, n_threads)``."""
    def variant(optimisations, n_threads=args.threads):
        return optimisations, n_threads

    rows = {}
    for name in args.switches:
        if mode not in ONLY_FOR.get(name, {mode}) or (args.dtype == "float64"
                                                       and name in FLOAT32_ONLY):
            continue
        base = on
        if name == "low_rank" and mode == "kfold":  # the screen replaces it: compare without
            if args.dtype == "float64":
                continue
            base = dataclasses.replace(on, screening=False)
        rows[name] = variant(base), variant(dataclasses.replace(base, **{name: False}))
    if args.threads > 1 and args.backend == "numpy":  # the public parameter, for scale
        rows["threads"] = variant(on), variant(on, 1)
    return rows


if __name__ == "__main__":
    main()
