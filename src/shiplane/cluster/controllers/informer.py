"""Informers: a local cache of one kind kept current by list + watch (client-go's reflector).

Theory of operation: :meth:`Informer.run` lists the kind, replaces the cache, then watches from
the list's ``resourceVersion``; every ADDED/MODIFIED/DELETED event updates the cache and calls
the handlers with ``(event_type, obj, old)``; BOOKMARKs only advance the version. A watch that
ends is resumed from the last version seen; ``410 Gone`` (an ERROR event or HTTP status) means
the window was compacted, so the informer re-lists, diffs against its cache and delivers the
differences as events (client-go's Replace). Controllers put the objects their writes return
into the cache at once; a later watch event carrying an older version of such an object is
skipped, so the cache never goes back in time. ``synced`` is set after the first list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from shiplane.cluster.controllers.api import AsyncApi, ControllerApiError, ControllerConnectionError

__all__ = ["Handler", "Informer", "key_of"]

Handler = Callable[[str, dict, dict | None], None]
log = logging.getLogger(__name__)


def key_of(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _newer(cached: dict, incoming: dict) -> bool:
    """The cached copy is newer than a watch event's (this API server's resourceVersions are
    one global integer counter, so they compare)."""
    try:
        return int(cached["metadata"]["resourceVersion"]) > int(incoming["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return False


class Informer:
    def __init__(self, api: AsyncApi, kind: str) -> None:
        self.api = api
        self.kind = kind
        self.cache: dict[str, dict] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.relists = 0

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, key: str) -> dict | None:
        return self.cache.get(key)

    def remember(self, obj: dict) -> None:
        """Cache what a write returned, unless the cache already holds a newer version."""
        key = key_of(obj)
        cached = self.cache.get(key)
        if cached is None or not _newer(cached, obj):
            self.cache[key] = obj

    def values(self) -> list[dict]:
        return list(self.cache.values())

    def _deliver(self, kind: str, obj: dict, old: dict | None) -> None:
        for handler in self.handlers:
            try:
                handler(kind, obj, old)
            except Exception:  # a handler bug must not stop the informer
                log.exception("%s handler failed", self.kind)

    async def _relist(self) -> None:
        listing = await self.api.list(self.kind)
        fresh = {key_of(o): o for o in listing.get("items") or []}
        self.relists += 1
        old_cache, self.cache = self.cache, fresh
        for key, obj in fresh.items():
            old = old_cache.get(key)
            if old is None:
                self._deliver("ADDED", obj, None)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._deliver("MODIFIED", obj, old)
        for key, old in old_cache.items():
            if key not in fresh:
                self._deliver("DELETED", old, old)
        self.resource_version = listing.get("metadata", {}).get("resourceVersion", "")
        self.synced.set()

    async def run(self) -> None:
        await self._loop(need_list=True)

    async def run_watch_only(self) -> None:
        """Resume watching from :attr:`resource_version` without listing first."""
        await self._loop(need_list=False)

    async def _loop(self, need_list: bool) -> None:
        while True:
            try:
                if need_list:
                    await self._relist()
                    need_list = False
                async for event in self.api.watch(self.kind, self.resource_version):
                    etype, obj = event.get("type"), event.get("object") or {}
                    if etype == "ERROR":
                        if obj.get("code") == 410:
                            need_list = True
                            break
                        raise ControllerApiError(obj.get("message", ""), obj.get("code", 500))
                    rv = obj.get("metadata", {}).get("resourceVersion")
                    if rv:
                        self.resource_version = rv
                    if etype == "BOOKMARK":
                        continue
                    key = key_of(obj)
                    old = self.cache.get(key)
                    if etype == "MODIFIED" and old is not None and _newer(old, obj):
                        continue  # a controller's own write is already cached (read-your-writes)
                    if etype == "DELETED":
                        self.cache.pop(key, None)
                    else:
                        self.cache[key] = obj
                    self._deliver(etype, obj, old)
            except ControllerApiError as exc:
                need_list = exc.code == 410 or need_list
                if exc.code != 410:
                    log.warning("watch %s: %s", self.kind, exc)
                    await asyncio.sleep(0.5)
            except ControllerConnectionError as exc:
                log.warning("watch %s: %s", self.kind, exc)
                await asyncio.sleep(0.5)
