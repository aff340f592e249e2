"""The in-memory object store, and the commit logic the SQLite store reuses.

Theory of operation: all state sits behind one lock. :meth:`commit` first stages
every write against the current state (raising before anything changes), then
hands the resulting events to :meth:`_persist` (a no-op here; a transaction for
SQLite), and only when that succeeded swaps the staged objects in, appends the
events to the watch log and calls listeners — still under the lock, so every
listener sees events in resourceVersion order.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence

from shiplane.cluster.store.errors import AlreadyExists, Conflict, Gone, NotFound
from shiplane.cluster.store.model import ObjectKey, StoredObject, WatchEvent, Write, encode
from shiplane.cluster.store.protocol import EventListener

__all__ = ["DEFAULT_WATCH_WINDOW", "MemoryObjectStore"]

# How many events the watch log keeps (etcd keeps ~5 minutes of history between
# compactions; a count is simpler to reason about and to test).
DEFAULT_WATCH_WINDOW = 50_000


class MemoryObjectStore:
    """An :class:`~shiplane.cluster.store.protocol.ObjectStore` held in memory."""

    def __init__(self, *, watch_window: int = DEFAULT_WATCH_WINDOW) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], StoredObject]] = {}
        self._sorted: dict[str, list[tuple[str, str]]] = {}  # per-resource sorted key cache
        self._rv = 0
        self._log: list[WatchEvent] = []
        self._compacted_rv = 0  # events with rv <= this are gone from the log
        self._window = max(1, watch_window)
        self._listeners: list[EventListener] = []

    # -- reads ---------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def oldest_resource_version(self) -> int:
        return self._compacted_rv

    def get(self, key: ObjectKey) -> StoredObject | None:
        return self._objects.get(key.resource, {}).get((key.namespace, key.name))

    def list(self, resource: str, namespace: str | None = None) -> list[StoredObject]:
        with self._lock:
            table = self._objects.get(resource, {})
            keys = self._sorted.get(resource)
            if keys is None:  # rebuilt only after a create or delete of this resource
                keys = self._sorted[resource] = sorted(table)
            if namespace is not None:
                start = bisect.bisect_left(keys, (namespace, ""))
                end = bisect.bisect_left(keys, (namespace + "\0", ""))
                keys = keys[start:end]
            return [table[k] for k in keys]

    def events_since(self, resource_version: int) -> list[WatchEvent]:
        with self._lock:
            if resource_version < self._compacted_rv:
                raise Gone(
                    f"too old resource version: {resource_version} ({self._compacted_rv + 1})"
                )
            start = bisect.bisect_right(self._log, resource_version, key=lambda e: e.rv)
            return self._log[start:]

    # -- writes --------------------------------------------------------------------------

    def commit(self, writes: Sequence[Write], *, dry_run: bool = False) -> list[StoredObject]:
        with self._lock:
            staged: dict[ObjectKey, StoredObject | None] = {}
            events: list[WatchEvent] = []
            rv = self._rv
            for write in writes:
                key = write.key
                current = staged[key] if key in staged else self.get(key)
                if write.op == "create":
                    if current is not None:
                        raise AlreadyExists(key.group, key.plural, key.name)
                elif current is None:
                    raise NotFound(key.group, key.plural, key.name)
                elif write.expected_rv is not None and write.expected_rv != current.rv:
                    raise Conflict(key.group, key.plural, key.name)
                rv += 1
                if write.op == "delete":
                    assert current is not None
                    obj = current.copy()
                    obj["metadata"]["resourceVersion"] = str(rv)
                    staged[key] = None
                    stored = StoredObject(obj, encode(obj), rv)
                    events.append(WatchEvent(rv, "DELETED", key, stored, current.obj))
                else:
                    assert write.obj is not None
                    obj = write.obj
                    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
                    stored = StoredObject(obj, encode(obj), rv)
                    staged[key] = stored
                    kind = "ADDED" if write.op == "create" else "MODIFIED"
                    previous = current.obj if current is not None else None
                    events.append(WatchEvent(rv, kind, key, stored, previous))
            if dry_run or not events:
                return [e.current for e in events]
            self._persist(events, rv)
            for key, stored in staged.items():
                table = self._objects.setdefault(key.resource, {})
                if stored is None:
                    table.pop((key.namespace, key.name), None)
                    self._sorted.pop(key.resource, None)
                else:
                    if (key.namespace, key.name) not in table:
                        self._sorted.pop(key.resource, None)
                    table[(key.namespace, key.name)] = stored
            self._rv = rv
            self._log.extend(events)
            if len(self._log) > self._window + self._window // 4:
                drop = len(self._log) - self._window
                self._compacted_rv = self._log[drop - 1].rv
                del self._log[:drop]
                self._compacted(self._compacted_rv)
            for listener in list(self._listeners):
                listener(events)
            return [e.current for e in events]

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:
        self._listeners.clear()

    # -- hooks for persistent subclasses --------------------------------------------------

    def _persist(self, events: Sequence[WatchEvent], resource_version: int) -> None:
        """Make ``events`` durable; raising aborts the commit. Memory: nothing to do."""

    def _compacted(self, resource_version: int) -> None:
        """The watch log dropped everything up to ``resource_version``."""
