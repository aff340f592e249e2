"""What every controller shares: the API seam, the clock, the informers, the recorder, a queue.

A controller registers informer handlers that turn events into queue keys, and implements
``sync(key)``; :meth:`Controller.run` runs ``workers`` coroutines over the queue. A sync that
fails (a conflict, a dropped connection) is retried after a short back-off, like upstream's
rate-limited requeue.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass, field

from shiplane.cluster.controllers.api import AsyncApi, ControllerApiError, ControllerConnectionError
from shiplane.cluster.controllers.clock import ClusterClock
from shiplane.cluster.controllers.events import EventRecorder
from shiplane.cluster.controllers.informer import Informer
from shiplane.cluster.controllers.workqueue import WorkQueue
from shiplane.errors import ClusterError

__all__ = ["Context", "Controller", "SyncError", "controller_ref"]

log = logging.getLogger(__name__)


class SyncError(ClusterError):
    """A sync stopped with an error on purpose (upstream's sync returns an error): retried
    with the same back-off as a failed API call."""


@dataclass
class Context:
    """The shared pieces of one control plane (one event loop)."""

    api: AsyncApi
    clock: ClusterClock
    recorder: EventRecorder
    informers: dict[str, Informer] = field(default_factory=dict)

    def informer(self, kind: str) -> Informer:
        if kind not in self.informers:
            self.informers[kind] = Informer(self.api, kind)
        return self.informers[kind]


def controller_ref(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


class Controller(abc.ABC):
    name = "controller"
    workers = 1

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.api = ctx.api
        self.clock = ctx.clock
        self.queue = WorkQueue(ctx.clock)
        self.failures: dict[str, int] = {}

    @abc.abstractmethod
    async def sync(self, key: str) -> None:
        """Bring the object behind ``key`` to its desired state (one reconcile)."""

    async def _process(self, key: str) -> None:
        try:
            await self.sync(key)
            self.failures.pop(key, None)
        except (ControllerApiError, ControllerConnectionError, SyncError) as exc:
            count = self.failures.get(key, 0) + 1
            self.failures[key] = count
            log.debug("%s %s: %s (retry %d)", self.name, key, exc, count)
            # rate limiter: 5 ms doubling, capped at 2 s real time
            await asyncio.sleep(0)
            self.queue.add_after(key, self.clock.time_scale * min(0.005 * 2**count, 2.0))
        except Exception:
            log.exception("%s %s failed", self.name, key)
            self.queue.add_after(key, self.clock.time_scale * 1.0)

    async def run(self) -> None:
        await asyncio.gather(*(self.queue.worker(self._process) for _ in range(self.workers)))
