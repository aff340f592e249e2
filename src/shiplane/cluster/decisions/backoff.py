"""The kubelet's exponential back-off (k8s client-go util/flowcontrol/backoff.go), used for image
pulls (key ``<podUID>_<image>``, kubelet.go imageBackOffPeriod) and crash loops (key per pod +
container, kuberuntime doBackOff): 10 s, doubling, capped at 300 s; an entry untouched for twice the
cap (10 min) is forgotten, so the next failure starts again at 10 s. Immutable: every update
returns a new :class:`Backoff`. Jitter is 0 in the kubelet, so none here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Mapping

__all__ = ["Backoff", "crash_backoff_key", "image_backoff_key"]

INITIAL_SECONDS = 10.0
MAX_SECONDS = 300.0


@dataclass(frozen=True)
class _Entry:
    delay: float
    last_update: datetime


@dataclass(frozen=True)
class Backoff:
    initial: float = INITIAL_SECONDS
    maximum: float = MAX_SECONDS
    entries: Mapping[str, _Entry] = field(default_factory=dict)

    def _expired(self, entry: _Entry, moment: datetime) -> bool:
        # hasExpired: stable again after twice the maximum back-off
        return (moment - entry.last_update).total_seconds() > self.maximum * 2

    def next(self, key: str, now: datetime) -> "Backoff":
        """Record a failure: start at ``initial`` or double (capped)."""
        entry = self.entries.get(key)
        if entry is None or self._expired(entry, now):
            delay = self.initial
        else:
            delay = min(entry.delay * 2, self.maximum)
        return replace(self, entries={**self.entries, key: _Entry(delay, now)})

    def get(self, key: str) -> float:
        entry = self.entries.get(key)
        return entry.delay if entry else 0.0

    def in_backoff_since_update(self, key: str, now: datetime) -> bool:
        """IsInBackOffSinceUpdate (image pulls): within delay of the last failure."""
        entry = self.entries.get(key)
        if entry is None or self._expired(entry, now):
            return False
        return (now - entry.last_update).total_seconds() < entry.delay

    def in_backoff_since(self, key: str, event_time: datetime, now: datetime) -> bool:
        """IsInBackOffSince (crash loops): within delay of ``event_time`` (the container's
        finishedAt)."""
        entry = self.entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return False
        return (now - event_time).total_seconds() < entry.delay

    def remaining(self, key: str, since: datetime, now: datetime) -> float:
        entry = self.entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.delay - (now - since).total_seconds())

    def gc(self, now: datetime) -> "Backoff":
        return replace(
            self, entries={k: e for k, e in self.entries.items() if not self._expired(e, now)}
        )


def image_backoff_key(pod_uid: str, image: str) -> str:
    return f"{pod_uid}_{image}"


def crash_backoff_key(pod_name: str, namespace: str, pod_uid: str, container: str) -> str:
    """getStableKey without the container-spec hash (a changed spec means a new pod here)."""
    return f"{pod_name}_{namespace}_{pod_uid}_{container}"
