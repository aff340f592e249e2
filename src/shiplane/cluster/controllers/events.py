"""The event recorder: core/v1 Events with upstream reasons, correlated like client-go's.

Like client-go's broadcaster, recording never blocks the caller: events go into a bounded queue
drained by one writer task; when the queue is full the event is dropped (upstream logs "dropping
event" the same way). The writer passes each event through an
:class:`~shiplane.cluster.decisions.event_correlation.EventCorrelator` (events_cache.go):
similar events are aggregated, repeats PATCH ``count``/``lastTimestamp``/``message`` of the
existing Event, and a source may write 25 events about one object, then one per 5 minutes
(skipped events are counted in :attr:`EventRecorder.filtered`). A patch of an Event that is
gone creates it anew (event.go recordEvent).
"""

from __future__ import annotations

import asyncio
import logging

from shiplane.cluster.controllers.api import STRATEGIC, AsyncApi, ControllerApiError
from shiplane.cluster.controllers.clock import ClusterClock
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.event_correlation import EventCorrelator
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
        self.correlator = EventCorrelator()
        self.dropped = 0  # the queue was full
        self.filtered = 0  # the spam filter said no
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
        clock_now = self.clock.now()
        now = format_time(clock_now)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": self.correlator.event_name(ref["name"], clock_now),
                         "namespace": namespace},
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
        result = self.correlator.correlate(body, clock_now)
        if result.skip:
            self.filtered += 1
            return
        body = result.event
        if result.patch is not None:
            try:
                stored = await self.api.patch("Event", namespace, body["metadata"]["name"],
                                              result.patch, content_type=STRATEGIC)
                self.correlator.update_state(stored)
                self.written += 1
                return
            except ControllerApiError as exc:
                if exc.code != 404:
                    raise
                # expired or deleted: create it anew, with its count (recordEvent)
                body = {**body, "metadata": {k: v for k, v in body["metadata"].items()
                                             if k != "resourceVersion"}}
        stored = await self.api.create("Event", namespace, body)
        self.correlator.update_state(stored)
        self.written += 1
