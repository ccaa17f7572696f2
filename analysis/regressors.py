"""Regressors at fMRI frame times from time series sampled on a finer grid.

Each feature dimension is min-max scaled, convolved with the Glover HRF and sampled at the
scan times, then z-scored. The convolution is the computation of
``nilearn.glm.first_level.compute_regressor`` (events of one frame's duration, the same
oversampled grid, the same kernel, linear interpolation), done for every column at once:
the tests check it against ``compute_regressor`` column by column.

Scaling uses each whole run (as the authors did): it touches the regressors only, never the
responses, and is the same for every outer cross-validation fold.

Optional PCA per layer (:func:`reduce_components`, off by default) is fitted on all the scans
it is given: in :func:`analysis.designs.designs_for`, every run of the participant, stacked,
so that one basis serves all runs (bases fitted run by run would not be comparable). Like the
scaling, it touches X only, never Y, so no information about the responses leaks into the
fit; but it is transductive: the held-out folds' stimulus statistics shape the basis that the
training folds use. That is the same status as the min-max scaling, and harmless for a fixed
stimulus shared by all participants; a strictly inductive variant would refit it inside each
outer fold.
"""
from __future__ import annotations

import numpy as np
from nilearn.glm.first_level import glover_hrf
from scipy.interpolate import interp1d
from scipy.signal import fftconvolve

MIN_ONSET = -24.0  # seconds before the first scan, as compute_regressor's default


def scan_times(n_scans: int, tr: float) -> np.ndarray:
    """Acquisition times of ``n_scans`` volumes (t=0 at the audio onset): shape (n_scans,)."""
    return np.arange(n_scans) * tr


def hrf_convolve(values: np.ndarray, onsets: np.ndarray, durations: np.ndarray,
                 frame_times: np.ndarray, oversampling: int = 50) -> np.ndarray:
    """Convolve events with the Glover HRF and sample at ``frame_times``.

    Parameters
    ----------
    values : array of shape (n_events, n_columns), amplitudes of each event per column
    onsets, durations : arrays of shape (n_events,), seconds
    frame_times : array of shape (n_scans,), regularly spaced scan times

    Returns
    -------
    array of shape (n_scans, n_columns), equal for each column to
    ``compute_regressor([onsets, durations, values[:, j]], "glover", frame_times)``
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    n_scans = len(frame_times)
    tr = float(np.min(np.diff(frame_times)))
    lo, hi = frame_times.min(), frame_times.max()
    n_high = (n_scans - 1) / (hi - lo) * (hi * (1 + 1 / (n_scans - 1)) - lo - MIN_ONSET)
    high_times = np.linspace(lo + MIN_ONSET, hi * (1 + 1 / (n_scans - 1)),
                             int(np.rint(n_high * oversampling + 1)))
    last = len(high_times) - 1
    start = np.minimum(np.searchsorted(high_times, onsets), last)
    stop = np.minimum(np.searchsorted(high_times, onsets + durations), last)
    stop = np.where((stop < last) & (stop == start), stop + 1, stop)
    steps = np.zeros((len(high_times), values.shape[1]))
    np.add.at(steps, start, values)
    np.add.at(steps, stop, -values)
    signal = np.cumsum(steps, axis=0)
    kernel = glover_hrf(tr, oversampling)
    convolved = fftconvolve(signal, kernel[:, None], axes=0)[: len(high_times)]
    return interp1d(high_times, convolved, axis=0)(frame_times)


def build_regressors(features: np.ndarray, times: np.ndarray, frame_times: np.ndarray,
                     step: float | None = None, oversampling: int = 50) -> np.ndarray:
    """Regressors of one run from one layer's features.

    Parameters
    ----------
    features : array of shape (n_frames, n_units), sampled at ``times`` (s, frame centres)
    times : array of shape (n_frames,), regularly spaced
    frame_times : array of shape (n_scans,), scan times of the run (s)
    step : duration of each feature frame (default: the spacing of ``times``)

    Returns
    -------
    array of shape (n_scans, n_units), float32, each column z-scored (constant columns are 0)
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(times):
        raise ValueError(f"features of shape {features.shape} do not match {len(times)} times.")
    step = float(np.median(np.diff(times))) if step is None else step
    low, high = features.min(axis=0), features.max(axis=0)
    scaled = (features - low) / np.where(high > low, high - low, 1.0)
    regs = hrf_convolve(scaled, times - step / 2, np.full(len(times), step), frame_times,
                        oversampling)
    std = regs.std(axis=0)
    return ((regs - regs.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


def reduce_components(regressors: np.ndarray, n_components: int | None = None) -> np.ndarray:
    """Principal components of one layer's regressors (PCA fitted on these scans), z-scored.

    Parameters
    ----------
    regressors : array of shape (n_scans, n_units)
    n_components : components kept; None (the default) returns ``regressors`` unchanged.

    Returns
    -------
    array of shape (n_scans, n_components), float32, each column z-scored; each component's
    sign is fixed so that its largest loading is positive (deterministic output).
    """
    if n_components is None:
        return regressors
    n_scans, n_units = regressors.shape
    if not isinstance(n_components, (int, np.integer)) or not 1 <= n_components <= min(
            n_scans, n_units):
        raise ValueError(f"n_components={n_components!r} must be an integer between 1 and "
                         f"min(n_scans, n_units) = {min(n_scans, n_units)}, or None for no "
                         "PCA.")
    centred = regressors.astype(np.float64) - regressors.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[np.arange(n_components), np.abs(vt[:n_components]).argmax(axis=1)])
    scores = u[:, :n_components] * (s[:n_components] * signs)
    std = scores.std(axis=0)
    return (scores / np.where(std > 0, std, 1.0)).astype(np.float32)
