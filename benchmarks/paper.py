"""Projected cost of the full reproduction (the ``paper`` profile) on this machine.

Measures, in one short run:

- a feature job's time per minute of audio: activations of every layer of the Base
  architecture (random weights, no download) with the package's windows, then the
  regressors of every layer at the scan times (``--seconds`` of audio);
- a fit job's time per layer at Le Petit Prince size: ``encoding.score_layers`` on simulated
  data of ``--samples`` scans for a convolutional (512 units) and a transformer (768 units)
  layer, at two reduced vertex counts (``--vertices``), extrapolated linearly to 20,484
  vertices (the cost of a fit is an SVD per fold plus terms linear in the vertices);
- the same fit with the responses reduced to ``--y-pca`` principal components (100, as the
  authors' Le Petit Prince code; the profile field ``y_pca``): the per-layer part (ridge on
  the components, predictions mapped back to the vertices, scoring) measured the same way,
  and the principal axes of one fold's training responses (an SVD, shared by every layer of
  a job: computed once per fold and per ``score_layers`` call) measured on their own at
  ``--pca-vertices`` vertices, above the training scans, where its cost grows linearly with
  the vertices, and extrapolated to 20,484;
- the peak memory of each kind of job: the feature job's resident set, scaled to the longest
  section; the fit job's BOLD plus the traced peak of one layer's fit (or of the SVD, with
  ``y_pca``), extrapolated to 20,484 vertices (per fitting process).

Then projects the reproduction: one feature job per model and language (the audio of the
nine sections), one fit job per participant and model (every layer, and its null), with the
participant counts of the corpus, and prints total hours on this machine, with the default
fit (every vertex a target) and with ``y_pca`` side by side, measured in the same run.

The English listeners of the Narratives corpus (the ``paper`` profile's ``corpora``) are
projected with them: the listeners and story runs that
:func:`analysis.datasets.narratives.index_scans` keeps under the default rules in
``--narratives-root`` (default: ``<data home>/narratives`` once fetched; else a tree built in
a temporary folder from the real small files of ``../shared/narratives``, whose
``milkyway`` and ``slumlordreach`` events are written as the authors' events script writes
them, by ``tests/narratives_miniature.py``); their feature jobs (each story's audio, once per
model) and fit jobs (one per listener, its runs' scans, the profile's Narratives outer folds),
a fit's time scaled from the measured one by scans and folds (an SVD of the training part per
fold: linear in both, at fixed units). Finally the download volume: the raw files
``fetch narratives --profile paper`` takes (their sizes in the package's checksum list) and
the derivatives' fsaverage6 series (no listing of them is at hand: estimated from each scan's
volumes as float32 values, both hemispheres), beside Le Petit Prince's.

    python benchmarks/paper.py                         # CPU: a few minutes
    python benchmarks/paper.py --device cuda --backend cuda   # on a GPU machine
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from encoding import simulate  # noqa: E402  (benchmarks/encoding.py)

FULL_VERTICES = 20484
LAYERS = {512: 7, 768: 12}  # units per layer -> layers of wav2vec 2.0 Base with that width
PARTICIPANTS = {"en": 49, "fr": 28, "cn": 35}  # every participant of the corpus (112)
PROJECT = Path(__file__).resolve().parents[1]
SHARED_NARRATIVES = PROJECT.parent / "shared" / "narratives"
FSAVERAGE6 = 40962  # vertices per hemisphere of the derivatives


def narratives_runs(root: Path | None) -> tuple[object, str]:
    """The story runs of the Narratives listeners under the default rules
    (:func:`analysis.datasets.narratives_loader.story_runs`) and where they were read."""
    import tempfile

    from analysis.datasets import narratives, narratives_download, narratives_loader

    root = root or narratives_download.corpus_root()
    if (root / "participants.tsv").exists():
        return narratives_loader.story_runs(narratives.index_scans(root)), str(root)
    if not (SHARED_NARRATIVES / "participants.tsv").exists():
        raise SystemExit(f"no Narratives tree at {root} nor {SHARED_NARRATIVES}: fetch it "
                         "(python -m analysis fetch narratives --kinds top raw) or pass "
                         "--narratives-root")
    sys.path.insert(0, str(PROJECT / "tests"))
    import narratives_miniature  # the shared files, with milkyway's and slumlordreach's events

    folder = Path(tempfile.mkdtemp(prefix="narratives-tree-"))
    built = narratives_miniature.build_tree(folder / "ds002345")
    return (narratives_loader.story_runs(narratives.index_scans(built)),
            f"{SHARED_NARRATIVES} (+ milkyway and slumlordreach events as documented)")


def download_volume(runs) -> dict[str, float]:
    """Bytes to download for the paper profile: Narratives raw files (sizes of the checksum
    list), Narratives derivatives (estimated), Le Petit Prince's files (its checksum list)."""
    import math

    from analysis.config import get_profile
    from analysis.datasets import download as dl
    from analysis.datasets import narratives_download as nd

    raw = nd.plan(n_participants=0, kinds=nd.RAW_KINDS).raw
    volumes = {}  # the scan's volumes: until its last story segment ends
    for row in runs.itertuples():
        end = math.ceil((row.onset + row.duration) / row.tr)
        volumes[row.scan] = max(end, volumes.get(row.scan, 0))
    spec = get_profile("paper")
    lpp_files = dl.plan_lpp(list(spec.languages), None, 0, range(1, 10),
                            kinds=("bold", "stimuli", "annotations"), excluded=spec.excluded)
    return {"narratives raw (bucket)": sum(f.size for f in raw if f.size > 0),
            "narratives derivatives (estimate)": sum(volumes.values()) * FSAVERAGE6 * 2 * 4,
            "lpp (bucket)": sum(f.size for f in lpp_files if f.size > 0)}


def rss_gib() -> float:
    """Peak resident set size of this process so far (GiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def audio_seconds(language: str) -> float:
    """Seconds of audio of the nine sections of ``language`` (scans minus the extra scans
    after the audio, times the TR)."""
    from analysis.datasets import lpp

    code = lpp.language_code(language)
    return sum(v - lpp.EXTRA_SCANS[code] for v in lpp.VOLUMES[code]) * lpp.TR


def longest_section_seconds() -> float:
    from analysis.datasets import lpp

    return max((v - lpp.EXTRA_SCANS[c]) * lpp.TR for c in lpp.LANGUAGES for v in lpp.VOLUMES[c])


def measure_features(seconds: float, device: str, seed: int = 0) -> tuple[float, float]:
    """Seconds of wall clock per minute of audio (activations + regressors of every layer)
    and the peak resident set (GiB) projected to the longest section: the run on a third of
    ``seconds`` then on all of it gives the growth of the peak per second of audio."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    from analysis.features import extract_activations, resolve_device
    from analysis.regressors import build_regressors

    torch.manual_seed(seed)
    target = resolve_device(device)
    model = Wav2Vec2Model(Wav2Vec2Config()).eval().to(target)
    rng = np.random.default_rng(seed)
    waveform = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    peaks, times = [], []
    for length in (seconds / 3, seconds):  # the shorter first: the peak only grows
        start = time.perf_counter()
        acts = extract_activations(model, waveform[: int(length * 16000)], device=device,
                                   progress=False)
        middle = time.perf_counter()
        scan_times = np.arange(int(length // 2)) * 2.0
        for layer in acts.layers:
            build_regressors(layer, acts.times, scan_times)
        times.append((middle - start, time.perf_counter() - middle))
        del acts
        peaks.append(rss_gib())
    extraction, regressors = times[-1]
    growth = (peaks[1] - peaks[0]) / (seconds - seconds / 3)
    peak = peaks[1] + growth * (longest_section_seconds() - seconds)
    print(f"features: {seconds:.0f} s of audio, Base (19 layers) on {target}: extraction "
          f"{extraction:.1f} s, regressors {regressors:.1f} s -> "
          f"{60 * (extraction + regressors) / seconds:.1f} s per minute of audio; peak "
          f"resident set {peaks[0]:.2f} GiB at {seconds / 3:.0f} s, {peaks[1]:.2f} GiB at "
          f"{seconds:.0f} s")
    return 60 * (extraction + regressors) / seconds, peak


def measure_fit(samples: int, units: int, vertices: int, args,
                y_pca: int | None = None) -> tuple[float, float]:
    """Seconds and traced peak memory (GiB) of one layer's fit (``score_layers``, one
    process, one BLAS thread) at ``vertices`` vertices, the responses reduced to ``y_pca``
    principal components when given."""
    from threadpoolctl import threadpool_limits

    from analysis.encoding import score_layers

    layers, Y = simulate(samples, units, vertices, 1, seed=units + vertices)
    kwargs = dict(n_folds=args.folds, alphas=tuple(np.logspace(1, 8, args.alphas)),
                  alpha_selection=args.selection, backend=args.backend, dtype=args.dtype,
                  y_pca=y_pca)
    tracemalloc.start()
    start = time.perf_counter()
    with threadpool_limits(1):  # as each fitting process of a job runs
        score_layers(layers, Y, n_jobs=1, progress=False, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 30
    tracemalloc.stop()
    return seconds, peak


def measure_pca(samples: int, vertices: int, args) -> tuple[float, float]:
    """Seconds and traced peak memory (GiB) of the principal axes of one outer fold's
    training responses (``samples`` minus a fold, by ``vertices``), as the fit computes them
    with ``y_pca`` (``encoding._principal_axes``), one BLAS thread."""
    from threadpoolctl import threadpool_limits

    from analysis.encoding import _principal_axes

    n_train = samples - samples // args.folds
    rng = np.random.default_rng(vertices)
    Y = rng.standard_normal((n_train, vertices)).astype(args.dtype)
    tracemalloc.start()
    start = time.perf_counter()
    with threadpool_limits(1):
        _principal_axes(Y, args.y_pca)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 30
    tracemalloc.stop()
    return seconds, peak


def extrapolate(x: list[int], y: list[float], at: int) -> float:
    """The line through the two points ``(x, y)``, at ``at`` (never below the larger y)."""
    slope = (y[1] - y[0]) / (x[1] - x[0])
    return max(y[1], y[1] + slope * (at - x[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="audio measured for the feature job (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="feature extraction device")
    parser.add_argument("--samples", type=int, default=2900,
                        help="scans of a participant (LPP: 2816 EN to 2977 CN)")
    parser.add_argument("--vertices", type=int, nargs=2, default=[256, 512],
                        help="two reduced vertex counts measured (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--alphas", type=int, default=20)
    parser.add_argument("--selection", default="loo", choices=["loo", "gcv", "kfold"])
    parser.add_argument("--backend", default="auto", help="encoding backend")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--models", type=int, default=6, help="models (default: the registry)")
    parser.add_argument("--cpus-per-job", type=int, default=1,
                        help="processes fitting layers inside a fit job (default: 1)")
    parser.add_argument("--y-pca", type=int, default=100,
                        help="principal components of the responses in the second projection "
                             "(the profile field y_pca; default: %(default)s)")
    parser.add_argument("--narratives-root", type=Path, default=None,
                        help="a Narratives tree (default: the data home's, else one built "
                             "from ../shared/narratives)")
    parser.add_argument("--pca-vertices", type=int, nargs=2, default=[3072, 6144],
                        help="two vertex counts, above the training scans, at which the SVD "
                             "of y_pca is measured (default: %(default)s)")
    args = parser.parse_args()

    from threadpoolctl import threadpool_info

    blas = {(i["internal_api"], i["num_threads"]) for i in threadpool_info()}
    print(f"machine: {os.cpu_count()} CPUs, BLAS {sorted(blas)}")
    per_minute, feature_peak = measure_features(args.seconds, args.device)
    longest = longest_section_seconds()
    audio = {lang: audio_seconds(lang) for lang in PARTICIPANTS}
    feature_hours = args.models * sum(audio.values()) / 60 * per_minute / 3600

    per_layer, traced, pca_layer, pca_traced = {}, {}, {}, {}
    svd = [measure_pca(args.samples, v, args) for v in args.vertices]  # inside the fits below
    for units in LAYERS:
        times, peaks = zip(*(measure_fit(args.samples, units, v, args) for v in args.vertices))
        per_layer[units] = extrapolate(args.vertices, list(times), FULL_VERTICES)
        traced[units] = extrapolate(args.vertices, list(peaks), FULL_VERTICES)
        print(f"fit: one layer of {units} units, {args.samples} scans, {args.folds} folds, "
              f"{args.alphas} alphas ({args.selection}, {args.dtype}): "
              + ", ".join(f"{v} vertices {t:.1f} s" for v, t in zip(args.vertices, times))
              + f" -> {per_layer[units]:.1f} s at {FULL_VERTICES} vertices")
        times, peaks = zip(*(measure_fit(args.samples, units, v, args, args.y_pca)
                             for v in args.vertices))
        # the layer's own part: the fit less its SVDs (one per fold), shared in a real job
        own = [t - args.folds * s for t, (s, _) in zip(times, svd)]
        pca_layer[units] = extrapolate(args.vertices, own, FULL_VERTICES)
        pca_traced[units] = extrapolate(args.vertices, list(peaks), FULL_VERTICES)
        print(f"fit with y_pca={args.y_pca}: " + ", ".join(
            f"{v} vertices {t:.1f} s ({o:.1f} s without the SVDs)"
            for v, t, o in zip(args.vertices, times, own))
            + f" -> {pca_layer[units]:.1f} s per layer at {FULL_VERTICES} vertices, plus the "
            "SVDs")
    svd_big = [measure_pca(args.samples, v, args) for v in args.pca_vertices]
    svd_seconds = extrapolate(args.pca_vertices, [s for s, _ in svd_big], FULL_VERTICES)
    svd_peak = extrapolate(args.pca_vertices, [p for _, p in svd_big], FULL_VERTICES)
    n_train = args.samples - args.samples // args.folds
    print(f"y_pca={args.y_pca}: principal axes of one fold's training responses "
          f"({n_train} scans): " + ", ".join(f"{v} vertices {s:.1f} s" for v, (s, _) in
                                              zip(args.pca_vertices, svd_big))
          + f" -> {svd_seconds:.1f} s at {FULL_VERTICES} vertices, traced peak "
          f"{svd_peak:.2f} GiB"
          + ("" if min(args.pca_vertices) >= n_train else
             f" (below {n_train} vertices the SVD does not grow linearly: extrapolation "
             "too low)"))
    from analysis.config import get_profile
    from analysis.datasets import download as dl

    runs, where = narratives_runs(args.narratives_root)
    nar_folds = get_profile("paper").folds_of("narratives")
    nar_scans = runs.groupby("participant").n_scans.sum()  # scans per listener
    stories = runs.drop_duplicates(["story", "audio_start", "duration"])
    nar_audio = float(stories.duration.sum())
    nar_groups = runs.groupby("participant").apply(
        lambda r: tuple(zip(r.story, r.tr, r.n_scans)), include_groups=False).nunique()
    # a fit's cost relative to the measured one (args.samples scans, args.folds folds)
    nar_scale = float((nar_scans / args.samples).sum()) * nar_folds / args.folds
    nar_feature_hours = args.models * nar_audio / 60 * per_minute / 3600
    print(f"\nNarratives (English), from {where}: {runs.participant.nunique()} listeners, "
          f"{runs.scan.nunique()} scans, {len(runs)} story runs "
          f"({', '.join(f'{k} {v}' for k, v in runs.task.value_counts().items())}); "
          f"{len(stories)} stories heard ({nar_audio / 3600:.1f} h of audio), "
          f"{nar_groups} sets of stories heard (one design each); scans per listener "
          f"{int(nar_scans.min())} to {int(nar_scans.max())}, {int(nar_scans.sum())} in all; "
          f"{nar_folds} outer folds")
    n_layers = sum(LAYERS.values())
    job_seconds = 2 * sum(n * per_layer[u] for u, n in LAYERS.items())  # layers, then null
    pca_job_seconds = 2 * (args.folds * svd_seconds  # one SVD per fold and call
                           + sum(n * pca_layer[u] for u, n in LAYERS.items()))
    n_fits = args.models * sum(PARTICIPANTS.values())
    from analysis.encoding import resolve_backend

    on_gpu = resolve_backend(args.backend) == "cuda"
    cpus = os.cpu_count() or 1
    at_once = 1 if on_gpu else cpus  # fitting processes running at once (one core each)
    fit_hours = n_fits * job_seconds / 3600 / at_once
    pca_fit_hours = n_fits * pca_job_seconds / 3600 / at_once
    nar_fit_hours = args.models * nar_scale * job_seconds / 3600 / at_once
    nar_pca_fit_hours = args.models * nar_scale * pca_job_seconds / 3600 / at_once
    bold = args.samples * FULL_VERTICES * 4 / 2 ** 30
    fit_peak = bold + args.cpus_per_job * max(traced.values())
    pca_peak = bold + args.cpus_per_job * max(max(pca_traced.values()), svd_peak)

    print("\nprojection: the paper profile, every participant, model and layer")
    print(f"  feature jobs: {args.models} models x {len(audio)} languages "
          f"({', '.join(f'{k} {v / 60:.0f} min' for k, v in audio.items())} of audio), "
          f"one after the other: {feature_hours:.1f} h; peak memory per job "
          f"{feature_peak:.1f} GiB (longest section {longest / 60:.1f} min)")
    print(f"  fit jobs: {args.models} models x {sum(PARTICIPANTS.values())} participants "
          f"({', '.join(f'{k} {v}' for k, v in PARTICIPANTS.items())}) = {n_fits} jobs of "
          f"{n_layers} layers + their null, on {'the GPU' if on_gpu else 'one core'} each, "
          f"{at_once} at once:")
    print(f"    {'':<28} {'h per job':>10} {'h in all':>9} {'peak GiB per job':>17}")
    for name, seconds, hours, peak in (
            ("default (every vertex)", job_seconds, fit_hours, fit_peak),
            (f"y_pca={args.y_pca}", pca_job_seconds, pca_fit_hours, pca_peak)):
        print(f"    {name:<28} {seconds / 3600:10.2f} {hours:9.0f} {peak:17.1f}")
    print(f"    (peak: BOLD {bold:.2f} GiB + {args.cpus_per_job} fitting process(es))")
    print(f"  Le Petit Prince alone on this machine: default {feature_hours + fit_hours:.0f} "
          f"h, y_pca={args.y_pca} {feature_hours + pca_fit_hours:.0f} h")
    n_nar = runs.participant.nunique()
    print(f"  Narratives: feature jobs {args.models} models x {len(stories)} stories: "
          f"{nar_feature_hours:.1f} h; fit jobs {args.models} models x {n_nar} listeners = "
          f"{args.models * n_nar} jobs, {nar_scale / n_nar:.2f} x a Le Petit Prince job on "
          f"average (scans x folds): default {nar_fit_hours:.0f} h, y_pca={args.y_pca} "
          f"{nar_pca_fit_hours:.0f} h")
    total = feature_hours + fit_hours + nar_feature_hours + nar_fit_hours
    pca_total = feature_hours + pca_fit_hours + nar_feature_hours + nar_pca_fit_hours
    print(f"  total on this machine, both corpora ({sum(PARTICIPANTS.values()) + n_nar} "
          f"listeners): default {total:.0f} h, y_pca={args.y_pca} {pca_total:.0f} h "
          f"({'GPU' if on_gpu else f'{cpus} CPUs'}; features then fits; assumes the measured "
          f"single-core fit time holds with every core busy)")
    volume = download_volume(runs)
    print("\ndownload volume of the paper profile: " + "; ".join(
        f"{k} {dl.human_size(v)}" for k, v in volume.items())
          + f"; in all {dl.human_size(sum(volume.values()))} (the derivatives' size is "
          "estimated: float32 values, both hemispheres, no listing of the release at hand)")

if __name__ == "__main__":
    main()
