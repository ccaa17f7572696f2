import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from analysis import baselines, cli, config, designs, encoding, jobs, scores
from analysis.cache import Cache
from analysis.datasets import Dataset, Participant, load_dataset


@dataclass(frozen=True)
class Flaky:
    """A task that fails its first ``failures`` calls, counting them in a file."""

    name: str
    folder: Path
    failures: int

    def done(self) -> bool:
        return (self.folder / f"{self.name}.done").exists()

    def __call__(self, n_jobs: int) -> str:
        counter = self.folder / f"{self.name}.calls"
        calls = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(calls))
        (self.folder / f"{self.name}.n_jobs").write_text(
            f"{n_jobs} {os.environ.get('ANALYSIS_N_JOBS')}")
        if calls <= self.failures:
            raise RuntimeError(f"{self.name} broke on call {calls}")
        (self.folder / f"{self.name}.done").touch()
        return self.name


@pytest.mark.parametrize("executor", ["inline", "joblib"])
def test_a_failure_is_retried_once_then_reported_with_its_log(executor, tmp_path, caplog):
    tasks = [Flaky("steady", tmp_path, 0), Flaky("flaky", tmp_path, 1)]
    with caplog.at_level(logging.WARNING, logger="analysis"):
        ran = jobs.run_jobs(tasks, executor, folder=tmp_path / "logs", parallel=2)
    assert ran == ["steady", "flaky"]
    assert (tmp_path / "flaky.calls").read_text() == "2"
    assert (tmp_path / "steady.calls").read_text() == "1"
    assert f"job flaky failed (RuntimeError: flaky broke on call 1); log: " \
           f"{tmp_path / 'logs' / 'flaky.log'}; retrying it once" in caplog.text
    assert "flaky broke on call 1" in (tmp_path / "logs" / "flaky.log").read_text()
    assert jobs.run_jobs(tasks, executor, folder=tmp_path / "logs") == []  # nothing missing

    broken = Flaky("broken", tmp_path, 5)
    with pytest.raises(jobs.JobError, match=r"1 job\(s\) failed twice:\n  broken: RuntimeError: "
                       r"broken broke on call 2\n    log: .*broken\.log"):
        jobs.run_jobs([broken], executor, folder=tmp_path / "logs")
    log_text = (tmp_path / "logs" / "broken.log").read_text()
    assert log_text.count("Traceback") == 2 and (tmp_path / "broken.calls").read_text() == "2"


@pytest.mark.parametrize("executor", ["inline", "joblib"])
def test_each_job_is_told_its_cpus_as_an_argument(executor, tmp_path, monkeypatch):
    monkeypatch.delenv("ANALYSIS_N_JOBS", raising=False)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    shared = [Flaky(name, tmp_path, 0) for name in ("a", "b")]
    jobs.run_jobs(shared, executor, folder=tmp_path / "logs", parallel=2)
    # the CPUs shared among the jobs at once, passed in the call, not through the environment
    assert [(tmp_path / f"{n}.n_jobs").read_text() for n in "ab"] == ["4 None"] * 2
    jobs.run_jobs([Flaky("c", tmp_path, 0)], executor, folder=tmp_path / "logs",
                  cpus_per_job=3)
    assert (tmp_path / "c.n_jobs").read_text() == "3 None"
    assert os.environ.get("ANALYSIS_N_JOBS") is None
    with pytest.raises(ValueError, match="cpus_per_job=0"):
        jobs.run_jobs([Flaky("d", tmp_path, 0)], executor, cpus_per_job=0)


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="executor='cloud'"):
        jobs.run_jobs([], "cloud")
    with pytest.raises(ValueError, match="parallel=0"):
        jobs.run_jobs([], "joblib", parallel=0)
    assert cli.EXECUTORS is jobs.EXECUTORS
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--help"])
    assert exit_.value.code == 0


@pytest.fixture(scope="session")
def other_model_dir(save_tiny_model):
    """A second tiny wav2vec 2.0 (another seed), as a second model of the registry."""
    return save_tiny_model(1)


def quick_lpp():
    return config.get_profile("lpp", {"n_participants": 2, "sections": [1], "n_folds": 2,
                                      "inner_folds": 2, "alphas": [1.0, 100.0, 10000.0]})


def wait_for(path: Path, text: str, timeout: float = 120) -> None:
    start = time.monotonic()
    while not (path.exists() and text in path.read_text()):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{path} never showed {text!r}")
        time.sleep(0.05)


@pytest.mark.slow
def test_job_graph_on_submitit_local_resumes_a_killed_job_and_equals_in_process(
        lpp_bucket, tiny_model_dir, other_model_dir, tmp_path, monkeypatch):
    import submitit

    spec = quick_lpp()
    dataset = load_dataset(spec, languages=["fr"])
    names = [str(tiny_model_dir), str(other_model_dir)]
    plan = jobs.plan(dataset, spec, names)
    assert [len(stage) for stage in plan.missing()] == [2, 4]
    assert {job.name.split("-")[-1] for job in plan.fits} == {"FR001", "FR002"}

    # a fit job killed while it runs leaves no product behind
    victim = plan.fits[1]
    executor = submitit.AutoExecutor(folder=tmp_path / "killed" / "%j", cluster="local")
    executor.update_parameters(timeout_min=10)
    # cancel() interrupts the job with SIGINT, which a test run started in the background
    # inherits as ignored (and so would the job): give the job Python's default handler
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        handle = executor.submit(jobs.run_task, victim, 1)
    finally:
        signal.signal(signal.SIGINT, previous)
    wait_for(Path(handle.paths.stderr), f"job {victim.name}: started")
    handle.cancel()
    handle.wait()
    assert handle.state != "FINISHED" and not victim.done()

    ran = jobs.run_jobs(plan, "local", folder=tmp_path / "logs", parallel=2, poll=0.2)
    assert set(job.name for job in plan.fits) <= set(ran)  # the victim's included
    assert plan.missing() == ([], [])
    assert jobs.run_jobs(plan, "local", folder=tmp_path / "logs") == []  # nothing resubmitted

    cache = Cache(config.cache_dir())
    built = designs.load_designs(cache, plan.features[0].key)
    assert isinstance(built.layer(3), np.memmap) and built.n_layers == 9
    np.testing.assert_array_equal(built.layer(3, null=True),
                                  np.roll(built.layer(3), built.n_scans // 2, axis=0))
    products = {job.name: {"scores": cache.load(scores.SCORES, job.key)["scores"],
                           "null_scores": cache.load(scores.SCORES,
                                                     scores.null_key(job.key))["scores"]}
                for job in plan.fits}

    # the notebooks' call assembles the jobs' products: nothing is fitted again
    def fail(*args, **kwargs):
        raise AssertionError("a cached product was recomputed")

    with monkeypatch.context() as patched:
        patched.setattr(encoding, "score_layers", fail)
        assembled = scores.layer_scores(dataset, spec, names[1], "fr")
    assert assembled.participants == ["sub-FR001", "sub-FR002"]

    # the in-process run, from scratch in another cache, gives the same scores (fitting in
    # this process as each job did in its own: a vertex with a near-tie of alphas may pick
    # another alpha when the sums run in another order); one model stands for both
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "elsewhere"))
    for model in names[1:]:
        reference = scores.layer_scores(dataset, spec, model, "fr", n_jobs=1)
        assert reference.scores.shape == (2, 9, 20484)
        assert np.isfinite(reference.scores).mean() > 0.5
        for i, participant in enumerate(reference.participants):
            [job] = [j for j in plan.fits
                     if j.features.model == model and j.participant.id == participant]
            np.testing.assert_allclose(products[job.name]["scores"], reference.scores[i],
                                       rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(products[job.name]["null_scores"],
                                       reference.null_scores[i], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(assembled.scores, np.stack(
        [products[j.name]["scores"] for j in plan.fits if j.features.model == names[1]]))

    # a job that fails twice is reported with its submitit log
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "data"))
    first = dataset.participants[0]
    np.save(tmp_path / "short.npy", np.load(first.bold_paths[0])[:300])  # 9 scans missing
    short = Participant(first.id, first.language, (tmp_path / "short.npy",))
    broken = jobs.plan(Dataset("lpp", dataset.stimuli, [short], False), spec, names[:1])
    with pytest.raises(jobs.JobError, match=r"fit-.*-sub-FR001: ValueError: sub-FR001: its "
                                            r"BOLD has 300 scans.*\n    log: .*\.err"):
        jobs.run_jobs(broken, "local", folder=tmp_path / "logs", poll=0.2)


def test_baseline_jobs_score_each_group_of_listeners_once_for_the_chapters(
        two_groups, tiny_profile, tmp_path, monkeypatch):
    world, _, partial = two_groups
    plan = jobs.plan(world, tiny_profile, [], languages=["en"], null=False,
                     baselines=["envelope"])
    assert not plan.features
    assert [job.name for job in plan.fits] == [f"fit-envelope-{p.id}"
                                               for p in world.participants_of("en")]
    assert [len(job.stimuli) for job in plan.fits] == [len(world.stimuli["en"]), 2]
    jobs.run_jobs(plan, "inline", folder=tmp_path)
    assert all(job.done() for job in plan.fits)
    monkeypatch.setattr(scores.encoding, "score_layers",
                        lambda *a, **k: pytest.fail("refitted a baseline a job had scored"))
    fitted = baselines.baseline_scores(world, tiny_profile, "envelope", "en")
    assert fitted.shape == (2, scores.N_VERTICES)
    with pytest.raises(ValueError, match="baseline='loudness'"):
        jobs.plan(world, tiny_profile, [], baselines=["loudness"])
