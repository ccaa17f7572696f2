"""Command line: ``python -m analysis <command> [options]``; ``--help`` on each command."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from analysis import jobs
from analysis.baselines import BASELINES
from analysis.book import BookError, build_book, set_repository
from analysis.config import PROFILES, check_positive_int, get_profile
from analysis.datasets import download, load_dataset, narratives_datalad, narratives_download
from analysis.datasets.lpp import CorpusError
from analysis.jobs import EXECUTORS
from analysis.models import REGISTRY


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Reproduce Millet et al. (2022): speech models against the brain.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every step (default: steps and warnings of note)")
    commands = parser.add_subparsers(dest="command", required=True)

    profile_help = ("world the notebooks run in: " + "; ".join(
        f"{name} = {spec.description}" for name, spec in PROFILES.items())
        + " (default: %(default)s)")
    book = commands.add_parser(
        "book", help="execute the figure notebooks and build the HTML book",
        description="Execute every notebook of _toc.yml with papermill under one profile, "
                    "then build the HTML book (warnings are errors) into _build/html.")
    book.add_argument("--profile", default="demo", choices=sorted(PROFILES), help=profile_help)
    book.add_argument("--figures", nargs="+", metavar="NAME",
                      help="only execute these notebooks (e.g. fig3); the others are reused "
                           "from an earlier run (default: all)")
    book.add_argument("--force", action="store_true",
                      help="execute notebooks even when an executed copy with the same "
                           "source, parameters and package code exists")
    book.add_argument("--no-html", dest="html", action="store_false",
                      help="execute the notebooks but do not build the HTML")
    book.add_argument("--set-repository", metavar="URL",
                      help="publish from another repository: rewrite repository.url in "
                           "_config.yml (the Binder and Colab buttons derive from it), "
                           "CITATION.cff, README.md and the Colab cell of every notebook to "
                           "URL (https://github.com/ORG/REPO), then stop")

    world = commands.add_parser(
        "world", help="build (or verify) the demo world",
        description="Synthesise the demo story and simulate its listeners into the data "
                    "home ($ANALYSIS_DATA_HOME, default data/), unless already built.")
    world.add_argument("--participants", type=int, default=None,
                       help="simulated participants per language (default: the demo "
                            "profile's)")
    fetch = commands.add_parser(
        "fetch", help="download corpus files (Le Petit Prince, Narratives), verified and "
                      "resumable",
        description="Download the files of a corpus that the analyses need into <data "
                    "home>/<corpus>: Le Petit Prince (lpp, OpenNeuro ds003643) or Narratives "
                    "(narratives, OpenNeuro ds002345 for the raw files, its DataLad release "
                    "for the derivatives and word alignments). Raw files: size and MD5 checked "
                    "against the project's checksum list, interrupted files resumed, files "
                    "already present skipped; DataLad files: checked by git-annex against "
                    "their keys. The total size is shown before anything is downloaded.")
    fetch.add_argument("dataset", choices=["lpp", "narratives"],
                       help="the corpus to fetch: lpp or narratives")
    fetch.add_argument("--languages", nargs="+", choices=["en", "fr", "cn"], metavar="LANG",
                       help="lpp: languages, en, fr, cn (default: those of --participants, "
                            "else all three)")
    fetch.add_argument("--participants", nargs="+", metavar="ID",
                       help="participant ids, e.g. EN057 sub-FR001 (lpp) or 001 sub-002 "
                            "(narratives) (default: the first ones of each language, or of "
                            "each task, as many as the profile analyses)")
    fetch.add_argument("--tasks", nargs="+", metavar="TASK",
                       help="narratives: task labels, e.g. pieman milkyway (default: every "
                            "task but the scrambled notthefall* and schema, or every task of "
                            "the --participants named)")
    fetch.add_argument("--profile", default="lpp", choices=["lpp", "paper"],
                       help="whose participants to fetch when --participants is not given: "
                            "lpp = the first %d of each language (lpp) or task (narratives), "
                            "paper = all but those the profile excludes (%s) (default: "
                            "%%(default)s)"
                            % (PROFILES["lpp"].n_participants,
                               ", ".join(PROFILES["paper"].excluded) or "none"))
    fetch.add_argument("--sections", nargs="+", type=int, choices=range(1, 10), metavar="K",
                       help="lpp: story sections, 1-9 (default: all)")
    fetch.add_argument("--kinds", nargs="+", choices=sorted(set(download.KINDS)
                                                            | set(narratives_download.KINDS)),
                       metavar="KIND",
                       help="lpp: bold = preprocessed runs (MNI), stimuli = the WAVs, "
                            "annotations = TextGrids and word tables, top = participants.tsv "
                            "and other top-level files (default: all four); narratives: top = "
                            "participants.tsv, other top-level files and code/*.json, raw = "
                            "each scan's events and sidecar, stimuli = the WAVs (from the "
                            "bucket), bold = afni-nosmooth fsaverage6 surface time series, "
                            "atlas = FreeSurfer fsaverage6 Destrieux labels, alignments = "
                            "Gentle word timings (from the DataLad release) (default: all six)")
    fetch.add_argument("--data-home", type=Path, metavar="DIR",
                       help="data home; files go to DIR/<corpus> (default: "
                            "$ANALYSIS_DATA_HOME, else data/ in the project)")
    fetch.add_argument("--base-url", metavar="URL",
                       help="where the corpus's raw files are served (default: "
                            "$ANALYSIS_LPP_BASE_URL or $ANALYSIS_NARRATIVES_BASE_URL, else "
                            "https://s3.amazonaws.com/openneuro.org/ds003643 or ds002345)")
    fetch.add_argument("--datalad-source", metavar="URL",
                       help="narratives: the DataLad release to clone (default: "
                            "$ANALYSIS_NARRATIVES_DATALAD, else %s)" % narratives_datalad.SOURCE)
    fetch.add_argument("--verify", action="store_true",
                       help="re-hash files already present (default: their size is checked; "
                            "every file was hashed when it was downloaded)")
    fetch.add_argument("--retries", type=int, default=5,
                       help="attempts per file on connection errors, with exponential "
                            "backoff (default: %(default)s)")
    fetch.add_argument("--dry-run", action="store_true",
                       help="list what would be downloaded and its size, download nothing")
    _add_run(commands, profile_help)
    return parser


def _add_run(commands, profile_help: str) -> None:
    run = commands.add_parser(
        "run", help="score every participant under every model, as independent jobs",
        description="Plan one feature job per model and language and one fit job per "
                    "participant and model, then run those whose cached product is missing "
                    "(feature jobs first) with joblib or submitit; a failed job is retried "
                    "once, then reported with its log. The notebooks then assemble the "
                    "products.")
    run.add_argument("--profile", default="paper", choices=sorted(PROFILES), help=profile_help)
    run.add_argument("--models", nargs="+", metavar="MODEL",
                     help="registry names, local folders, hub ids, native or non-native "
                          f"(default: every registered model: {', '.join(REGISTRY)})")
    run.add_argument("--languages", nargs="+", choices=["en", "fr", "cn"], metavar="LANG",
                     help="en, fr, cn (default: the profile's)")
    run.add_argument("--baselines", nargs="+", default=[], choices=BASELINES, metavar="NAME",
                     help="also score these model-free baselines like a layer, one job per "
                          f"participant: {', '.join(BASELINES)} (default: none)")
    run.add_argument("--executor", default="local", choices=EXECUTORS,
                     help="local = submitit's local executor, slurm = submitit on SLURM, "
                          "joblib = worker processes here, inline = this process "
                          "(default: %(default)s)")
    run.add_argument("--parallel", type=int, metavar="N",
                     help="jobs at once (default: one per CPU; slurm: unlimited)")
    run.add_argument("--cpus-per-job", type=int, metavar="N",
                     help="layer fits in parallel inside a job (default: CPUs / --parallel)")
    run.add_argument("--folder", type=Path, metavar="DIR",
                     help="job logs (default: <build dir>/jobs)")
    run.add_argument("--params", nargs="+", default=[], metavar="KEY=VALUE",
                     help="submitit parameters (local, slurm), e.g. slurm_partition=gpu "
                          "gpus_per_node=1 timeout_min=120 mem_gb=32 (integers are read as "
                          "such)")
    run.add_argument("--dry-run", action="store_true",
                     help="list the jobs to run, run nothing")


def _run(args) -> int:
    try:
        params = {}
        for item in args.params:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"--params {item!r} must be KEY=VALUE.")
            params[key] = int(value) if value.isdigit() else value
        spec = get_profile(args.profile)
        dataset = load_dataset(spec, languages=args.languages)
        plan = jobs.plan(dataset, spec, args.models, baselines=args.baselines)
        print(plan.summary())
        if args.dry_run:
            features, fits = plan.missing()
            for job in features + fits:
                print(f"  {job.name}")
            return 0
        ran = jobs.run_jobs(plan, args.executor, folder=args.folder, parallel=args.parallel,
                            cpus_per_job=args.cpus_per_job, params=params)
    except (ValueError, jobs.JobError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"done: {len(ran)} jobs run; {plan.summary()}")
    return 0


def _fetch(args) -> int:
    other = {"lpp": {"--tasks": args.tasks, "--datalad-source": args.datalad_source},
             "narratives": {"--languages": args.languages, "--sections": args.sections}}
    known = narratives_download.KINDS if args.dataset == "narratives" else download.KINDS
    kinds = args.kinds or known
    wrong = [option for option, given in other[args.dataset].items() if given is not None]
    wrong += [f"--kinds {kind}" for kind in kinds if kind not in known]
    if wrong:
        print(f"error: {', '.join(wrong)}: not an option of `fetch {args.dataset}` (see "
              "--help).", file=sys.stderr)
        return 2
    if args.dataset == "narratives":
        return _fetch_narratives(args, kinds)
    try:
        spec = PROFILES[args.profile]
        files = download.plan_lpp(args.languages, args.participants, spec.n_participants,
                                  args.sections or range(1, 10), kinds,
                                  excluded=spec.excluded)
    except (ValueError, download.DownloadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    dest = download.corpus_root(args.data_home)
    todo = download.missing(files, dest, verify=args.verify)
    print(f"{len(files)} files, {download.human_size(sum(f.size for f in files))}; "
          f"to download: {len(todo)} files, "
          f"{download.human_size(sum(f.size for f in todo))} into {dest}")
    if args.dry_run:
        for f in todo:
            print(f"  {f.path}\t{download.human_size(f.size)}")
        return 0
    try:
        download.fetch(todo, dest, args.base_url, retries=args.retries, check=False)
    except download.DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"done: {dest}")
    return 0


def _fetch_narratives(args, kinds) -> int:
    """``fetch narratives``: raw files from the bucket, then the DataLad release's files."""
    raw, release, size = narratives_download, narratives_datalad, download.human_size
    dest, clone = raw.corpus_root(args.data_home), release.clone_root(args.data_home)
    try:
        spec = PROFILES[args.profile]
        plan = raw.plan(args.participants, args.tasks, spec.n_participants, kinds)
        if plan.derived and not args.dry_run:
            release.check_tools()
        excluded = raw.excluded_tasks(dest)
        if excluded is None and args.participants is None and not args.dry_run:
            # the authors' exclusions are chosen around: the top-level files come first
            raw.fetch_raw(raw.plan(kinds=["top"]).raw, dest, args.base_url,
                          retries=args.retries, progress=False)
            excluded = raw.excluded_tasks(dest)
        if excluded:
            plan = raw.plan(args.participants, args.tasks, spec.n_participants, kinds,
                            excluded=excluded)
            print(f"left out: the scans of {len(excluded)} listener-tasks that the corpus's "
                  f"authors excluded ({raw.narratives.EXCLUSIONS})")
    except (ValueError, download.DownloadError, CorpusError) as error:
        print(f"error: {error}", file=sys.stderr)
        # a download that failed: 1; a request that cannot be met as asked: 2
        failed = (isinstance(error, download.DownloadError)
                  and not isinstance(error, narratives_datalad.ToolMissing))
        return 1 if failed else 2
    todo = download.missing(plan.raw, dest, verify=args.verify)
    unlisted = sum(f.size == download.UNKNOWN_SIZE for f in todo)
    print(f"raw files: {len(plan.raw)} files, {size(sum(max(f.size, 0) for f in plan.raw))};"
          f" to download: {len(todo)} files, {size(sum(max(f.size, 0) for f in todo))}"
          + (f" (of which {unlisted} have no size nor MD5 in the checksum list: checked "
             "against the server's Content-Length only)" if unlisted else "")
          + f" into {dest}")
    try:
        if plan.derived and args.dry_run:
            print(f"DataLad release: {len(plan.derived)} files (their sizes are read from the "
                  f"release once it is cloned into {clone}; run without --dry-run)")
        elif plan.derived:
            dataset, derived, total = release.prepare(plan.derived, clone, args.datalad_source,
                                                      verify=args.verify)
            print(f"DataLad release: {len(plan.derived)} files; to get: {len(derived)} files, "
                  f"{size(total)} into {clone}")
        if args.dry_run:
            for f in todo:
                print(f"  {f.path}\t{size(f.size) if f.size >= 0 else 'size unknown'}")
            for path in plan.derived:
                print(f"  {path}\t(DataLad)")
            return 0
        raw.fetch_raw(todo, dest, args.base_url, retries=args.retries, check=False)
        if plan.derived:
            release.get(dataset, derived, total)
            release.link(dest, clone)
    except download.DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"done: {dest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("analysis").setLevel(logging.INFO)
    if args.command == "book":
        if args.set_repository:
            try:
                changed = set_repository(args.set_repository)
            except (BookError, ValueError) as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            print("\n".join(f"updated {path}" for path in changed) or "nothing to change")
            return 0
        try:
            out = build_book(args.profile, args.figures, force=args.force, html=args.html)
        except (BookError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"done: {out}")
    elif args.command == "world":
        try:
            if args.participants is not None:
                check_positive_int("--participants", args.participants)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        dataset = load_dataset("demo", n_participants=args.participants)
        print(f"demo world ready: {len(dataset.participants)} participants, "
              f"{sum(len(s) for s in dataset.stimuli.values())} sections")
    elif args.command == "fetch":
        return _fetch(args)
    elif args.command == "run":
        return _run(args)
    return 0
