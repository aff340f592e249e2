"""The one cluster clock: wall time accelerated by ``time_scale`` from the moment it starts.

Every controller and simulated node reads :meth:`ClusterClock.now` and sleeps with
:meth:`ClusterClock.sleep`, so with ``--time-scale 60`` a 600 s progress deadline or a 300 s
image-pull back-off passes in 10 real seconds. Timestamps the API server itself writes
(creationTimestamp, deletionTimestamp) stay on real time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

__all__ = ["ClusterClock"]


class ClusterClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = time_scale
        self._wall = datetime.now(timezone.utc)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._mono) * self.time_scale
        return self._wall + timedelta(seconds=elapsed)

    def real_seconds(self, cluster_seconds: float) -> float:
        return max(0.0, cluster_seconds) / self.time_scale

    async def sleep(self, cluster_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(cluster_seconds))
