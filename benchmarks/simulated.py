"""Simulated inputs shared by the benchmark scripts (run as ``python benchmarks/<name>.py``,
which puts this folder on the import path)."""
from __future__ import annotations

import numpy as np


def ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float = 0.7) -> np.ndarray:
    """Gaussian series AR(1) in time with unit variance: array of ``shape`` (n_samples,
    n_series), float32."""
    x = rng.standard_normal(shape, dtype=np.float32)
    for i in range(1, shape[0]):
        x[i] = rho * x[i - 1] + np.sqrt(1 - rho ** 2) * x[i]
    return x
