"""The store's vocabulary: keys, stored objects, writes and watch events.

Objects are plain JSON dicts (what the API speaks). A :class:`StoredObject` keeps
the dict and its serialised form side by side: lists and watch streams reuse the
bytes instead of re-encoding 10,000 pods, and readers that need a private copy
call :meth:`StoredObject.copy`. Stored dicts are never mutated after commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = ["EventType", "ObjectKey", "StoredObject", "WatchEvent", "Write", "decode", "encode"]

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


def encode(obj: Any) -> str:
    """Compact JSON, the wire and disk format (orjson: several times faster than ``json``;
    the ``json`` module only for what orjson refuses, such as integers beyond 64 bits)."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def decode(raw: str | bytes) -> Any:
    """The inverse of :func:`encode`."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Where an object lives: ``resource`` is the GroupResource (``deployments.apps``)."""

    resource: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        return self.resource.partition(".")[2]

    @property
    def plural(self) -> str:
        return self.resource.partition(".")[0]


@dataclass(frozen=True)
class StoredObject:
    obj: dict[str, Any]
    raw: str
    rv: int

    def copy(self) -> dict[str, Any]:
        return decode(self.raw)


@dataclass(frozen=True)
class Write:
    """One change in an atomic commit.

    ``op`` create refuses an existing key, update and delete refuse a missing one;
    ``expected_rv`` (if set) must equal the stored resourceVersion (optimistic lock).
    """

    op: Literal["create", "update", "delete"]
    key: ObjectKey
    obj: dict[str, Any] | None = None
    expected_rv: int | None = None


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: EventType
    key: ObjectKey
    current: StoredObject
    previous: dict[str, Any] | None = None
    _line: list[bytes] = field(default_factory=list, compare=False, repr=False)

    def line(self) -> bytes:
        """The newline-delimited watch frame, encoded once for every watcher."""
        if not self._line:
            self._line.append(
                ('{"type":"' + self.type + '","object":' + self.current.raw + "}\n").encode()
            )
        return self._line[0]
