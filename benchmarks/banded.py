"""Benchmark of the banded ridge of the variance partition at Le Petit Prince size, beside a
single-band fit in the same run.

One simulated participant: ``--scans`` scans (about 2,800 for one LPP listener), a baseline
band of ``--baseline-features`` columns (80, e.g. log-mel bands) and a layer band of
``--layer-features`` (768, a Base model's layer), ``--vertices`` targets (20,484: the whole
fsaverage5 cortex), autocorrelated features and noise. Times one outer fold (90 % training,
10 % test) of:

- the single-band fit of the layer (:func:`analysis.ridge.fit_predict`, with
  :data:`analysis.partition.SELECTION`, the criterion of every fit of the partition);
- the banded fit of baseline + layer (:func:`analysis.partition.banded_fit_predict`,
  himalaya's ``GroupRidgeCV``, :func:`analysis.partition.band_weights` grid);

and prints both times, their ratio and the projection to the whole partition (per outer fold,
two single-band fits and two banded ones, the layer's and its shifted copy's; ``--folds``
folds). The backend is the partition's: the GPU when torch sees one.

    python benchmarks/banded.py                       # LPP size (long on a CPU)
    python benchmarks/banded.py --vertices 2048       # a quick look
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from simulated import ar1

from analysis import encoding, partition, ridge


def simulate(n: int, p_base: int, p_layer: int, t: int, seed: int = 0, rho: float = 0.7):
    """Bands of shape (n, p_base), (n, p_layer) and responses (n, t), AR(1) in time; a
    third of the targets driven by the baseline, a third by the layer."""
    rng = np.random.default_rng(seed)

    def ar(shape):
        return ar1(rng, shape, rho)

    base, layer = ar((n, p_base)), ar((n, p_layer))
    Y = 3 * ar((n, t))
    third = t // 3
    Y[:, :third] += base @ (rng.standard_normal((p_base, third), dtype=np.float32)
                            / np.sqrt(p_base))
    Y[:, third:2 * third] += layer @ (rng.standard_normal((p_layer, third), dtype=np.float32)
                                      / np.sqrt(p_layer))
    return base, layer, Y


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=2800)
    parser.add_argument("--baseline-features", type=int, default=80)
    parser.add_argument("--layer-features", type=int, default=768)
    parser.add_argument("--vertices", type=int, default=20484)
    parser.add_argument("--folds", type=int, default=10, help="outer folds projected")
    parser.add_argument("--inner-folds", type=int, default=5)
    parser.add_argument("--grid-steps", type=int, default=partition.GRID_STEPS)
    parser.add_argument("--backend", default="auto", choices=encoding.BACKENDS)
    args = parser.parse_args(argv)

    backend = encoding.resolve_backend(args.backend)
    base, layer, Y = simulate(args.scans, args.baseline_features, args.layer_features,
                              args.vertices)
    n_train = int(0.9 * args.scans)
    alphas = encoding.DEFAULT_ALPHAS
    weights = partition.band_weights(2, args.grid_steps)

    def standardised(X):
        mean, std = X[:n_train].mean(0), X[:n_train].std(0)
        return (X[:n_train] - mean) / std, (X[n_train:] - mean) / std

    (base_train, base_test), (layer_train, layer_test) = standardised(base), standardised(layer)
    y_train = Y[:n_train] - Y[:n_train].mean(0)
    print(f"{args.scans} scans ({n_train} training), {args.baseline_features} + "
          f"{args.layer_features} features, {args.vertices} vertices, {len(alphas)} alphas, "
          f"{len(weights)} band weights, {args.inner_folds} inner folds, backend {backend}, "
          "float32")

    def single():
        if backend == "numpy":
            return ridge.fit_predict(layer_train, y_train, layer_test, alphas, partition.SELECTION,
                                     args.inner_folds, centred=True, n_threads=2)
        import torch

        device = "cuda" if backend == "cuda" else "cpu"
        out = ridge.fit_predict(*(torch.as_tensor(a, device=device)
                                  for a in (layer_train, y_train, layer_test)),
                                alphas, partition.SELECTION, args.inner_folds, centred=True)
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    def banded():
        return partition.banded_fit_predict([base_train, layer_train], y_train,
                                            [base_test, layer_test], alphas,
                                            args.inner_folds, weights, backend)

    times = {}
    for name, function in (("single-band (layer)", single), ("banded (baseline + layer)",
                                                             banded)):
        start = time.perf_counter()
        function()
        times[name] = time.perf_counter() - start
        print(f"{name:28s} {times[name]:8.1f} s per outer fold", flush=True)
    single_s, banded_s = times.values()
    print(f"ratio banded / single-band: {banded_s / single_s:.1f}")
    total = args.folds * 2 * (single_s + banded_s)
    print(f"projected partition of one listener (A, L, A+L, A+shifted L; {args.folds} outer "
          "folds): "
          f"{total / 60:.1f} min")


if __name__ == "__main__":
    main()
