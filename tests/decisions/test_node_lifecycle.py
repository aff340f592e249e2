"""Node health and taint eviction (k8s node_lifecycle_controller_test.go TestMonitorNodeHealth*,
tainteviction/taint_eviction_test.go)."""

from datetime import timedelta

from k8s_objects import T0, at, node

from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.node_lifecycle import (
    DEFAULT_TOLERATIONS,
    NOT_READY_TAINT,
    UNREACHABLE_TAINT,
    node_health,
    taint_eviction,
)


def ready_node(status="True"):
    n = node("n1")
    n["status"]["conditions"] = [{"type": "Ready", "status": status, "reason": "KubeletReady"}]
    return n


def test_fresh_lease_keeps_the_node_as_is():
    conditions, taints = node_health(ready_node(), at(0), at(50))
    assert conditions[0]["status"] == "True" and taints == []


def test_stale_lease_marks_unknown_and_taints_unreachable():
    conditions, taints = node_health(ready_node(), at(0), at(51))
    ready = next(c for c in conditions if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    assert {c["type"] for c in conditions} == {
        "Ready",
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
    }
    assert [(t["key"], t["effect"]) for t in taints] == [
        (UNREACHABLE_TAINT, "NoSchedule"),
        (UNREACHABLE_TAINT, "NoExecute"),
    ]
    assert taints[1]["timeAdded"] == format_time(at(51))
    # the taint keeps its original timeAdded on later passes
    n = ready_node()
    n["spec"]["taints"] = taints
    _, again = node_health(n, at(0), at(90))
    assert again[1]["timeAdded"] == format_time(at(51))


def test_not_ready_node_and_recovery():
    _, taints = node_health(ready_node("False"), at(0), at(1))
    assert {t["key"] for t in taints} == {NOT_READY_TAINT}
    n = ready_node()
    n["spec"]["taints"] = [
        {"key": UNREACHABLE_TAINT, "effect": "NoExecute"},
        {"key": "dedicated", "effect": "NoSchedule"},
    ]
    _, taints = node_health(n, at(100), at(101))
    assert taints == [{"key": "dedicated", "effect": "NoSchedule"}]


def pod(tolerations=()):
    return {
        "metadata": {"name": "web-1", "namespace": "prod"},
        "spec": {"tolerations": list(tolerations)},
    }


TAINT = [{"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": format_time(T0)}]


def test_default_tolerations_evict_after_300_seconds():
    p = pod(DEFAULT_TOLERATIONS)
    assert taint_eviction(p, TAINT, at(10)).at == at(300)
    evicted = taint_eviction(p, TAINT, at(300))
    assert evicted.events == (
        Event("Normal", "TaintManagerEviction", "Marking for deletion Pod prod/web-1"),
    )
    assert evicted.condition["reason"] == "DeletionByTaintManager"


def test_untolerated_evicts_now_and_forever_tolerations_never():
    assert taint_eviction(pod(), TAINT, at(1)).at == at(1)
    forever = pod([{"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute"}])
    assert taint_eviction(forever, TAINT, at(10**6)).at is None
    short = pod([*DEFAULT_TOLERATIONS, {"operator": "Exists", "tolerationSeconds": 30}])
    assert taint_eviction(short, TAINT, at(1)).at == at(30)  # the smallest matching wins
    assert taint_eviction(pod(), [{"key": "x", "effect": "NoSchedule"}], at(1)).at is None
    assert taint_eviction(pod(DEFAULT_TOLERATIONS), TAINT, T0 - timedelta(seconds=1)).events == ()
