"""What the ReplicaSet and Job controllers share: expectations and slow-start pod writes.

Upstream keeps these in pkg/controller/controller_utils.go: ``ControllerExpectations`` (after
a controller creates or deletes pods it does not plan again for that owner until its pod
informer has observed those creations and deletions, or ``ExpectationsTimeout`` — 5 minutes —
passed, so it never double-creates) and ``slowStartBatch`` (creates in batches 1, 2, 4, ...,
stopping at the first batch with a failure; the creations it skips are lowered from the
expectations because they will never be observed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shiplane.cluster.controllers.api import ControllerApiError

__all__ = ["EXPECTATIONS_TIMEOUT", "ControllerExpectations", "PodWrites", "create_pods",
           "delete_pods"]

EXPECTATIONS_TIMEOUT = 300.0  # ExpectationsTimeout (real seconds)


class ControllerExpectations:
    """Per owner key: creations and deletions still to be observed, and since when."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._pending: dict[str, list] = {}  # key -> [adds, deletes, since]

    def expect(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        self._pending[key] = [adds, deletes, time.monotonic()]

    def lower(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        """Writes that failed or were skipped: their events will never come."""
        pending = self._pending.get(key)
        if pending is not None:
            pending[0] -= adds
            pending[1] -= deletes

    def observe(self, key: str, etype: str, pod: dict, old: dict | None) -> None:
        """A pod event of ``key``'s: an ADDED pod is an observed creation, a pod newly marked
        for deletion (or deleted without having been marked) an observed deletion."""
        pending = self._pending.get(key)
        if not pending:
            return
        if etype == "DELETED":
            if not (old or pod)["metadata"].get("deletionTimestamp"):
                pending[1] -= 1
            return
        if etype == "ADDED":
            pending[0] -= 1
        if pod["metadata"].get("deletionTimestamp") and \
                not (old or {}).get("metadata", {}).get("deletionTimestamp"):
            pending[1] -= 1

    def satisfied(self, key: str) -> bool:
        pending = self._pending.get(key)
        if pending is None:
            return True
        if (pending[0] <= 0 and pending[1] <= 0) or time.monotonic() - pending[2] > self.timeout:
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)


@dataclass
class PodWrites:
    """What a batch of pod creations or deletions did."""

    done: list[str]  # names created or deleted
    errors: list[str] = field(default_factory=list)  # failures' messages (not a delete's 404)
    failed: int = 0  # writes that failed (404 on delete counts: nothing to observe)
    skipped: int = 0  # creations never attempted after a failing batch

    @property
    def error(self) -> str | None:
        return self.errors[0] if self.errors else None


async def create_pods(create: Callable, ns: str, pods: Sequence[dict],
                      batches: Sequence[int]) -> PodWrites:
    """Create ``pods`` in slow-start ``batches`` (sizes summing to len(pods)); stop at the first
    batch with a failure."""
    result = PodWrites(done=[])
    start = 0
    for size in batches:
        outcomes = await asyncio.gather(*(create("Pod", ns, p) for p in pods[start:start + size]),
                                        return_exceptions=True)
        start += size
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        result.done += [o["metadata"]["name"] for o in outcomes
                        if not isinstance(o, BaseException)]
        if failures:
            result.failed, result.skipped = len(failures), len(pods) - start
            result.errors = [str(f) for f in failures]
            break
    return result


async def delete_pods(delete: Callable, ns: str, names: Sequence[str]) -> PodWrites:
    """Delete ``names`` at once; a pod already gone (404) is no error."""
    outcomes = await asyncio.gather(*(delete("Pod", ns, n) for n in names), return_exceptions=True)
    result = PodWrites(done=[])
    for name, outcome in zip(names, outcomes):
        if not isinstance(outcome, BaseException):
            result.done.append(name)
            continue
        result.failed += 1
        if not (isinstance(outcome, ControllerApiError) and outcome.code == 404):
            result.errors.append(str(outcome))
    return result
