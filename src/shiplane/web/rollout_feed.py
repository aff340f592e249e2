"""Live objects of one namespace from the cluster's watches, for the Rollout page's SSE.

Theory of operation: :class:`RolloutFeed` runs an informer per kind (Deployments,
ReplicaSets, Pods, Events, Endpoints) through ``shiplane.kube`` on its own thread:
list (the cache and the list's resourceVersion), then watch from there. Nothing is
sent until every kind has been listed (a half-filled cache would show "no
Deployment" for a moment); then every event updates the cache and wakes the asyncio
side, which coalesces a burst (50 ms), takes a snapshot and sends one Server-Sent
Event. Watches end every
``watch_seconds`` on the server side and resume from the last resourceVersion
(an expired one — 410 — restarts the kind from scratch), so a stopped feed's
threads exit within that time. Nothing polls: the browser holds one EventSource.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from shiplane.kube import ApiError, ConnectionFailed, KubeClient, KubeError

__all__ = ["RolloutFeed", "sse_event", "stream_views"]

KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("v1", "Pod"), ("v1", "Event"),
    ("v1", "Endpoints"),
)


class RolloutFeed:
    def __init__(self, kubeconfig: Path, context: str | None, namespace: str, *,
                 watch_seconds: int = 10) -> None:
        self.kubeconfig, self.context, self.namespace = kubeconfig, context, namespace
        self.watch_seconds = watch_seconds
        self._objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for _, kind in KINDS}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wake: Callable[[], None] = lambda: None
        self._listed: set[str] = set()
        self.version = 0

    def start(self, wake: Callable[[], None]) -> RolloutFeed:
        self._wake = wake
        for api_version, kind in KINDS:
            thread = threading.Thread(target=self._run, args=(api_version, kind), daemon=True,
                                      name=f"rollout-watch-{kind}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> tuple[int, dict[str, list[dict[str, Any]]]] | None:
        """(version, objects per kind); None until every kind has been listed."""
        with self._lock:
            if len(self._listed) < len(KINDS):
                return None
            return self.version, {kind: list(objs.values()) for kind, objs in
                                  self._objects.items()}

    def _list(self, client: KubeClient, api_version: str, kind: str) -> str | None:
        """Replace the kind's cache with a fresh list; the list's resourceVersion."""
        path = client.resource(api_version, kind).collection_path(self.namespace)
        page = client.request("GET", path).json()
        items = page.get("items") or []
        with self._lock:
            self._objects[kind] = {_key(o): o for o in items}
            self._listed.add(kind)
            self.version += 1
        self._wake()
        return (page.get("metadata") or {}).get("resourceVersion")

    def _run(self, api_version: str, kind: str) -> None:
        resource_version: str | None = None
        with KubeClient.from_kubeconfig(self.kubeconfig, self.context) as client:
            while not self._stop.is_set():
                try:
                    if resource_version is None:
                        resource_version = self._list(client, api_version, kind)
                    for event in client.watch(api_version, kind, self.namespace,
                                              resource_version=resource_version,
                                              timeout_seconds=self.watch_seconds):
                        if self._stop.is_set():
                            return
                        obj = event.get("object") or {}
                        meta = obj.get("metadata") or {}
                        resource_version = meta.get("resourceVersion") or resource_version
                        if event.get("type") == "BOOKMARK":
                            continue
                        self._apply(kind, event.get("type", ""), obj)
                except ApiError as error:
                    if error.code == 410 or "too old" in str(error):
                        resource_version = None  # expired: list again
                        continue
                    if error.code == 404:  # a kind this cluster does not serve: empty
                        self._give_up(kind)
                        return
                    self._stop.wait(1.0)
                except ConnectionFailed:
                    self._stop.wait(1.0)  # the API server is away: try again shortly
                except KubeError:
                    self._give_up(kind)  # not served (discovery): show it empty
                    return

    def _give_up(self, kind: str) -> None:
        with self._lock:
            self._listed.add(kind)
        self._wake()

    def _apply(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        key = _key(obj)
        with self._lock:
            if event_type == "DELETED":
                self._objects[kind].pop(key, None)
            else:
                self._objects[kind][key] = obj
            self.version += 1
        self._wake()


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or meta.get("name"))


def sse_event(event: str, data: str) -> str:
    """One Server-Sent Event (``data:`` per line, as the EventSource spec wants)."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


async def stream_views(feed: RolloutFeed, render: Callable[[dict[str, list[dict]]], str], *,
                       event: str = "view", heartbeat: float = 15.0,
                       coalesce: float = 0.05) -> AsyncIterator[str]:
    """SSE text: ``render(snapshot)`` after each burst of changes; comments as heartbeats."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    feed.start(lambda: loop.call_soon_threadsafe(changed.set))
    sent_version = -1
    last = None
    try:
        yield "retry: 2000\n\n"
        while True:
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(coalesce)
            changed.clear()
            snapshot = feed.snapshot()
            if snapshot is None:
                continue
            version, objects = snapshot
            if version == sent_version:
                continue
            sent_version = version
            text = render(objects)
            if text != last:
                last = text
                yield sse_event(event, text)
    finally:
        feed.stop()
