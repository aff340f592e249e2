"""Run stores: the memory and the SQLite implementation behave the same."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shiplane.pipeline import (
    Event,
    MemoryRunStore,
    RunNotFound,
    RunRecord,
    RunStatus,
    SqliteRunStore,
    StepStatus,
    Trigger,
    open_run_store,
    plan_steps,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path: Path):
    made = MemoryRunStore() if request.param == "memory" else open_run_store(tmp_path)
    yield made
    made.close()


def _run(service: str = "payment-service", **changes) -> RunRecord:
    return RunRecord(service=service, env="dev", model=1, trigger=Trigger.PUSH,
                     source="/srv/git/payment-service.git", commit="a" * 40,
                     ref="refs/heads/main", steps=plan_steps(1, checkout=True), **changes)


def _finished(run: RunRecord) -> RunRecord:
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    run.apply(Event.START, at=t0)
    checkout, test = run.steps[0], run.steps[1]
    checkout.apply(Event.START, at=t0)
    checkout.apply(Event.SUCCEED, at=t0 + timedelta(seconds=1), summary="checked out aaaaaaa")
    checkout.log = "$ git clone ...\n"
    test.apply(Event.START, at=t0 + timedelta(seconds=1))
    test.apply(Event.FAIL, at=t0 + timedelta(seconds=4), summary="tests failed (exit status 1)")
    test.log = "F.\nFAILED tests/unit/test_x.py::test_y - assert 1 == 2 ✗\n"
    for step in run.steps[2:]:
        step.apply(Event.SKIP, summary="skipped: test failed")
    run.image_reference = "127.0.0.1:5000/payment-service:sha-aaaaaaa@sha256:" + "b" * 64
    run.image_digest = "sha256:" + "b" * 64
    run.image_tags = ["1.2.0", "sha-aaaaaaa"]
    run.release_revision = 3
    run.error = "test: tests failed (exit status 1)"
    run.apply(Event.FAIL, at=t0 + timedelta(seconds=4))
    return run


def test_add_numbers_runs_and_get_round_trips(store):
    first = store.add(_run())
    second = store.add(_run("orders"))
    assert (first.id, second.id) == (1, 2)
    assert store.get(1).to_dict() == first.to_dict()
    assert store.get(2).service == "orders"
    assert [step.status for step in store.get(1).steps] == [StepStatus.PENDING] * 6


def test_save_keeps_every_field_and_log(store):
    run = _finished(store.add(_run()))
    store.save(run)
    loaded = store.get(run.id)
    assert loaded.to_dict() == run.to_dict()
    assert loaded.status is RunStatus.FAILED
    assert loaded.step("test").log.endswith("assert 1 == 2 ✗\n")
    assert loaded.step("test").seconds == 3.0
    assert loaded.seconds == 4.0
    assert loaded.failed_step.name == "test"
    assert loaded.release_revision == 3 and loaded.image_tags == ["1.2.0", "sha-aaaaaaa"]


def test_records_are_copies(store):
    run = store.add(_run())
    run.status = RunStatus.CANCELLED
    run.steps[0].log = "changed"
    assert store.get(run.id).status is RunStatus.PENDING
    assert store.get(run.id).steps[0].log == ""


def test_list_newest_first_filtered_and_limited(store):
    for service in ("a", "b", "a", "c", "a"):
        store.add(_run(service))
    assert [run.id for run in store.list()] == [5, 4, 3, 2, 1]
    assert [run.id for run in store.list(service="a")] == [5, 3, 1]
    assert [run.id for run in store.list(limit=2)] == [5, 4]
    assert store.list(service="nope") == []


def test_unknown_runs(store):
    with pytest.raises(RunNotFound, match="no pipeline run 7"):
        store.get(7)
    ghost = _run()
    ghost.id = 7
    with pytest.raises(RunNotFound):
        store.save(ghost)
    assert store.list() == []


def test_concurrent_adds_get_distinct_ids(store):
    def add_many() -> None:
        for _ in range(20):
            store.add(_run())

    threads = [threading.Thread(target=add_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [run.id for run in store.list(limit=1000)]
    assert sorted(ids) == list(range(1, 81))


def test_sqlite_persists_across_processes_of_the_workspace(tmp_path: Path):
    store = open_run_store(tmp_path)
    run = _finished(store.add(_run()))
    store.save(run)
    store.close()
    assert (tmp_path / "workspace.db").is_file()
    reopened = SqliteRunStore(tmp_path / "workspace.db")
    assert reopened.get(run.id).to_dict() == run.to_dict()
    assert reopened.add(_run()).id == 2
    reopened.close()


def test_sqlite_unusable_path_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    from shiplane.pipeline import PipelineError

    with pytest.raises(PipelineError, match="cannot open the run database"):
        open_run_store(blocker / "state")


def test_list_unfinished(store):
    finished = _finished(store.add(_run("a")))
    store.save(finished)
    running = store.add(_run("b"))
    running.apply(Event.START)
    store.save(running)
    pending = store.add(_run("a"))
    assert [r.id for r in store.list(unfinished=True)] == [pending.id, running.id]
    assert [r.id for r in store.list(unfinished=True, service="a")] == [pending.id]
    assert store.get(running.id).runner is None and pending.runner is None


def test_an_older_database_gets_the_new_columns(tmp_path: Path):
    import sqlite3

    path = tmp_path / "workspace.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE pipeline_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL,"
        " env TEXT NOT NULL, model INTEGER NOT NULL, trigger TEXT NOT NULL, source TEXT NOT NULL,"
        " commit_sha TEXT, ref TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL,"
        " started_at TEXT, ended_at TEXT, image_reference TEXT, image_digest TEXT,"
        " image_tags TEXT NOT NULL DEFAULT '[]', release_revision INTEGER, error TEXT);"
        "INSERT INTO pipeline_runs (service, env, model, trigger, source, status, created_at)"
        " VALUES ('svc', 'dev', 1, 'manual', '.', 'succeeded', '2026-01-01T00:00:00+00:00');")
    old.commit()
    old.close()
    store = SqliteRunStore(path)
    assert store.get(1).runner is None and store.get(1).status is RunStatus.SUCCEEDED
    added = store.add(_run(runner="box:1"))
    assert store.get(added.id).runner == "box:1"
    store.close()
