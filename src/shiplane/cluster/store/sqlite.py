"""The SQLite (WAL) object store: the memory store, made durable.

Reads are served from memory (loaded once at open); every commit is one SQLite
transaction writing the new versions into the watch log (and, by trigger, the
current-version index),
so a failed or interrupted commit leaves nothing behind, and a restarted server
resumes with the same objects, versions and recent watch history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from shiplane.cluster.store.memory import DEFAULT_WATCH_WINDOW, MemoryObjectStore
from shiplane.cluster.store.model import ObjectKey, StoredObject, WatchEvent, decode

__all__ = ["SqliteObjectStore"]

# Every committed version is one row of ``events`` (the watch log, with the object's JSON);
# ``objects`` only points at the current version of each key and is maintained by triggers,
# so a single-object commit is one INSERT — one implicit transaction, atomic with its
# trigger effects. Compaction drops old events that no object points at any more.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, type TEXT NOT NULL,
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL,
    PRIMARY KEY (resource, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS object_written AFTER INSERT ON events
WHEN NEW.type != 'DELETED' BEGIN
    INSERT OR REPLACE INTO objects VALUES (NEW.resource, NEW.namespace, NEW.name, NEW.rv);
END;
CREATE TRIGGER IF NOT EXISTS object_deleted AFTER INSERT ON events
WHEN NEW.type = 'DELETED' BEGIN
    DELETE FROM objects
    WHERE resource = NEW.resource AND namespace = NEW.namespace AND name = NEW.name;
END;
"""
_INSERT = "INSERT INTO events VALUES (?,?,?,?,?,?)"


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
        row = db.execute("SELECT value FROM meta WHERE key='compacted'").fetchone()
        self._compacted_rv = row[0] if row else 0
        row = db.execute("SELECT MAX(rv) FROM events").fetchone()
        self._rv = max(row[0] or 0, self._compacted_rv)
        for resource, namespace, name, rv, data in db.execute(
            "SELECT o.resource, o.namespace, o.name, o.rv, e.data "
            "FROM objects o JOIN events e ON e.rv = o.rv"
        ):
            self._objects.setdefault(resource, {})[(namespace, name)] = StoredObject(
                decode(data), data, rv
            )
        rows = db.execute(
            "SELECT rv, type, resource, namespace, name, data FROM events WHERE rv > ? ORDER BY rv",
            (self._compacted_rv,),
        ).fetchall()
        for rv, type_, resource, namespace, name, data in rows[-self._window :]:
            key = ObjectKey(resource, namespace, name)
            self._log.append(WatchEvent(rv, type_, key, StoredObject(decode(data), data, rv)))
        if len(rows) > self._window:
            self._compacted_rv = self._log[0].rv - 1

    def _persist(self, events: Sequence[WatchEvent], resource_version: int) -> None:
        rows = [
            (e.rv, e.type, e.key.resource, e.key.namespace, e.key.name, e.current.raw)
            for e in events
        ]
        if len(rows) == 1:
            self._db.execute(_INSERT, rows[0])  # one statement: its own atomic transaction
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(_INSERT, rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _compacted(self, resource_version: int) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(
            "DELETE FROM events WHERE rv <= ? AND rv NOT IN (SELECT rv FROM objects)",
            (resource_version,),
        )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('compacted', ?)", (resource_version,))
        self._db.execute("COMMIT")

    def close(self) -> None:
        super().close()
        self._db.close()
