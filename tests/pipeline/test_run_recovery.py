"""Runs whose process died are ended as failed (or cancelled), through the state machines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shiplane
from shiplane.pipeline import (
    Event,
    MemoryRunStore,
    RunRecord,
    RunStatus,
    StepStatus,
    Trigger,
    is_abandoned,
    open_run_store,
    plan_steps,
    recover_abandoned,
    settle_abandoned,
)


def _run(runner: str | None, *, started: bool = True) -> RunRecord:
    run = RunRecord(service="svc", env="dev", model=1, trigger=Trigger.MANUAL, source=".",
                    steps=plan_steps(1), runner=runner)
    if started:
        run.apply(Event.START)
        run.steps[0].apply(Event.START)
        run.steps[0].apply(Event.SUCCEED)
        run.steps[1].apply(Event.START)
    return run


@pytest.mark.parametrize("runner,host,alive,expected", [
    ("box:123", "box", False, True),
    ("box:123", "box", True, False),  # still running
    ("other:123", "box", False, False),  # another machine's pid means nothing here
    (None, "box", False, False),  # recorded before runners were recorded
    ("box:notapid", "box", False, False),
])
def test_is_abandoned(runner, host, alive, expected):
    assert is_abandoned(_run(runner), host=host, alive=lambda pid: alive) is expected


def test_finished_runs_are_never_abandoned():
    run = _run("box:1")
    run.steps[1].apply(Event.SUCCEED)
    for step in run.steps[2:]:
        step.apply(Event.SKIP)
    run.apply(Event.SUCCEED)
    assert not is_abandoned(run, host="box", alive=lambda pid: False)


def test_settle_a_running_and_a_pending_run():
    running = _run("box:7")
    settle_abandoned(running)
    assert running.status is RunStatus.FAILED
    assert [s.status for s in running.steps] == [
        StepStatus.SUCCEEDED, StepStatus.FAILED] + [StepStatus.SKIPPED] * 3
    assert running.error == "build: the runner box:7 stopped"
    queued = _run("box:7", started=False)
    settle_abandoned(queued)
    assert queued.status is RunStatus.CANCELLED
    assert all(s.status is StepStatus.SKIPPED for s in queued.steps)


def test_recover_saves_only_abandoned_runs():
    store = MemoryRunStore()
    dead = store.add(_run("box:1"))
    live = store.add(_run("box:2"))
    foreign = store.add(_run("elsewhere:1"))
    settled = recover_abandoned(store, host="box", alive=lambda pid: pid == 2)
    assert [r.id for r in settled] == [dead.id]
    assert store.get(dead.id).status is RunStatus.FAILED
    assert store.get(live.id).status is RunStatus.RUNNING
    assert store.get(foreign.id).status is RunStatus.RUNNING
    assert [r.id for r in store.list(unfinished=True)] == [foreign.id, live.id]


def test_a_killed_pipeline_run_is_reported_failed(service_repo, tmp_path):
    (service_repo / "tests" / "unit" / "test_slow.py").write_text(
        "import time\n\ndef test_slow():\n    time.sleep(4)\n")
    src = str(Path(shiplane.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src, "SHIPLANE_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen(
        [sys.executable, "-m", "shiplane", "pipeline", "run", "--repo", str(service_repo),
         "--until", "test"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = open_run_store(tmp_path / "state")
    try:
        deadline = time.monotonic() + 30
        while not (store.list() and store.list()[0].step("test").status is StepStatus.RUNNING):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert store.list()[0].status is RunStatus.RUNNING  # nobody ended it...
    finally:
        store.close()
    listing = subprocess.run([sys.executable, "-m", "shiplane", "pipeline", "list", "-o", "json"],
                             env=env, capture_output=True, text=True, check=True)
    [run] = json.loads(listing.stdout)  # ...until the next command looked
    assert run["status"] == "failed"
    assert run["error"] == f"test: the runner {run['runner']} stopped"
    assert run["runner"].endswith(f":{process.pid}")
