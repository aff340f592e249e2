"""The SQLite (WAL) object store: the memory store, made durable.

Reads are served from memory (loaded once at open); every commit is one SQLite
transaction writing the objects, the watch-log events and the resourceVersion,
so a failed or interrupted commit leaves nothing behind, and a restarted server
resumes with the same objects, versions and recent watch history.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from shiplane.cluster.store.memory import DEFAULT_WATCH_WINDOW, MemoryObjectStore
from shiplane.cluster.store.model import ObjectKey, StoredObject, WatchEvent

__all__ = ["SqliteObjectStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (resource, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, type TEXT NOT NULL,
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SqliteObjectStore(MemoryObjectStore):
    """An :class:`~shiplane.cluster.store.protocol.ObjectStore` in one SQLite file."""

    def __init__(self, path: Path | str, *, watch_window: int = DEFAULT_WATCH_WINDOW) -> None:
        super().__init__(watch_window=watch_window)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._load()

    def _load(self) -> None:
        db = self._db
        row = db.execute("SELECT value FROM meta WHERE key='rv'").fetchone()
        self._rv = row[0] if row else 0
        row = db.execute("SELECT value FROM meta WHERE key='compacted'").fetchone()
        self._compacted_rv = row[0] if row else 0
        for resource, namespace, name, rv, data in db.execute(
            "SELECT resource, namespace, name, rv, data FROM objects"
        ):
            self._objects.setdefault(resource, {})[(namespace, name)] = StoredObject(
                json.loads(data), data, rv
            )
        rows = db.execute(
            "SELECT rv, type, resource, namespace, name, data FROM events WHERE rv > ? ORDER BY rv",
            (self._compacted_rv,),
        ).fetchall()
        for rv, type_, resource, namespace, name, data in rows[-self._window :]:
            key = ObjectKey(resource, namespace, name)
            self._log.append(WatchEvent(rv, type_, key, StoredObject(json.loads(data), data, rv)))
        if len(rows) > self._window:
            self._compacted_rv = self._log[0].rv - 1

    def _persist(self, events: Sequence[WatchEvent], resource_version: int) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                key = event.key
                if event.type == "DELETED":
                    db.execute(
                        "DELETE FROM objects WHERE resource=? AND namespace=? AND name=?",
                        (key.resource, key.namespace, key.name),
                    )
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                        (key.resource, key.namespace, key.name, event.rv, event.current.raw),
                    )
                db.execute(
                    "INSERT INTO events VALUES (?,?,?,?,?,?)",
                    (event.rv, event.type, key.resource, key.namespace, key.name, event.current.raw),
                )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (resource_version,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _compacted(self, resource_version: int) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM events WHERE rv <= ?", (resource_version,))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('compacted', ?)", (resource_version,))
        self._db.execute("COMMIT")

    def close(self) -> None:
        super().close()
        self._db.close()
