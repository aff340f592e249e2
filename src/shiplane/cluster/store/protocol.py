"""The object store contract shared by the memory and SQLite implementations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from shiplane.cluster.store.model import ObjectKey, StoredObject, WatchEvent, Write

__all__ = ["EventListener", "ObjectStore"]

EventListener = Callable[[Sequence[WatchEvent]], None]


@runtime_checkable
class ObjectStore(Protocol):
    """A versioned key→object map with one global, monotonic resourceVersion.

    * :meth:`commit` applies a batch of writes atomically: every write succeeds and
      gets the next resourceVersion, or nothing changes and an ``ApiError`` is raised.
    * Every committed write is appended to a watch log that keeps a window of the
      most recent events; :meth:`events_since` refuses older versions with ``Gone``.
    * Listeners are called synchronously after each commit (the watch fan-out).
    """

    @property
    def resource_version(self) -> int: ...

    @property
    def oldest_resource_version(self) -> int:
        """The oldest resourceVersion a watch can still start from."""
        ...

    def get(self, key: ObjectKey) -> StoredObject | None: ...

    def list(self, resource: str, namespace: str | None = None) -> list[StoredObject]:
        """Objects of one resource (one namespace, or all), sorted by namespace/name."""
        ...

    def commit(self, writes: Sequence[Write], *, dry_run: bool = False) -> list[StoredObject]: ...

    def events_since(self, resource_version: int) -> list[WatchEvent]: ...

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` with each commit's events; returns an unsubscribe function."""
        ...

    def close(self) -> None: ...
