"""Where pipeline runs are kept: a :class:`RunStore` protocol, in memory or in SQLite.

The product uses :class:`SqliteRunStore` on the workspace database
(``<state dir>/workspace.db``, tables ``pipeline_runs`` and ``pipeline_steps``);
tests of the runner may use :class:`MemoryRunStore`. Both hand out copies, so a
caller holding a record never sees another writer's changes by accident, and
both number runs 1, 2, 3, ... in the order they are added (the run number is
also what a person types: ``shiplane pipeline show 3``).

SQLite runs in WAL mode with a busy timeout, so ``shiplane git serve`` can
record pushed runs while ``shiplane pipeline list`` reads in another process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from shiplane.pipeline.errors import PipelineError, RunNotFound
from shiplane.pipeline.records import RunRecord, StepRecord

__all__ = ["DATABASE_NAME", "MemoryRunStore", "RunStore", "SqliteRunStore", "open_run_store"]

DATABASE_NAME = "workspace.db"


class RunStore(Protocol):
    def add(self, run: RunRecord) -> RunRecord:
        """Store a new run; returns a copy numbered with its id."""

    def save(self, run: RunRecord) -> None:
        """Replace the stored state of ``run`` (known by its id) and its steps."""

    def get(self, run_id: int) -> RunRecord:
        """The run with this id; :class:`RunNotFound` otherwise."""

    def list(
        self, *, service: str | None = None, unfinished: bool = False, limit: int = 50
    ) -> list[RunRecord]:
        """Newest first, optionally of one service, or only pending and running runs."""

    def close(self) -> None: ...


def _copy(run: RunRecord) -> RunRecord:
    return RunRecord.from_dict(run.to_dict())


def _not_found(run_id: int) -> RunNotFound:
    return RunNotFound(f"no pipeline run {run_id}", hint="see `shiplane pipeline list`")


class MemoryRunStore:
    """Runs in a dict; for tests and one-off in-process runs."""

    def __init__(self) -> None:
        self._runs: dict[int, RunRecord] = {}
        self._lock = threading.Lock()

    def add(self, run: RunRecord) -> RunRecord:
        with self._lock:
            stored = _copy(run)
            stored.id = max(self._runs, default=0) + 1
            self._runs[stored.id] = stored
            return _copy(stored)

    def save(self, run: RunRecord) -> None:
        with self._lock:
            if run.id not in self._runs:
                raise _not_found(run.id)
            self._runs[run.id] = _copy(run)

    def get(self, run_id: int) -> RunRecord:
        with self._lock:
            if run_id not in self._runs:
                raise _not_found(run_id)
            return _copy(self._runs[run_id])

    def list(
        self, *, service: str | None = None, unfinished: bool = False, limit: int = 50
    ) -> list[RunRecord]:
        with self._lock:
            runs = [r for r in self._runs.values()
                    if (service is None or r.service == service)
                    and not (unfinished and r.status.finished)]
            runs.sort(key=lambda r: r.id, reverse=True)
            return [_copy(r) for r in runs[:limit]]

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipeline_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    env TEXT NOT NULL,
    model INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    source TEXT NOT NULL,
    commit_sha TEXT,
    ref TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    image_reference TEXT,
    image_digest TEXT,
    image_tags TEXT NOT NULL DEFAULT '[]',
    release_revision INTEGER,
    error TEXT,
    runner TEXT
);
CREATE INDEX IF NOT EXISTS pipeline_runs_service ON pipeline_runs (service, id);
CREATE TABLE IF NOT EXISTS pipeline_steps (
    run_id INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    summary TEXT NOT NULL DEFAULT '',
    log TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, position)
);
"""

_RUN_COLUMNS = (
    "service", "env", "model", "trigger", "source", "commit_sha", "ref", "status", "created_at",
    "started_at", "ended_at", "image_reference", "image_digest", "image_tags",
    "release_revision", "error", "runner",
)


_ADDED_COLUMNS = ("runner",)  # columns added after the first release of the schema


def _run_row(run: RunRecord) -> tuple[object, ...]:
    data = run.to_dict(logs=False)
    data["commit_sha"] = data.pop("commit")
    data["image_tags"] = json.dumps(data["image_tags"])
    return tuple(data[column] for column in _RUN_COLUMNS)


class SqliteRunStore:
    """Runs in a SQLite database file (the workspace database)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._add_missing_columns()
        except (OSError, sqlite3.Error) as error:
            raise PipelineError(f"cannot open the run database {self.path}: {error}") from None
        self._lock = threading.Lock()

    def _add_missing_columns(self) -> None:
        """Databases made by an earlier shiplane get the columns added since (all nullable)."""
        present = {row[1] for row in self._db.execute("PRAGMA table_info(pipeline_runs)")}
        for column in _ADDED_COLUMNS:
            if column not in present:
                self._db.execute(f"ALTER TABLE pipeline_runs ADD COLUMN {column} TEXT")

    def _write_steps(self, run: RunRecord) -> None:
        self._db.execute("DELETE FROM pipeline_steps WHERE run_id = ?", (run.id,))
        self._db.executemany(
            "INSERT INTO pipeline_steps (run_id, position, name, status, started_at, ended_at,"
            " summary, log) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (run.id, position, s["name"], s["status"], s["started_at"], s["ended_at"],
                 s["summary"], s["log"])
                for position, s in enumerate(step.to_dict() for step in run.steps)
            ],
        )

    def add(self, run: RunRecord) -> RunRecord:
        stored = _copy(run)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    f"INSERT INTO pipeline_runs ({', '.join(_RUN_COLUMNS)}) "
                    f"VALUES ({', '.join('?' for _ in _RUN_COLUMNS)})",
                    _run_row(stored),
                )
                stored.id = int(cursor.lastrowid or 0)
                self._write_steps(stored)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return stored

    def save(self, run: RunRecord) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    f"UPDATE pipeline_runs SET {', '.join(c + ' = ?' for c in _RUN_COLUMNS)} "
                    "WHERE id = ?",
                    (*_run_row(run), run.id),
                )
                if cursor.rowcount != 1:
                    raise _not_found(run.id)
                self._write_steps(run)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _load(self, rows: list[tuple[object, ...]]) -> list[RunRecord]:
        runs = []
        for row in rows:
            data = dict(zip(("id", *_RUN_COLUMNS), row, strict=True))
            data["commit"] = data.pop("commit_sha")
            data["image_tags"] = json.loads(str(data["image_tags"]))
            steps = self._db.execute(
                "SELECT name, status, started_at, ended_at, summary, log FROM pipeline_steps "
                "WHERE run_id = ? ORDER BY position",
                (data["id"],),
            ).fetchall()
            data["steps"] = [
                StepRecord.from_dict(dict(zip(
                    ("name", "status", "started_at", "ended_at", "summary", "log"), step,
                    strict=True,
                ))).to_dict()
                for step in steps
            ]
            runs.append(RunRecord.from_dict(data))
        return runs

    def get(self, run_id: int) -> RunRecord:
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, {', '.join(_RUN_COLUMNS)} FROM pipeline_runs WHERE id = ?",
                (run_id,),
            ).fetchall()
            if not rows:
                raise _not_found(run_id)
            return self._load(rows)[0]

    def list(
        self, *, service: str | None = None, unfinished: bool = False, limit: int = 50
    ) -> list[RunRecord]:
        query = f"SELECT id, {', '.join(_RUN_COLUMNS)} FROM pipeline_runs"
        conditions, params = [], []
        if service is not None:
            conditions.append("service = ?")
            params.append(service)
        if unfinished:
            conditions.append("status IN ('pending', 'running')")
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            return self._load(self._db.execute(query, (*params, limit)).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_run_store(state_dir: Path) -> SqliteRunStore:
    """The workspace's run store: ``<state dir>/workspace.db``."""
    return SqliteRunStore(Path(state_dir) / DATABASE_NAME)
