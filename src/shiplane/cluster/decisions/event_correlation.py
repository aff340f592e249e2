"""Event correlation before writing: client-go's EventCorrelator (tools/record/events_cache.go).

Theory of operation: every core/v1 Event a recorder is about to write passes through
:meth:`EventCorrelator.correlate`, which does, in upstream's order:

1. **Aggregation** (``EventAggregator``): events that differ only by message — same source,
   involved object, type, reason, reporting controller/instance — are counted per 600 s
   window; from the 10th distinct message on, the event is replaced by one aggregate Event
   whose message is ``"(combined from similar events): " + message``, keyed by the group, so
   later similar events update it instead of creating more.
2. **Observation** (``eventLogger.eventObserve``): an event whose key was written before
   becomes a patch of that Event (``count + 1``, ``lastTimestamp``, ``message``) instead of a
   new one.
3. **Spam filter** (``EventSourceObjectSpamFilter``): one token bucket per (source, involved
   object): 25 events at once, then one every 5 minutes; an event without a token is skipped.

All three caches are LRUs of 4,096 entries (``maxLruCacheEntries``). The correlator does no
I/O: the caller writes the result and reports what the server stored with
:meth:`EventCorrelator.update_state`. With 10,000 pods created by one ReplicaSet this turns
10,000 ``SuccessfulCreate`` writes about the ReplicaSet into 25 (upstream's behaviour).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shiplane.cluster.decisions.clock import format_time

__all__ = [
    "AGGREGATE_INTERVAL_SECONDS",
    "AGGREGATE_MAX_EVENTS",
    "LRU_CACHE_ENTRIES",
    "SPAM_BURST",
    "SPAM_QPS",
    "Correlation",
    "EventCorrelator",
]

LRU_CACHE_ENTRIES = 4096  # maxLruCacheEntries
AGGREGATE_MAX_EVENTS = 10  # defaultAggregateMaxEvents
AGGREGATE_INTERVAL_SECONDS = 600  # defaultAggregateIntervalInSeconds
SPAM_BURST = 25  # defaultSpamBurst
SPAM_QPS = 1.0 / 300.0  # defaultSpamQPS
AGGREGATE_PREFIX = "(combined from similar events): "

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """golang/groupcache/lru: bounded, least recently used entry evicted first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def add(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class _TokenBucket:
    """flowcontrol's token bucket rate limiter: starts full, refills at ``qps`` up to ``burst``."""

    tokens: float
    last: float  # seconds (cluster clock)

    def try_accept(self, now: float, qps: float, burst: int) -> bool:
        self.tokens = min(float(burst), self.tokens + max(0.0, now - self.last) * qps)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class _AggregateRecord:
    local_keys: set[str]
    last: float


@dataclass(frozen=True)
class _Observation:
    count: int
    first_timestamp: str
    name: str
    resource_version: str


@dataclass(frozen=True)
class Correlation:
    """What to write: ``event`` (a full core/v1 Event), as a patch of the existing Event named
    in it when ``patch`` is set; nothing at all when ``skip``."""

    event: dict[str, Any]
    patch: dict[str, Any] | None = None
    skip: bool = False


def _source(event: dict[str, Any]) -> tuple[str, str]:
    source = event.get("source") or {}
    return source.get("component", ""), source.get("host", "")


def _involved(event: dict[str, Any]) -> tuple[str, ...]:
    ref = event.get("involvedObject") or {}
    return (ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
            ref.get("uid", ""), ref.get("apiVersion", ""))


def event_key(event: dict[str, Any]) -> tuple[str, ...]:
    """getEventKey: source, involved object (with fieldPath), type, reason, message."""
    ref = event.get("involvedObject") or {}
    return (*_source(event), *_involved(event), ref.get("fieldPath", ""), event.get("type", ""),
            event.get("reason", ""), event.get("message", ""))


def spam_key(event: dict[str, Any]) -> tuple[str, ...]:
    """getSpamKey: source and involved object."""
    return (*_source(event), *_involved(event))


def aggregate_key(event: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """EventAggregatorByReasonFunc: (group key without the message, the message)."""
    group = (*_source(event), *_involved(event), event.get("type", ""), event.get("reason", ""),
             event.get("reportingComponent", ""), event.get("reportingInstance", ""))
    return group, event.get("message", "")


def _seconds(now: datetime) -> float:
    return now.timestamp()


class EventCorrelator:
    def __init__(self, cache_size: int = LRU_CACHE_ENTRIES, *, burst: int = SPAM_BURST,
                 qps: float = SPAM_QPS, max_events: int = AGGREGATE_MAX_EVENTS,
                 max_interval: float = AGGREGATE_INTERVAL_SECONDS) -> None:
        self.burst, self.qps = burst, qps
        self.max_events, self.max_interval = max_events, max_interval
        self._spam: _Lru[tuple[str, ...], _TokenBucket] = _Lru(cache_size)
        self._aggregates: _Lru[tuple[str, ...], _AggregateRecord] = _Lru(cache_size)
        self._observed: _Lru[tuple[str, ...], _Observation] = _Lru(cache_size)
        self._last_nanos = 0

    def event_name(self, involved_name: str, now: datetime) -> str:
        """``<object>.<unix nanoseconds in hex>`` (record.makeEvent), unique per correlator."""
        nanos = max(int(_seconds(now) * 1_000_000) * 1000, self._last_nanos + 1)
        self._last_nanos = nanos
        return f"{involved_name}.{nanos:x}"

    def correlate(self, event: dict[str, Any], now: datetime) -> Correlation:
        event, key = self._aggregate(event, now)
        event, patch = self._observe(event, key)
        if self._filtered(event, now):
            return Correlation(event, None, skip=True)
        return Correlation(event, patch)

    def update_state(self, event: dict[str, Any]) -> None:
        """Remember what the server stored (eventLogger.updateState)."""
        meta = event.get("metadata") or {}
        self._observed.add(event_key(event), _Observation(
            int(event.get("count") or 1), event.get("firstTimestamp") or "",
            meta.get("name", ""), str(meta.get("resourceVersion") or "")))

    # -- the three steps -----------------------------------------------------------------

    def _aggregate(self, event: dict[str, Any], now: datetime) -> tuple[dict[str, Any], tuple]:
        group, local = aggregate_key(event)
        seconds = _seconds(now)
        record = self._aggregates.get(group)
        if record is None or seconds - record.last > self.max_interval:
            record = _AggregateRecord(set(), seconds)
        record.local_keys.add(local)
        record.last = seconds
        self._aggregates.add(group, record)
        if len(record.local_keys) < self.max_events:
            return event, event_key(event)
        record.local_keys.pop()  # do not grow the set beyond the maximum
        stamp = format_time(now)
        involved = event.get("involvedObject") or {}
        aggregate = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": self.event_name(involved.get("name", ""), now),
                         "namespace": (event.get("metadata") or {}).get("namespace", "")},
            "involvedObject": involved,
            "reason": event.get("reason", ""),
            "message": AGGREGATE_PREFIX + event.get("message", ""),
            "type": event.get("type", ""),
            "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": event.get("source") or {},
        }
        return aggregate, group

    def _observe(self, event: dict[str, Any], key: tuple) -> tuple[dict[str, Any], dict | None]:
        last = self._observed.get(key)
        patch = None
        if last is not None and last.count > 0:
            meta = {**(event.get("metadata") or {}), "name": last.name}
            if last.resource_version:
                meta["resourceVersion"] = last.resource_version
            event = {**event, "metadata": meta, "firstTimestamp": last.first_timestamp,
                     "count": last.count + 1}
            # CreateTwoWayMergePatch against a copy with count 0, lastTimestamp at the epoch
            # and no message: exactly these three fields
            patch = {"count": event["count"], "lastTimestamp": event.get("lastTimestamp"),
                     "message": event.get("message", "")}
        meta = event.get("metadata") or {}
        self._observed.add(key, _Observation(
            int(event.get("count") or 1), event.get("firstTimestamp") or "",
            meta.get("name", ""), str(meta.get("resourceVersion") or "")))
        return event, patch

    def _filtered(self, event: dict[str, Any], now: datetime) -> bool:
        key = spam_key(event)
        seconds = _seconds(now)
        bucket = self._spam.get(key)
        if bucket is None:
            bucket = _TokenBucket(float(self.burst), seconds)
        accepted = bucket.try_accept(seconds, self.qps, self.burst)
        self._spam.add(key, bucket)
        return not accepted
