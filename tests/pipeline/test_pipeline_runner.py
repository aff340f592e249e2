"""The runner on real repositories: real pytest, real subprocesses, real git."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from gitcli import git
from shiplane.pipeline import (
    PipelineRunner,
    RunObserver,
    RunRequest,
    RunSettings,
    RunStatus,
    StepContext,
    StepFailed,
    StepOutputs,
    StepRegistry,
    StepStatus,
    Trigger,
    UnknownEnvironment,
    default_step_registry,
    open_run_store,
    read_service_info,
    run_logged,
    run_pipeline,
)
from shiplane.pipeline.steps import checkout_step, test_step

QUICK_TESTS = RunSettings(test_command=("sh", "-c", "echo 3 passed"))


def _request(repo: Path, **changes) -> RunRequest:
    info = read_service_info(repo)
    return RunRequest(source=str(repo), service=info.name, model=info.model, **changes)


@pytest.fixture
def store(tmp_path):
    made = open_run_store(tmp_path / "state")
    yield made
    made.close()


def test_scaffolded_repo_tests_pass_and_are_recorded(service_repo, tmp_path):
    run = run_pipeline(service_repo, until="test", state_dir=tmp_path / "state")
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    test = run.step("test")
    assert test.status is StepStatus.SUCCEEDED
    assert re.search(r"^\d+ passed in [\d.]+s$", test.summary)
    assert "-m pytest" in test.log and test.summary in test.log
    assert [s.status for s in run.steps[1:]] == [StepStatus.SKIPPED] * 4
    assert run.commit == git(service_repo, "rev-parse", "HEAD")
    assert (run.trigger, run.ref) == (Trigger.MANUAL, "refs/heads/main")
    # recorded in the workspace database, logs included
    store = open_run_store(tmp_path / "state")
    assert store.get(run.id).to_dict() == run.to_dict()
    store.close()
    # the tests wrote nothing into the work tree (the build would tag it -dirty)
    assert git(service_repo, "status", "--porcelain", "--ignored") == ""


def test_a_failing_test_stops_the_run_with_its_log(service_repo, break_a_test, store, tmp_path):
    break_a_test(service_repo)
    runner = PipelineRunner(store, state_dir=tmp_path / "state")
    run = runner.run(_request(service_repo))
    assert run.status is RunStatus.FAILED
    test = run.step("test")
    assert test.status is StepStatus.FAILED
    assert test.summary == "tests failed (exit status 1)"
    assert "refund rounding is off" in test.log
    assert "1 failed" in test.log
    assert run.error == "test: tests failed (exit status 1)"
    for name in ("build", "tag", "push", "deploy"):
        assert run.step(name).status is StepStatus.SKIPPED
        assert run.step(name).summary == "skipped: test failed"
        assert run.step(name).started_at is None
    assert store.get(run.id).step("test").log == test.log


def test_a_step_without_implementation_fails_and_says_so(service_repo, store, tmp_path):
    runner = PipelineRunner(store, state_dir=tmp_path / "state",
                            steps=StepRegistry({"test": test_step}))
    run = runner.run(_request(service_repo, settings=QUICK_TESTS))
    assert run.step("test").status is StepStatus.SUCCEEDED
    assert run.step("test").summary == "3 passed"
    build = run.step("build")
    assert build.status is StepStatus.FAILED
    assert build.summary == "this shiplane has no implementation of the 'build' step"
    assert "use --until to stop before it" in build.log
    assert run.status is RunStatus.FAILED


def tarball_build(context: StepContext) -> StepOutputs:
    """A real (if simple) artifact: a tar of src/, named by its digest."""
    target = context.state_dir / "artifacts" / f"run-{context.run.id}.tar"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w") as archive:
        archive.add(context.workdir / "src", arcname="src")
    digest = "sha256:" + hashlib.sha256(target.read_bytes()).hexdigest()
    context.log.write(f"wrote {target}")
    context.outputs["artifact"] = target
    return StepOutputs(summary=f"archive {digest[:19]}", image_digest=digest,
                       image_reference=f"file://{target}@{digest}", image_tags=["sha-test"])


def tag_from_previous_step(context: StepContext) -> StepOutputs:
    if "artifact" not in context.outputs:
        raise StepFailed("no artifact from the build step")
    return StepOutputs(release_revision=4, image_tags=["1.2.0", "sha-test"])


class Recorder(RunObserver):
    def __init__(self) -> None:
        self.events: list[str] = []

    def run_started(self, run):
        self.events.append(f"run {run.status.value}")

    def step_started(self, run, step):
        self.events.append(f"start {step.name}")

    def log_written(self, run, step, text):
        self.events.append(f"log {step.name}")

    def step_finished(self, run, step):
        self.events.append(f"{step.status.value} {step.name}")

    def run_finished(self, run):
        self.events.append(f"run {run.status.value}")


def test_registered_steps_share_outputs_and_fill_the_run(service_repo, store, tmp_path):
    steps = StepRegistry({"test": test_step, "build": tarball_build,
                          "tag": tag_from_previous_step})
    runner = PipelineRunner(store, state_dir=tmp_path / "state", steps=steps)
    recorder = Recorder()
    run = runner.run(_request(service_repo, until="tag", settings=QUICK_TESTS), recorder)
    assert run.status is RunStatus.SUCCEEDED
    digest = run.image_digest
    assert digest and digest.startswith("sha256:")
    artifact = tmp_path / "state" / "artifacts" / f"run-{run.id}.tar"
    assert digest == "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert run.image_tags == ["1.2.0", "sha-test"] and run.release_revision == 4
    assert store.get(run.id).image_digest == digest
    assert [e for e in recorder.events if not e.startswith("log")] == [
        "run running", "start test", "succeeded test", "start build", "succeeded build",
        "start tag", "succeeded tag", "run succeeded"]
    assert "log test" in recorder.events


def test_a_crashing_step_is_recorded_with_its_traceback(service_repo, store, tmp_path):
    def crash(context: StepContext) -> None:
        {}["missing"]

    runner = PipelineRunner(store, state_dir=tmp_path / "state", steps=StepRegistry({"test": crash}))
    run = runner.run(_request(service_repo))
    assert run.step("test").summary == "unexpected KeyError: 'missing'"
    assert "Traceback" in run.step("test").log
    assert run.status is RunStatus.FAILED


def test_ctrl_c_cancels_the_step_and_the_run(service_repo, store, tmp_path):
    def interrupted(context: StepContext) -> None:
        context.log.write("working")
        raise KeyboardInterrupt

    runner = PipelineRunner(store, state_dir=tmp_path / "state",
                            steps=StepRegistry({"test": test_step, "build": interrupted}))
    with pytest.raises(KeyboardInterrupt):
        runner.run(_request(service_repo, settings=QUICK_TESTS))
    run = store.list()[0]
    assert run.status is RunStatus.CANCELLED
    assert [s.status for s in run.steps] == [
        StepStatus.SUCCEEDED, StepStatus.CANCELLED, StepStatus.CANCELLED,
        StepStatus.CANCELLED, StepStatus.CANCELLED]
    assert run.step("build").log == "working\ncancelled (interrupted)\n"


def test_a_step_that_hangs_is_stopped(service_repo, store, tmp_path):
    settings = RunSettings(test_command=("sh", "-c", "echo starting; sleep 30"), step_timeout=0.5)
    runner = PipelineRunner(store, state_dir=tmp_path / "state")
    run = runner.run(_request(service_repo, settings=settings, until="test"))
    test = run.step("test")
    assert test.summary == "sh did not finish within 0.5 s and was stopped"
    assert "starting" in test.log
    assert test.seconds < 10


def test_checkout_runs_the_pushed_commit_in_a_work_dir(service_repo, break_a_test, store, tmp_path):
    good = git(service_repo, "rev-parse", "HEAD")
    break_a_test(service_repo)  # HEAD now has a failing test; the run is for `good`
    runner = PipelineRunner(store, state_dir=tmp_path / "state")
    seen: list[Path] = []

    def list_tests(context: StepContext) -> StepOutputs:
        seen.append(context.workdir)
        if run_logged(context, ["git", "rev-parse", "HEAD"]) != 0:
            raise StepFailed("no git")
        assert not (context.workdir / "tests/unit/test_broken.py").exists()
        return StepOutputs(summary="looked")

    runner.steps.register("test", list_tests)
    run = runner.run(_request(service_repo, checkout=True, commit=good, trigger=Trigger.PUSH,
                              until="test"))
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    assert run.step("checkout").summary == f"checked out {good[:7]}"
    assert good in run.step("test").log
    assert seen == [tmp_path / "state" / "pipeline" / "work" / f"run-{run.id}"]
    assert not seen[0].exists()  # the work dir is removed after the run

    bad = runner.run(_request(service_repo, checkout=True, commit="c" * 40, until="test"))
    assert bad.step("checkout").status is StepStatus.FAILED
    assert bad.step("checkout").summary == f"commit {'c' * 40} is not in {service_repo}"
    assert bad.step("test").status is StepStatus.SKIPPED


def test_unknown_environment(service_repo, store, tmp_path):
    runner = PipelineRunner(store, state_dir=tmp_path)
    with pytest.raises(UnknownEnvironment, match="unknown environment 'qa'"):
        runner.create(_request(service_repo, env="qa"))
    assert store.list() == []


def test_default_registry_names():
    assert {"checkout", "test"} <= set(default_step_registry().names())
    assert checkout_step is default_step_registry().get("checkout")


def test_run_logged_reports_a_missing_program(service_repo, tmp_path):
    from shiplane.config import Environment
    from shiplane.pipeline import StepLog

    context = StepContext(run=None, workdir=service_repo, state_dir=tmp_path,  # type: ignore[arg-type]
                          environment=Environment(), settings=RunSettings(), log=StepLog())
    with pytest.raises(StepFailed, match="cannot run no-such-program"):
        run_logged(context, ["no-such-program"])
    assert subprocess.run(["true"]).returncode == 0


def test_a_running_steps_log_is_saved_while_it_runs(service_repo, store, tmp_path):
    seen: list[str] = []

    def slow(context: StepContext) -> StepOutputs:
        context.log.write("first line")
        time.sleep(0.05)
        context.log.write("second line")  # saved: more than log_save_interval since start
        seen.append(store.get(context.run.id).step("test").log)
        return StepOutputs()

    runner = PipelineRunner(store, state_dir=tmp_path / "state", steps=StepRegistry({"test": slow}))
    runner.log_save_interval = 0.01
    run = runner.run(_request(service_repo, until="test"))
    assert seen == ["first line\nsecond line\n"]
    assert run.status is RunStatus.SUCCEEDED


def test_the_repos_own_virtualenv_runs_its_tests(service_repo, store, tmp_path):
    venv_python = service_repo / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(f"#!/bin/sh\necho using the repo venv\nexec {sys.executable} \"$@\"\n")
    venv_python.chmod(0o755)
    runner = PipelineRunner(store, state_dir=tmp_path / "state",
                            steps=StepRegistry({"test": test_step}))
    run = runner.run(_request(service_repo, until="test"))
    assert run.status is RunStatus.SUCCEEDED, run.step("test").log
    assert run.step("test").log.startswith(f"$ {venv_python} -m pytest")
    assert "using the repo venv" in run.step("test").log
