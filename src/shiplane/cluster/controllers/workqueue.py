"""A rate-free work queue of keys (client-go workqueue): a key queued several times before it is
processed is processed once; a key being processed and queued again is processed again after;
:meth:`WorkQueue.add_after` re-queues after a delay on the cluster clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from shiplane.cluster.controllers.clock import ClusterClock

__all__ = ["WorkQueue"]


class WorkQueue:
    def __init__(self, clock: ClusterClock) -> None:
        self.clock = clock
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def add(self, key: str) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.put_nowait(key)

    def add_after(self, key: str, seconds: float) -> None:
        if seconds <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        delay = self.clock.real_seconds(seconds)
        timer = self._timers.get(key)
        if timer is not None and timer.when() <= loop.time() + delay:
            return  # an earlier requeue is already pending
        if timer is not None:
            timer.cancel()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def worker(self, process: Callable[[str], Awaitable[None]]) -> None:
        while True:
            key = await self._queue.get()
            self._dirty.discard(key)
            self._processing.add(key)
            try:
                await process(key)
                # a sync that never suspends must not starve the loop when its key is queued
                # again at once (Queue.get does not yield while the queue is non-empty)
                await asyncio.sleep(0)
            finally:
                self._processing.discard(key)
                if key in self._dirty:
                    self._queue.put_nowait(key)
            # Queue.get does not suspend while keys are waiting: a key that re-queues itself
            # at once (and does no I/O) would otherwise starve every other task on the loop.
            await asyncio.sleep(0)

    def __len__(self) -> int:
        return self._queue.qsize()
