import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from analysis import cli, config, encoding, fitting, jobs, pipeline
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

    def __call__(self) -> str:
        counter = self.folder / f"{self.name}.calls"
        calls = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(calls))
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


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="executor='cloud'"):
        jobs.run_jobs([], "cloud")
    with pytest.raises(ValueError, match="parallel=0"):
        jobs.run_jobs([], "joblib", parallel=0)
    assert cli.EXECUTORS == jobs.EXECUTORS
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--help"])
    assert exit_.value.code == 0


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory):
    """A second tiny wav2vec 2.0 (another seed), as a second model of the registry."""
    from conftest import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("other-model"), seed=1)


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
    designs = fitting.load_designs(cache, plan.features[0].key)
    assert isinstance(designs.layer(3), np.memmap) and designs.n_layers == 9
    np.testing.assert_array_equal(designs.layer(3, null=True),
                                  np.roll(designs.layer(3), designs.n_scans // 2, axis=0))
    products = {job.name: {"scores": cache.load(fitting.SCORES, job.key)["scores"],
                           "null_scores": cache.load(fitting.SCORES,
                                                     fitting.null_key(job.key))["scores"]}
                for job in plan.fits}

    # the notebooks' call assembles the jobs' products: nothing is fitted again
    def fail(*args, **kwargs):
        raise AssertionError("a cached product was recomputed")

    with monkeypatch.context() as patched:
        patched.setattr(encoding, "score_layers", fail)
        assembled = pipeline.layer_scores(dataset, spec, names[1], "fr")
    assert assembled.participants == ["sub-FR001", "sub-FR002"]

    # the in-process run, from scratch in another cache, gives the same scores (fitting in
    # this process as each job did in its own: a vertex with a near-tie of alphas may pick
    # another alpha when the sums run in another order)
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("ANALYSIS_N_JOBS", "1")
    for model in names:
        reference = pipeline.layer_scores(dataset, spec, model, "fr")
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


def test_designs_are_memory_mapped_and_a_corrupted_one_is_recomputed(tiny_world,
                                                                     tiny_model_dir, caplog):
    stimuli = tiny_world.stimuli["en"]
    cache = Cache(config.cache_dir())
    key = fitting.design_key(str(tiny_model_dir), stimuli)
    designs = fitting.layer_designs(str(tiny_model_dir), key, stimuli, cache)
    assert designs.n_layers == 9 and designs.n_scans == sum(s.n_scans for s in stimuli)
    layer = designs.layer(8)
    assert isinstance(layer, np.memmap) and layer.dtype == np.float32
    np.testing.assert_allclose(layer.std(0), 1, atol=1e-4)  # z-scored regressors
    with pytest.raises(ValueError, match="layer 9 does not exist"):
        designs.layer(9)

    before = np.array(designs.layer(4))
    (designs.folder / "layer04.npy").write_bytes(b"half")
    with caplog.at_level(logging.WARNING, logger="analysis"):
        assert fitting.load_designs(cache, key) is None
    assert "designs" in caplog.text and "corrupted" in caplog.text
    again = fitting.layer_designs(str(tiny_model_dir), key, stimuli, cache)
    np.testing.assert_array_equal(again.layer(4), before)
