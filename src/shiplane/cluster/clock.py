"""The one cluster clock: wall time accelerated by ``time_scale`` from a shared epoch.

``now = epoch + (wall_now - epoch) * time_scale``. The API server (creationTimestamp,
deletionTimestamp, managedFields times, Table ages) and the control plane (controllers, event
recorder, simulated kubelets) each build a :class:`ClusterClock` from the same ``time_scale``
and ``epoch`` — in one process (``shiplane.testing.EmbeddedCluster``, ``shiplane up``) or across
the two processes ``shiplane cluster up`` starts, which get both on their command lines — so
they read the same cluster time: with ``--time-scale 100`` a 600 s progress deadline passes in
6 real seconds on both sides. Wall time (not a monotonic clock) is what two processes share.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

__all__ = ["ClusterClock"]


class ClusterClock:
    def __init__(self, time_scale: float = 1.0, epoch: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = time_scale
        self.epoch = time.time() if epoch is None else epoch  # POSIX seconds, wall time

    def now(self) -> datetime:
        cluster = self.epoch + (time.time() - self.epoch) * self.time_scale
        return datetime.fromtimestamp(cluster, timezone.utc)

    def real_seconds(self, cluster_seconds: float) -> float:
        return max(0.0, cluster_seconds) / self.time_scale

    async def sleep(self, cluster_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(cluster_seconds))
