"""client-go's EventCorrelator (tools/record/events_cache.go): aggregation of similar events,
count patches of repeated ones, and the per-(source, object) spam filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shiplane.cluster.decisions.event_correlation import (
    AGGREGATE_PREFIX,
    EventCorrelator,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _event(name: str, reason: str, message: str, *, uid: str = "u1", host: str = "") -> dict:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.x", "namespace": "default"},
        "involvedObject": {"kind": "ReplicaSet", "namespace": "default", "name": name,
                           "uid": uid, "apiVersion": "apps/v1"},
        "reason": reason, "message": message, "type": "Normal", "count": 1,
        "firstTimestamp": "t", "lastTimestamp": "t",
        "source": {"component": "replicaset-controller", **({"host": host} if host else {})},
        "reportingComponent": "replicaset-controller", "reportingInstance": host,
    }


def _stored(result_event: dict, rv: int) -> dict:
    return {**result_event, "metadata": {**result_event["metadata"], "resourceVersion": str(rv)}}


def test_repeated_event_becomes_a_count_patch_of_the_first():
    c = EventCorrelator()
    first = c.correlate(_event("web", "BackOff", "Back-off restarting"), T0)
    assert first.patch is None and not first.skip
    c.update_state(_stored(first.event, 5))
    second = c.correlate(_event("web", "BackOff", "Back-off restarting"), T0 + timedelta(seconds=1))
    assert second.patch == {"count": 2, "lastTimestamp": "t", "message": "Back-off restarting"}
    assert second.event["metadata"]["name"] == first.event["metadata"]["name"]
    third = c.correlate(_event("web", "BackOff", "Back-off restarting"), T0 + timedelta(seconds=2))
    assert third.patch["count"] == 3


def test_tenth_similar_message_is_aggregated_and_later_ones_patch_the_aggregate():
    c = EventCorrelator()
    results = [c.correlate(_event("web", "SuccessfulCreate", f"Created pod: web-{i}"), T0)
               for i in range(12)]
    # the first nine keep their own messages (events_cache.go: aggregate when >= maxEvents)
    assert all(r.patch is None and not r.event["message"].startswith(AGGREGATE_PREFIX)
               for r in results[:9])
    assert results[9].event["message"] == AGGREGATE_PREFIX + "Created pod: web-9"
    assert results[9].patch is None
    assert results[10].event["message"] == AGGREGATE_PREFIX + "Created pod: web-10"
    assert results[10].patch is not None and results[10].patch["count"] == 2
    assert results[10].event["metadata"]["name"] == results[9].event["metadata"]["name"]


def test_aggregation_window_restarts_after_ten_quiet_minutes():
    c = EventCorrelator()
    for i in range(9):
        c.correlate(_event("web", "SuccessfulCreate", f"m{i}"), T0)
    late = c.correlate(_event("web", "SuccessfulCreate", "m9"), T0 + timedelta(seconds=601))
    assert not late.event["message"].startswith(AGGREGATE_PREFIX)


def test_spam_filter_allows_a_burst_of_25_per_object_then_one_per_five_minutes():
    c = EventCorrelator()
    outcomes = [c.correlate(_event("web", f"R{i}", "m"), T0).skip for i in range(30)]
    assert outcomes == [False] * 25 + [True] * 5
    assert c.correlate(_event("web", "R40", "m"), T0 + timedelta(seconds=299)).skip
    assert not c.correlate(_event("web", "R41", "m"), T0 + timedelta(seconds=600)).skip
    # another object (or another source host) has its own bucket
    assert not c.correlate(_event("api", "R0", "m", uid="u2"), T0).skip
    assert not c.correlate(_event("web", "R0", "m", host="node-1"), T0).skip


def test_ten_thousand_creations_by_one_replicaset_write_25_events():
    c = EventCorrelator()
    written = sum(not c.correlate(_event("web", "SuccessfulCreate", f"Created pod: web-{i}"),
                                  T0 + timedelta(milliseconds=i)).skip for i in range(10_000))
    assert written == 25


def test_caches_are_bounded_lrus():
    c = EventCorrelator(cache_size=3)
    for i in range(10):
        c.correlate(_event(f"rs{i}", "SuccessfulCreate", "m", uid=f"u{i}"), T0)
    assert len(c._spam) == 3 and len(c._aggregates) == 3 and len(c._observed) == 3


def test_event_names_are_unique_and_upstream_shaped():
    c = EventCorrelator()
    names = {c.event_name("web-1", T0) for _ in range(100)}
    assert len(names) == 100
    assert all(n.startswith("web-1.") and int(n.split(".")[1], 16) > 0 for n in names)
