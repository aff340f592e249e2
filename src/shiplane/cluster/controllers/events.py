"""The event recorder: core/v1 Events with upstream reasons, aggregated by count.

Like client-go's broadcaster, recording never blocks the caller: events go into a bounded queue
drained by one writer task; when the queue is full the event is dropped (upstream logs "dropping
event" the same way). Repeats of the same (object, type, reason, message) within the recorder's
life PATCH ``count`` and ``lastTimestamp`` of the existing Event instead of creating a new one
(events_cache.go EventCorrelator, without the similar-event aggregation).
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from shiplane.cluster.controllers.api import AsyncApi, ControllerApiError
from shiplane.cluster.controllers.clock import ClusterClock
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.events import Event

__all__ = ["EventRecorder"]

log = logging.getLogger(__name__)


def object_reference(obj: dict, field_path: str = "") -> dict:
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if field_path:  # a container of a pod: "spec.containers{web}" (GenerateContainerRef)
        ref["fieldPath"] = field_path
    return ref


class EventRecorder:
    def __init__(self, api: AsyncApi, clock: ClusterClock, max_pending: int = 10_000) -> None:
        self.api = api
        self.clock = clock
        self._queue: asyncio.Queue[tuple[str, dict, Event, str]] = asyncio.Queue(max_pending)
        self._seen: dict[tuple, tuple[str, int]] = {}
        self.dropped = 0
        self.written = 0

    def record(self, component: str, obj: dict, event: Event, host: str = "",
               field_path: str = "") -> None:
        try:
            self._queue.put_nowait((component + ("\0" + host if host else ""), obj, event,
                                    field_path))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        while True:
            source, obj, event, field_path = await self._queue.get()
            try:
                await self._write(source, obj, event, field_path)
            except Exception as exc:  # an event must never break a controller
                log.debug("event not written: %s", exc)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        await self._queue.join()

    async def _write(self, source: str, obj: dict, event: Event, field_path: str = "") -> None:
        component, _, host = source.partition("\0")
        ref = object_reference(obj, field_path)
        namespace = ref["namespace"] or "default"
        now = format_time(self.clock.now())
        key = (ref["uid"], field_path, event.type, event.reason, event.message, component)
        seen = self._seen.get(key)
        if seen is not None:
            name, count = seen
            try:
                await self.api.patch(
                    "Event", namespace, name, {"count": count + 1, "lastTimestamp": now}
                )
                self._seen[key] = (name, count + 1)
                self.written += 1
                return
            except ControllerApiError:
                pass  # expired or deleted: create a new one
        name = f"{ref['name']}.{secrets.token_hex(8)}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": event.reason,
            "message": event.message,
            "type": event.type,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": component, **({"host": host} if host else {})},
            "reportingComponent": component,
            "reportingInstance": host,
        }
        await self.api.create("Event", namespace, body)
        self._seen[key] = (name, 1)
        self.written += 1
