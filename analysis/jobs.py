"""The full reproduction as a graph of independent jobs, run by joblib or submitit.

Three kinds of job, each writing one cached product (see :mod:`analysis.designs` and
:mod:`analysis.scores`):

- :class:`FeatureJob`, one per model and language: activations, regressors and the
  memory-mapped designs of every layer (the GPU part);
- :class:`FitJob`, one per participant and model: that participant's scores for every layer
  and its null (the CPU part), reading the designs of its language;
- :class:`BaselineJob`, one per participant and model-free baseline
  (:mod:`analysis.baselines`, e.g. the acoustic one): its regressors from the audio or the
  timing tables, then the participant's scores, by the code and cache of a layer's.

:func:`plan` lists the jobs of a profile and which are done (their product is in the cache);
:func:`run_jobs` runs the missing ones, feature jobs first, through an executor:

- ``"local"``: submitit's local executor, each job a process of its own, ``parallel`` at a
  time, its log in ``<folder>/<job id>/``;
- ``"slurm"``: submitit on a SLURM cluster (one job array per stage; submitit ``params``
  such as ``{"slurm_partition": "gpu", "gpus_per_node": 1}``);
- ``"joblib"``: ``parallel`` worker processes of joblib on this machine;
- ``"inline"``: one after the other in this process (for debugging).

A job that fails is logged with the path of its log and retried once; a job that fails twice
raises :class:`JobError`, listing each failed job and its log. A rerun submits only what is
missing, so killed or failed work resumes where it stopped.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from analysis import baselines as baselines_module
from analysis import designs, models, scores
from analysis.cache import Cache, key_digest
from analysis.config import Profile, build_dir, cache_dir, check_choice, check_positive_int
from analysis.datasets import Dataset, Participant, Stimulus

log = logging.getLogger(__name__)

EXECUTORS = ("local", "slurm", "joblib", "inline")
SLURM_TIMEOUT_MIN = 240  # per job; a fit of 19 layers takes well under that on one node
LOCAL_TIMEOUT_MIN = 24 * 60


class JobError(RuntimeError):
    """Jobs failed twice; the message names each one and its log."""


class Task(Protocol):
    """What :func:`run_jobs` runs: a named, picklable callable whose product can be looked up."""

    name: str

    def done(self) -> bool: ...

    def __call__(self, n_jobs: int) -> str:
        """Compute the product, fitting with ``n_jobs`` processes; return where it lies."""


@dataclass(frozen=True, eq=False)  # jobs are told apart by identity
class FeatureJob:
    """Designs of one model for one language (activations and regressors on the way).

    Attributes
    ----------
    model : resolved model name (registry name, local folder or hub id)
    language : the stimuli's language
    stimuli : the sections, in order
    key : :func:`analysis.designs.design_key` of ``model`` and ``stimuli``
    cache_root : the cache folder (fixed when planned, so workers need no environment)
    group : tells apart the jobs of one language whose listeners heard different stimuli
        (Narratives), e.g. ``"-3f2a9c01"``; empty for a language of one group
    """

    model: str
    language: str
    stimuli: tuple[Stimulus, ...]
    key: dict = field(repr=False)
    cache_root: Path
    group: str = ""

    @property
    def name(self) -> str:
        return f"features-{_label(self.model)}-{self.language}{self.group}"

    def done(self) -> bool:
        return designs.load_designs(Cache(self.cache_root), self.key) is not None

    def __call__(self, n_jobs: int = 1) -> str:
        built = designs.build_designs(self.model, self.key, self.stimuli, Cache(self.cache_root))
        return str(built.folder)


@dataclass(frozen=True, eq=False)  # jobs are told apart by identity
class FitJob:
    """Scores of one participant under one model: the product of
    :func:`analysis.scores.participant_scores`.

    Attributes
    ----------
    participant : the listener
    features : the feature job of the participant's language and this model
    profile : encoding settings (folds, alphas, alpha selection, precision)
    key : :func:`analysis.scores.scores_key` of these inputs
    layers, null : as in :func:`analysis.scores.layer_scores`
    """

    participant: Participant
    features: FeatureJob
    profile: Profile
    key: dict = field(repr=False)
    layers: tuple[int, ...] | None = None
    null: bool = True

    @property
    def name(self) -> str:
        return f"fit-{_label(self.features.model)}-{self.participant.id}"

    def done(self) -> bool:
        return scores.scores_done(Cache(self.features.cache_root), self.key, self.null)

    def __call__(self, n_jobs: int = 1) -> str:
        cache = Cache(self.features.cache_root)
        built = designs.build_designs(self.features.model, self.features.key,
                                      self.features.stimuli, cache)
        scores.participant_scores(self.participant, built, self.profile, cache,
                                  scores.run_trs(self.features.stimuli), self.layers, self.null,
                                  key=self.key, n_jobs=n_jobs)
        return str(cache.paths(scores.SCORES, self.key)[0])


@dataclass(frozen=True, eq=False)
class BaselineJob:
    """Scores of one participant under one baseline: the product of
    :func:`analysis.scores.participant_scores` on the baseline's one-layer designs.

    Attributes
    ----------
    participant : the listener
    baseline : one of :data:`analysis.baselines.BASELINES`
    stimuli : what the participant heard, in order
    profile : encoding settings
    key : :func:`analysis.scores.scores_key` of these inputs
    cache_root : the cache folder
    null : as in :func:`analysis.scores.layer_scores`
    """

    participant: Participant
    baseline: str
    stimuli: tuple[Stimulus, ...]
    profile: Profile
    key: dict = field(repr=False)
    cache_root: Path
    null: bool = True

    @property
    def name(self) -> str:
        return f"fit-{self.baseline}-{self.participant.id}"

    def done(self) -> bool:
        return scores.scores_done(Cache(self.cache_root), self.key, self.null)

    def __call__(self, n_jobs: int = 1) -> str:
        cache = Cache(self.cache_root)
        built = baselines_module.baseline_designs_of(self.stimuli, self.baseline)
        scores.participant_scores(self.participant, built, self.profile, cache,
                                  scores.run_trs(self.stimuli), [0], self.null, key=self.key,
                                  n_jobs=n_jobs)
        return str(cache.paths(scores.SCORES, self.key)[0])


@dataclass(frozen=True)
class Plan:
    """Every job of one run: the feature jobs, then the fit jobs that read their products
    (and the baselines' fit jobs, which need no feature job)."""

    features: list[FeatureJob]
    fits: list[FitJob | BaselineJob]

    def missing(self) -> tuple[list[FeatureJob], list[FitJob | BaselineJob]]:
        """The jobs whose product is not in the cache (checked now)."""
        return [j for j in self.features if not j.done()], [j for j in self.fits if not j.done()]

    def summary(self) -> str:
        features, fits = self.missing()
        return (f"{len(self.features)} feature jobs ({len(features)} to run), "
                f"{len(self.fits)} fit jobs ({len(fits)} to run)")


def plan(dataset: Dataset, profile: Profile, model_names: Sequence[str] | None = None,
         languages: Sequence[str] | None = None, layers: Sequence[int] | None = None,
         null: bool = True, n_components: int | None = None,
         baselines: Sequence[str] = ()) -> Plan:
    """The jobs that score every participant of ``dataset`` under every model (and every
    baseline of ``baselines``).

    Parameters
    ----------
    dataset : e.g. ``load_dataset("paper")`` (every participant of Le Petit Prince)
    profile : encoding settings
    model_names : registry names, local folders, hub ids, or the paper's conditions
        (:data:`analysis.models.CONDITIONS`, resolved per language through the profile's
        ``model_family``); default: every condition
    languages : default: every language of ``dataset``
    layers, null, n_components : as in :func:`analysis.scores.layer_scores`
    baselines : model-free baselines (:data:`analysis.baselines.BASELINES`) scored like a
        layer, one job per participant

    Checksums every stimulus and BOLD file once (their digests are the products' identity).
    """
    model_names = list(models.CONDITIONS) if model_names is None else list(model_names)
    languages = list(dataset.stimuli) if languages is None else list(languages)
    for language in languages:
        check_choice("language", language, list(dataset.stimuli))
    for baseline in baselines:
        baselines_module.check_baseline(baseline)
    root = cache_dir()
    features, fits, digests = [], [], {}

    def digest_of(participant: Participant) -> str:  # each BOLD checksummed once
        if participant.id not in digests:
            digests[participant.id] = participant.digest()
        return digests[participant.id]

    for language in languages:
        resolved = dict.fromkeys(models.resolve_condition(m, language, profile.model_family)
                                 for m in model_names)
        for model in resolved:
            models.resolve(model)  # a bad name fails here, not in a worker
            # listeners of the same stimuli share one feature job (one per language of Le
            # Petit Prince; one per set of stories heard in Narratives)
            groups = dataset.groups(language)
            for stimuli, group in groups:
                stimuli = tuple(stimuli)
                key = designs.design_key(model, stimuli, n_components)
                job = FeatureJob(model, language, stimuli, key, root,
                                 f"-{key_digest(key)[:8]}" if len(groups) > 1 else "")
                features.append(job)
                for participant in tqdm(group, desc=f"planning {job.name}", leave=False):
                    key = scores.scores_key(key_digest(job.key), digest_of(participant),
                                             profile, layers, participant.corpus)
                    fits.append(FitJob(participant, job, profile, key,
                                       None if layers is None else tuple(layers), null))
        for baseline in baselines:
            for stimuli, group in dataset.groups(language):
                digest = key_digest(baselines_module.baseline_key(baseline, stimuli))
                for participant in group:
                    key = scores.scores_key(digest, digest_of(participant), profile, [0],
                                            participant.corpus)
                    fits.append(BaselineJob(participant, baseline, tuple(stimuli), profile,
                                            key, root, null))
    return Plan(features, fits)


def run_jobs(jobs: Plan | Iterable[Task], executor: str = "local", *,
             folder: str | os.PathLike | None = None, parallel: int | None = None,
             cpus_per_job: int | None = None, params: dict | None = None,
             poll: float = 2.0) -> list[str]:
    """Run the jobs whose product is missing; retry each failure once.

    Parameters
    ----------
    jobs : a :class:`Plan` (its feature jobs run first), or tasks run as one stage
    executor : ``"local"``, ``"slurm"``, ``"joblib"`` or ``"inline"`` (see the module)
    folder : logs of the jobs (default ``<build dir>/jobs``)
    parallel : jobs at once (default: one per CPU for ``local``/``joblib``; for ``slurm``
        the array's parallelism, default unlimited)
    cpus_per_job : processes fitting layers inside a job (default: the CPUs shared among
        ``parallel`` jobs; on SLURM, ``params["cpus_per_task"]`` or 1)
    params : parameters of ``submitit.AutoExecutor.update_parameters`` (``local`` and
        ``slurm``), e.g. ``{"slurm_partition": "gpu", "gpus_per_node": 1, "timeout_min": 120,
        "mem_gb": 16}``
    poll : seconds between checks of submitted jobs

    Returns
    -------
    names of the jobs that were run (and succeeded)

    Raises
    ------
    JobError
        when some job failed twice, naming each with the path of its log.
    """
    check_choice("executor", executor, EXECUTORS)
    folder = Path(folder) if folder is not None else build_dir() / "jobs"
    cpus = os.cpu_count() or 1
    if parallel is None:
        parallel = {"inline": 1, "slurm": 0}.get(executor, cpus)
    elif executor != "slurm" or parallel:
        check_positive_int("parallel", parallel)
    if cpus_per_job is None:
        cpus_per_job = (int((params or {}).get("cpus_per_task", 1)) if executor == "slurm"
                        else max(1, cpus // max(1, parallel)))
    check_positive_int("cpus_per_job", cpus_per_job)
    stages = [jobs.features, jobs.fits] if isinstance(jobs, Plan) else [list(jobs)]
    ran = []
    for stage in stages:
        todo = [job for job in stage if not job.done()]
        if not todo:
            continue
        log.info("running %d of %d jobs with the %s executor (logs: %s)", len(todo),
                 len(stage), executor, folder)
        failures = _execute(todo, executor, folder, parallel, cpus_per_job, params, poll)
        for job, (log_path, message) in failures.items():
            log.warning("job %s failed (%s); log: %s; retrying it once", job.name, message,
                        log_path)
        if failures:
            failures = _execute(list(failures), executor, folder, parallel, cpus_per_job,
                                params, poll)
        if failures:
            raise JobError(f"{len(failures)} job(s) failed twice:\n" + "\n".join(
                f"  {job.name}: {message}\n    log: {log_path}"
                for job, (log_path, message) in failures.items())
                + "\nFix the cause and run again: only the missing products are computed.")
        ran += [job.name for job in todo]
    return ran


def _execute(todo: list[Task], executor: str, folder: Path, parallel: int, cpus: int,
             params: dict | None, poll: float) -> dict:
    """Run ``todo`` once; return ``{job: (log path, error message)}`` of those that failed."""
    if executor in ("local", "slurm"):
        return _submitit(todo, executor, folder, parallel, cpus, params or {}, poll)
    if executor == "inline":
        outcomes = [_run_logged(job, folder, cpus) for job in tqdm(todo, desc="jobs")]
    else:
        from joblib import Parallel, delayed

        outcomes = list(tqdm(Parallel(n_jobs=parallel, return_as="generator")(
            delayed(_run_logged)(job, folder, cpus) for job in todo), total=len(todo),
            desc="jobs"))
    return {job: (log_path, error) for job, (log_path, error) in zip(todo, outcomes) if error}


def _run_logged(job: Task, folder: Path, cpus: int) -> tuple[Path, str | None]:
    """Run ``job`` with its log written to ``<folder>/<name>.log`` (appended per attempt)."""
    log_path = folder / f"{job.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger("analysis")
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    try:
        package.info("job %s: started", job.name)
        job(cpus)
        package.info("job %s: done", job.name)
        return log_path, None
    except Exception as exc:  # reported with its log, then retried by run_jobs
        package.error("job %s failed:\n%s", job.name, traceback.format_exc())
        return log_path, f"{type(exc).__name__}: {exc}"
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
        handler.close()


def run_task(job: Task, cpus: int) -> str:
    """Entry point of a submitit job: logging to the job's stderr, ``cpus`` fitting
    processes, then ``job(cpus)``."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("analysis").setLevel(logging.INFO)
    log.info("job %s: started", job.name)
    out = job(cpus)
    log.info("job %s: done", job.name)
    return out


def _submitit(todo: list[Task], cluster: str, folder: Path, parallel: int, cpus: int,
              params: dict, poll: float) -> dict:
    import submitit

    executor = submitit.AutoExecutor(folder=folder / "%j", cluster=cluster)
    if cluster == "slurm":
        executor.update_parameters(**{"timeout_min": SLURM_TIMEOUT_MIN, "cpus_per_task": cpus,
                                      **params,
                                      "slurm_array_parallelism": parallel or len(todo)})
    else:  # submitit's local default would kill a job after 2 minutes and hide the GPUs
        executor.update_parameters(**{"timeout_min": LOCAL_TIMEOUT_MIN,
                                      "gpus_per_node": _visible_gpus(), **params})
    queue, running, failures = list(todo), {}, {}
    limit = len(todo) if cluster == "slurm" else parallel
    progress = tqdm(total=len(todo), desc="jobs")
    try:
        while queue or running:
            batch, queue = queue[: limit - len(running)], queue[limit - len(running):]
            if batch:
                with executor.batch() if cluster == "slurm" else contextlib.nullcontext():
                    handles = [executor.submit(run_task, job, cpus) for job in batch]
                for job, handle in zip(batch, handles):
                    log.info("submitted %s as job %s", job.name, handle.job_id)
                    running[handle] = job
            for handle in [h for h in running if h.done()]:
                job = running.pop(handle)
                error = handle.exception()
                if error is not None:
                    failures[job] = (handle.paths.stderr, _last_line(error))
                progress.update()
            if queue or running:
                time.sleep(poll)
    except BaseException:
        if cluster == "local":  # local processes would outlive us; cluster jobs go on
            for handle in running:
                handle.cancel(check=False)
        raise
    finally:
        progress.close()
    return failures


def _visible_gpus() -> int:
    """CUDA devices torch sees here (0 without torch's CUDA build)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _last_line(error: BaseException) -> str:
    """The line of ``error`` that says what went wrong: the last line of the job's traceback
    (submitit's ``FailedJobError`` wraps it between dashed rules, then lists the log paths),
    else the last line of the message."""
    text = str(error)
    parts = text.split("-" * 22)
    if len(parts) >= 3:  # submitit: header, traceback, footer with the log paths
        text = parts[1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__


def _label(model: str) -> str:
    """A short, file-name-safe label of a model name (a folder: its last part and a hash)."""
    if Path(model).is_absolute():
        model = f"{Path(model).name}-{key_digest({'folder': model})[:6]}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
