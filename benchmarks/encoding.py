"""Benchmark of the encoding stage at Le Petit Prince size, against scikit-learn and himalaya.

One simulated participant: ``--samples`` scans, ``--features`` units per layer, ``--vertices``
targets, ``--layers`` layers, autocorrelated features and noise with a planted linear map.
Prints, for each alpha selection mode, the time of all layers (one ``score_layers`` call) and
per layer, the peak memory, the mean r of the planted targets and of the pure-noise ones
(which must be within +-0.005 of 0), then scikit-learn's ``RidgeCV`` (per-target alphas,
leave-one-out) and himalaya's ``RidgeCV`` (the same 5 contiguous inner folds) timed in the same
run on one outer fold and a subset of vertices, projected to a layer, as ratios.

    python benchmarks/encoding.py                      # full size (long: about an hour)
    python benchmarks/encoding.py --modes gcv          # one mode
    python benchmarks/encoding.py --layers 2 --vertices 4096   # a quick look
"""
from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
import warnings

import numpy as np
from simulated import ar1


def simulate(n: int, p: int, t: int, n_layers: int, seed: int = 0, rho: float = 0.7):
    """Layers of shape (n, p) and responses (n, t), AR(1) in time, half the targets driven by
    layer 0 through a random map."""
    rng = np.random.default_rng(seed)

    def ar(shape):
        return ar1(rng, shape, rho)

    layers = [ar((n, p)) for _ in range(n_layers)]
    weights = rng.standard_normal((p, t), dtype=np.float32) / np.sqrt(p)
    weights[:, t // 2:] = 0
    return layers, layers[0] @ weights + 3 * ar((n, t))


def timed(function, *args, **kwargs):
    """``function``'s output, wall seconds and peak traced memory (GiB)."""
    tracemalloc.start()
    start = time.perf_counter()
    out = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 30
    tracemalloc.stop()
    return out, seconds, peak


def baseline(name: str, make, X, Y, sizes, n_vertices: int, n_folds: int):
    """Seconds per layer of a baseline, projected from one outer fold: fitted on 16 vertices
    (its fixed cost) and on each of ``sizes`` vertices (the cost per vertex beyond it, the
    largest size counting), with the faster of 1 and 2 BLAS threads.

    Returns the projected seconds and the model fitted (float32) on the largest size."""
    from threadpoolctl import threadpool_limits

    best = np.inf
    for threads in (1, 2):
        with threadpool_limits(threads):
            timed(make().fit, X, Y[:, :16])  # warm up
            fixed = timed(make().fit, X, Y[:, :16])[1]
            fits = [timed(make().fit, X, Y[:, :size]) for size in sizes]
        seconds = [s for _, s, _ in fits]
        per_vertex = max(seconds[-1] - fixed, 0.0) / (sizes[-1] - 16)
        projected = n_folds * (fixed + per_vertex * n_vertices)
        print(f"  {name}, {threads} BLAS thread(s), one fold: 16 vertices {fixed:.1f} s, "
              + ", ".join(f"{v} vertices {s:.1f} s" for v, s in zip(sizes, seconds))
              + f" -> projected {projected:.0f} s per layer", flush=True)
        best = min(best, projected)
    return best, fits[-1][0]


def agreement(name, make, mode, layer, Y, size, train, test, args, alphas) -> None:
    """Largest |r difference| between the baseline ``make()`` fitted in float64 on the first
    outer fold and ours (``cross_val_predict``, float32 or not), on the first ``size``
    vertices of that fold's test part."""
    from analysis.encoding import cross_val_predict, pearson_r

    X = (layer - layer[train].mean(0)) / layer[train].std(0)
    X, Y64 = X.astype(np.float64), Y[:, :size].astype(np.float64)
    model = make().fit(X[train], Y64[train])
    theirs = pearson_r(np.asarray(model.predict(X[test]), dtype=np.float64), Y64[test])
    ours = pearson_r(cross_val_predict(layer, Y[:, :size], n_folds=args.folds, alphas=alphas,
                                       alpha_selection=mode, dtype=args.dtype)[test],
                     Y[test, :size].astype(np.float64))
    gap = np.abs(theirs - ours)
    planted = gap[: min(size, args.vertices // 2)]
    print(f"  agreement with {name} on fold 1, {size} vertices ({mode}): max |r difference| "
          f"{gap.max():.2e} over all, {planted.max():.2e} over planted targets; "
          f"{(gap > 1e-3).sum()} targets over 1e-3", flush=True)


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
    parser.add_argument("--dtype", default="float32", choices=["float64", "float32"])
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="processes over layers (1: one process, numpy work over threads)")
    parser.add_argument("--baseline-vertices", type=int, nargs="*", default=[2048],
                        help="vertices given to scikit-learn and himalaya (one outer fold); "
                             "none to skip them")
    args = parser.parse_args()

    from threadpoolctl import threadpool_info

    from analysis.encoding import outer_folds, resolve_backend, score_layers

    alphas = np.logspace(1, 8, args.alphas)
    layers, Y = simulate(args.samples, args.features, args.vertices, args.layers)
    blas = {(i["internal_api"], i["num_threads"]) for i in threadpool_info()}
    print(f"machine: {os.cpu_count()} CPUs, BLAS {sorted(blas)}; backend "
          f"{resolve_backend(args.backend)}, {args.dtype}, {args.n_jobs} process(es)")
    print(f"size: {args.samples} scans x {args.features} features -> {args.vertices} vertices, "
          f"{args.layers} layers, {args.folds} outer folds, {args.alphas} alphas "
          f"logspace(1, 8)", flush=True)
    # the baselines first (shorter), so that an interrupted run still has them
    baselines = {}
    sizes = sorted(v for v in args.baseline_vertices if 16 < v <= args.vertices)
    train, test = outer_folds(args.samples, args.folds)[0]
    X = (layers[0] - layers[0][train].mean(0)) / layers[0][train].std(0)
    X, Ytrain = X[train].astype(np.float32), Y[train].astype(np.float32)
    warnings.simplefilter("ignore")
    if sizes and {"loo", "gcv"} & set(args.modes):
        from sklearn.linear_model import RidgeCV

        def make():
            return RidgeCV(alphas=alphas, alpha_per_target=True)

        seconds, _ = baseline("scikit-learn RidgeCV (leave-one-out, alpha_per_target)", make,
                              X, Ytrain, sizes, args.vertices, args.folds)
        baselines["loo"] = baselines["gcv"] = ("scikit-learn", seconds)
        if "loo" in args.modes:
            agreement("scikit-learn", make, "loo", layers[0], Y, sizes[-1], train, test, args,
                      alphas)
    if sizes and "kfold" in args.modes:
        from himalaya.backend import set_backend
        from himalaya.ridge import RidgeCV as HimalayaRidgeCV
        from sklearn.model_selection import KFold

        set_backend("numpy")
        def make():
            return HimalayaRidgeCV(alphas=alphas, cv=KFold(5), fit_intercept=True)

        seconds, _ = baseline("himalaya RidgeCV (5 contiguous folds)", make, X, Ytrain, sizes,
                              args.vertices, args.folds)
        baselines["kfold"] = ("himalaya", seconds)
        agreement("himalaya", make, "kfold", layers[0], Y, sizes[-1], train, test, args,
                  alphas)

    half = args.vertices // 2
    for mode in args.modes:
        scores, seconds, peak = timed(score_layers, layers, Y, n_folds=args.folds,
                                      alphas=alphas, alpha_selection=mode,
                                      backend=args.backend, dtype=args.dtype,
                                      n_jobs=args.n_jobs, progress=True)
        per_layer = seconds / args.layers
        noise = np.concatenate([scores[0, half:], scores[1:].ravel()])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
        print(f"{mode:6s} all {args.layers} layers {seconds:8.1f} s   per layer "
              f"{per_layer:6.1f} s"
              f"   peak traced {peak:5.2f} GiB (process max RSS so far {rss:5.2f} GiB)")
        print(f"       mean r: planted targets of layer 0 {np.nanmean(scores[0, :half]):.4f};"
              f" pure noise ({noise.size} layer-targets) {np.nanmean(noise):+.5f} "
              f"({'within' if abs(np.nanmean(noise)) <= 0.005 else 'OUTSIDE'} +-0.005)",
              flush=True)
        if mode in baselines:
            name, base = baselines[mode]
            print(f"       {name} {base:.0f} s per layer; ours ({mode}) {per_layer:.1f} s: "
                  f"{base / per_layer:.1f}x faster", flush=True)

if __name__ == "__main__":
    main()
