"""Benchmark: the ``lpp`` path on a full-size synthetic participant, time and peak memory per
run and per participant, and how close to the planted spheres the best vertices fall.

Builds a participant with ``tests/fullsize_participant.py`` (EN057's nine runs on the corpus's
2 mm grid, 73 x 90 x 74 voxels, MNI affine, the real volume counts, per-run offsets and drifts,
signal planted in spheres at Heschl's gyrus and the posterior STS, driven by one layer of the
``random`` model: wav2vec 2.0 Base with random weights), then runs each step of the analysis
in a fresh process of its own, measuring its wall-clock time and the process's peak resident
set (``getrusage`` max RSS; the resident set after its imports is shown beside it):

- projection of each run onto fsaverage5 (``analysis.surface.projected_run``, what
  ``load_lpp`` does on first use), per run;
- ``load_lpp`` of the participant once its runs are projected (checksums, checks, cache);
- the participant's responses: every run cleaned (``analysis.scores.responses``);
- ``layer_scores`` of the planted layer (cleaning, then the fit, ``encoding.score_layers``,
  timed apart), with the lpp profile's settings (10 folds, 20 penalties, leave-one-out);

then prints, for each sphere, the distance from its centre to its best vertex.

    python benchmarks/fullsize_lpp.py                       # full size: 1-2 hours on 2 busy
                                                            # cores, nearly all of it Base's
                                                            # features (to plant the signal);
                                                            # the lpp path itself, minutes
    python benchmarks/fullsize_lpp.py --sections 1 2 --voxel 4 --tiny   # a quick check

The participant's files (about 1.5 GB at full size) and the analysis's cache (Base's
activations of the nine sections: about 15 GB) go to a temporary folder, deleted at the end,
unless ``--root`` names one (kept; a second run there reuses what it cached).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # fullsize_participant
sys.path.insert(0, str(HERE.parent))

GIB = 2 ** 30


def _rss() -> float:
    """Peak resident set of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def in_child(function, *args):
    """``function(*args)`` in a fresh process (spawned: nothing inherited but the
    environment); returns its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def step_build(root: str, options: dict, threads: int) -> dict:
    import torch

    import fullsize_participant as fullsize

    from analysis.config import cache_dir

    if threads:
        torch.set_num_threads(threads)
    base = _rss()
    started = time.perf_counter()
    built = fullsize.build_participant(Path(root), cache_root=cache_dir(), log=print,
                                       **options)
    return {"seconds": time.perf_counter() - started, "parts": built.seconds,
            "rss": _rss(), "base": base, "built": built}


def step_project(path: str, name: str) -> dict:
    import nibabel

    from analysis import surface

    surface._meshes(surface.MESH)  # the mesh is loaded by the import's side, not the run's
    base = _rss()
    started = time.perf_counter()
    out = surface.projected_run(path, name=name)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss": _rss(), "base": base, "out": str(out),
            "volumes": nibabel.load(path).shape[3], "megabytes": os.path.getsize(path) / 2**20}


def _load(built):
    from analysis.datasets.lpp_loader import load_lpp

    return load_lpp(root=built.root, languages=(built.language,),
                    participants=[built.participant], sections=built.sections,
                    download=False)


def _profile(built):
    from analysis.config import get_profile

    return get_profile("lpp", {"languages": [built.language],
                               "sections": list(built.sections)})


def _responses(participant, n_scans: int, tr: float, profile):
    """``analysis.scores.responses``, whichever of its signatures the package has."""
    import inspect

    from analysis import scores

    names = inspect.signature(scores.responses).parameters
    extra = {"tr": tr, "profile": profile}
    return scores.responses(participant, n_scans, **{k: v for k, v in extra.items()
                                                      if k in names})


def step_responses(built) -> dict:
    import numpy as np

    from analysis.datasets import lpp

    base = _rss()
    started = time.perf_counter()
    dataset = _load(built)
    loaded = time.perf_counter()
    participant = dataset.participants[0]
    n_scans = sum(s.n_scans for s in dataset.stimuli[built.language])
    Y = _responses(participant, n_scans, lpp.TR, _profile(built))
    done = time.perf_counter()
    return {"load": loaded - started, "seconds": done - loaded, "rss": _rss(), "base": base,
            "shape": Y.shape, "dead": int(np.isnan(Y).all(axis=0).sum())}


def step_fit(built) -> dict:
    from analysis import encoding, scores

    timings: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return wrapper

    dataset = _load(built)
    profile = _profile(built)
    scores.responses = timed("responses", scores.responses)
    encoding.score_layers = timed("fit", encoding.score_layers)
    base = _rss()
    started = time.perf_counter()
    result = scores.layer_scores(dataset, profile, built.model, built.language,
                                 layers=[built.layer], null=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, **timings, "rss": _rss(), "base": base,
            "scores": result.scores[0, 0], "n_scans": sum(
                s.n_scans for s in dataset.stimuli[built.language])}


def tiny_model(folder: Path) -> str:
    """A miniature random wav2vec 2.0 (8 channels, 2 blocks of width 16), for quick checks."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        Wav2Vec2Model(Wav2Vec2Config(
            conv_dim=(8,) * 7, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=32, num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=4, vocab_size=8)).save_pretrained(folder)
    return str(folder)


def main() -> None:
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=" ".join(summary.split()), epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="folder of the participant and the "
                        "analysis's data home (kept); default: a temporary one, deleted")
    parser.add_argument("--participant", default="EN057")
    parser.add_argument("--sections", type=int, nargs="+", default=list(range(1, 10)))
    parser.add_argument("--voxel", type=float, default=2.0,
                        help="voxel size (mm); the grid spans the corpus's box (2: 73x90x74)")
    parser.add_argument("--model", default="random",
                        help="model whose layer drives the spheres (default: %(default)s, "
                             "wav2vec 2.0 Base with random weights)")
    parser.add_argument("--tiny", action="store_true",
                        help="use a miniature random wav2vec 2.0 instead (quick checks)")
    parser.add_argument("--layer", type=int, default=4,
                        help="layer planted and fitted (default %(default)s: convolutional, "
                             "512 units in Base)")
    parser.add_argument("--gain", type=float, help="signal SD in noise SDs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-threads", type=int, default=1,
                        help="torch threads of the model's features while building (default: "
                             "%(default)s, faster than two on cores shared with other work; "
                             "0: torch's default)")
    args = parser.parse_args()

    work = args.root or Path(tempfile.mkdtemp(prefix="fullsize-lpp-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["ANALYSIS_DATA_HOME"] = str(work / "data")
    model = tiny_model(work / "tiny-model") if args.tiny else args.model
    options = {"participant": args.participant, "sections": tuple(args.sections),
               "voxel": args.voxel, "model": model, "layer": args.layer, "seed": args.seed}
    if args.gain is not None:
        options["gain"] = args.gain
    print(f"machine: {os.cpu_count()} CPUs; participant {args.participant}, sections "
          f"{args.sections}, {args.voxel:g} mm voxels, layer {args.layer} of {model}; "
          f"files under {work}")
    try:
        report(work, options, args.build_threads)
    finally:
        if args.root is None:
            shutil.rmtree(work, ignore_errors=True)


def report(work: Path, options: dict, threads: int) -> None:
    import numpy as np

    from analysis.datasets import lpp

    build = in_child(step_build, str(work / "lpp"), options, threads)
    built = build["built"]
    os.environ["ANALYSIS_LPP_INDEX"] = str(built.index)
    parts = build["parts"]
    print(f"\nbuilt in {build['seconds']:.0f} s (stimuli {parts['stimuli']:.0f} s, designs "
          f"of {built.model} {parts['designs']:.0f} s, runs {parts['runs']:.0f} s); peak "
          f"RSS {build['rss']:.2f} GiB; grid {built.grid}, run offsets "
          f"{', '.join(f'{o:.0f}' for o in built.offsets)}")

    rows = []
    labels = {k: Path(p).name.split("_run-")[1].split("_")[0]
              for k, p in zip(built.sections, built.runs)}
    for k, path in zip(built.sections, built.runs):
        out = in_child(step_project, str(path), f"sub-{built.participant}_run-{labels[k]}")
        rows.append((f"projection, section {k} (run-{labels[k]}, {out['volumes']} volumes, "
                     f"{out['megabytes']:.0f} MB)", out["seconds"], out["rss"], out["base"]))
    projection = rows[:]
    clean = in_child(step_responses, built)
    fit = in_child(step_fit, built)
    n_scans = fit["n_scans"]

    print(f"\n{'step':<62} {'time (s)':>9} {'peak RSS (GiB)':>15} {'after imports':>14}")
    for name, seconds, rss, base in rows:
        print(f"{name:<62} {seconds:9.1f} {rss:15.2f} {base:14.2f}")
    times = np.array([r[1] for r in projection])
    print(f"{'projection per run: mean (max)':<62} {times.mean():9.1f} "
          f"{max(r[2] for r in projection):15.2f}   (max {times.max():.1f} s)")
    print(f"{'projection per participant (' + str(len(rows)) + ' runs)':<62} "
          f"{times.sum():9.1f}")
    print(f"{'load_lpp per participant, runs projected already':<62} {clean['load']:9.1f}")
    print(f"{'responses per participant (cleaning, ' + str(n_scans) + ' scans)':<62} "
          f"{clean['seconds']:9.1f} {clean['rss']:15.2f} {clean['base']:14.2f}")
    print(f"{'layer_scores per participant, layer ' + str(built.layer):<62} "
          f"{fit['seconds']:9.1f} {fit['rss']:15.2f} {fit['base']:14.2f}")
    print(f"{'  of which responses (cleaning)':<62} {fit.get('responses', np.nan):9.1f}")
    print(f"{'  of which the fit (score_layers, one layer)':<62} {fit.get('fit', np.nan):9.1f}")
    total = times.sum() + clean["load"] + fit["seconds"]
    print(f"{'per participant: projections + load_lpp + layer_scores':<62} {total:9.1f}")
    print(f"responses: {clean['shape']}, {clean['dead']} vertices without signal; "
          f"{lpp.TR:g} s TR")

    table = built.localise(fit["scores"])
    print(f"\n{'sphere':<22} {'MNI centre':>18} {'nearest vertex':>15} {'best vertex':>12} "
          f"{'distance':>9} {'best r':>7} {'mean r <= 6 mm':>15} {'mean r > 30 mm':>15}")
    for row in table.itertuples():
        centre = "(" + ", ".join(f"{c:g}" for c in row.centre) + ")"
        print(f"{row.sphere:<22} {centre:>18} {row.nearest_mm:12.1f} mm {row.best_vertex:12d} "
              f"{row.best_mm:6.1f} mm {row.best_score:7.3f} {row.near_mean:15.3f} "
              f"{row.far_mean:15.3f}")


if __name__ == "__main__":
    main()
