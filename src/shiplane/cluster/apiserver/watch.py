"""Watch fan-out: one store subscription, many cheap asynchronous watchers.

Theory of operation: the hub subscribes once to the object store. Each commit's
events are routed by resource (and namespace) to the ``asyncio.Queue`` of every
interested :class:`Watcher` — a dict look-up and a ``put_nowait`` per watcher, with
the JSON frame encoded once per event and shared. A watch stream first registers
its watcher, then reads the store's retained log from the requested
resourceVersion (no ``await`` in between, so nothing falls in the gap; duplicates
are skipped by resourceVersion), then drains its queue. Selector watches turn
MODIFIED into ADDED/DELETED when an object enters or leaves the selection, like
the watch cache does. A too-old resourceVersion ends the stream with an ERROR
event carrying a 410 Expired Status.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.cluster.apiserver.selectors import FieldSelector, LabelSelector
from shiplane.cluster.store.errors import Gone
from shiplane.cluster.store.model import StoredObject, WatchEvent, encode
from shiplane.cluster.store.protocol import ObjectStore

__all__ = ["WatchHub", "WatchRequest"]

_CLOSED = object()
ObjectEncoder = Callable[[StoredObject, str], str]
ObjectConverter = Callable[[StoredObject], StoredObject]


@dataclass
class WatchRequest:
    resource: str
    kind: str
    api_version: str
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    resource_version: str | None
    timeout_seconds: float
    bookmarks: bool = False
    send_initial_events: bool = False
    bookmark_interval: float = 30.0
    encode_object: ObjectEncoder | None = None  # e.g. rows of a Table; None = the raw object
    # The stored object at the watched version (custom resources); None = as stored.
    convert: ObjectConverter | None = None


@dataclass(eq=False)
class Watcher:
    request: WatchRequest
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    @property
    def selective(self) -> bool:
        return not (self.request.labels.empty and self.request.fields.empty)

    def selects(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        return self.request.labels.matches(meta.get("labels")) and self.request.fields.matches(obj)


class WatchHub:
    """Routes store events to watchers; attach it to the serving event loop first."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._watchers: dict[str, set[Watcher]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._unsubscribe = store.subscribe(self._on_events)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.get_ident()

    @property
    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    def _on_events(self, events: Sequence[WatchEvent]) -> None:
        if self._loop is None or not self._watchers:
            return
        if threading.get_ident() == self._thread:
            self._dispatch(events)
        else:
            self._loop.call_soon_threadsafe(self._dispatch, list(events))

    def _dispatch(self, events: Sequence[WatchEvent]) -> None:
        for event in events:
            for watcher in self._watchers.get(event.key.resource, ()):
                namespace = watcher.request.namespace
                if namespace is None or namespace == event.key.namespace:
                    watcher.queue.put_nowait(event)

    def close(self) -> None:
        """End every open watch (server shutdown)."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(_CLOSED)

    def _register(self, request: WatchRequest) -> Watcher:
        watcher = Watcher(request)
        self._watchers.setdefault(request.resource, set()).add(watcher)
        return watcher

    def _unregister(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.request.resource, set()).discard(watcher)

    # -- one stream ----------------------------------------------------------------------

    def _frame(
        self, watcher: Watcher, type_: str, current: StoredObject, event: WatchEvent | None = None
    ) -> bytes:
        encoder, convert = watcher.request.encode_object, watcher.request.convert
        if convert is not None:
            converted = convert(current)
            if converted is not current:
                current, event = converted, None  # the shared frame is at another version
        if encoder is None:
            if event is not None and event.type == type_:
                return event.line()
            return ('{"type":"' + type_ + '","object":' + current.raw + "}\n").encode()
        return ('{"type":"' + type_ + '","object":' + encoder(current, type_) + "}\n").encode()

    def _translate(self, watcher: Watcher, event: WatchEvent) -> bytes | None:
        if not watcher.selective:
            return self._frame(watcher, event.type, event.current, event)
        now = watcher.selects(event.current.obj)
        if event.type == "ADDED":
            return self._frame(watcher, "ADDED", event.current, event) if now else None
        if event.type == "DELETED":
            return self._frame(watcher, "DELETED", event.current, event) if now else None
        before = watcher.selects(event.previous) if event.previous is not None else now
        if now and before:
            return self._frame(watcher, "MODIFIED", event.current, event)
        if now:
            return self._frame(watcher, "ADDED", event.current)
        if before:
            return self._frame(watcher, "DELETED", event.current)
        return None

    def _bookmark(self, watcher: Watcher, rv: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {
            "kind": watcher.request.kind,
            "apiVersion": watcher.request.api_version,
            "metadata": meta,
        }
        return ('{"type":"BOOKMARK","object":' + encode(obj) + "}\n").encode()

    def _initial(self, watcher: Watcher) -> tuple[list[bytes], int]:
        """Frames to send before live events, and the resourceVersion they cover."""
        request = watcher.request
        rv_text = request.resource_version
        frames: list[bytes] = []
        if rv_text in (None, "", "0") or request.send_initial_events:
            # "Get state and start at most recent": synthetic ADDED for what exists now.
            current_rv = self.store.resource_version
            for stored in self.store.list(request.resource, request.namespace):
                if not watcher.selective or watcher.selects(stored.obj):
                    frames.append(self._frame(watcher, "ADDED", stored))
            if request.send_initial_events and request.bookmarks:
                frames.append(self._bookmark(watcher, current_rv, initial_end=True))
            return frames, current_rv
        since = int(rv_text)
        for event in self.store.events_since(since):
            if event.key.resource != request.resource:
                continue
            if request.namespace is not None and event.key.namespace != request.namespace:
                continue
            frame = self._translate(watcher, event)
            if frame is not None:
                frames.append(frame)
        return frames, max(since, self.store.resource_version)

    async def stream(self, request: WatchRequest) -> AsyncIterator[bytes]:
        if self._loop is None:
            self.attach(asyncio.get_running_loop())
        watcher = self._register(request)
        try:
            try:
                frames, seen = self._initial(watcher)
            except Gone as error:
                yield ('{"type":"ERROR","object":' + encode(error.status()) + "}\n").encode()
                return
            for frame in frames:
                yield frame
            deadline = time.monotonic() + request.timeout_seconds
            last_bookmark = time.monotonic()
            queue = watcher.queue
            pending: list[Any] = []
            while True:
                # Everything already queued goes out as one chunk (one socket write per
                # burst); only an empty queue is awaited, with a timeout.
                while not queue.empty():
                    pending.append(queue.get_nowait())
                chunk: list[bytes] = []
                for item in pending:
                    if item is _CLOSED:
                        if chunk:
                            yield b"".join(chunk)
                        return
                    if item.rv <= seen:
                        continue
                    seen = item.rv
                    frame = self._translate(watcher, item)
                    if frame is not None:
                        chunk.append(frame)
                pending.clear()
                if chunk:
                    yield b"".join(chunk)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                wait = remaining
                if request.bookmarks:
                    due = last_bookmark + request.bookmark_interval - time.monotonic()
                    wait = min(wait, max(0.0, due))
                try:
                    pending.append(await asyncio.wait_for(queue.get(), timeout=wait))
                except asyncio.TimeoutError:
                    if request.bookmarks and (
                        time.monotonic() - last_bookmark >= request.bookmark_interval
                    ):
                        if queue.empty():
                            seen = max(seen, self.store.resource_version)
                        yield self._bookmark(watcher, seen)
                        last_bookmark = time.monotonic()
        finally:
            self._unregister(watcher)
