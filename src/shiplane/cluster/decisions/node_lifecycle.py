"""Node health and taint-based eviction (k8s pkg/controller/nodelifecycle/node_lifecycle_controller.go
tryUpdateNodeHealth / doNoExecuteTaintingPass, pkg/controller/tainteviction/taint_eviction.go,
plugin/pkg/admission/defaulttolerationseconds).

Theory of operation: a node whose kubelet has not renewed its Lease for the monitor grace period
gets its Ready (and pressure) conditions set to Unknown, "Kubelet stopped posting node status.",
and the ``node.kubernetes.io/unreachable`` taints (NoSchedule and NoExecute); a node reporting
Ready=False gets ``node.kubernetes.io/not-ready`` instead. A pod on a node with NoExecute taints
it does not tolerate is evicted at once; if it tolerates them, at the earliest taint time +
tolerationSeconds (pods get 300 s for both taints by default admission).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.scheduler_filters import tolerates

__all__ = [
    "DEFAULT_TOLERATIONS",
    "MONITOR_GRACE_SECONDS",
    "NOT_READY_TAINT",
    "UNREACHABLE_TAINT",
    "EvictionTime",
    "node_health",
    "taint_eviction",
]

MONITOR_GRACE_SECONDS = (
    50  # --node-monitor-grace-period default (50 s in recent releases, 40 s before)
)
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
# DefaultTolerationSeconds admission: added to every pod that does not set them itself
DEFAULT_TOLERATIONS = (
    {"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {
        "key": UNREACHABLE_TAINT,
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
)
_HEALTH_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
Obj = Mapping[str, Any]


def node_health(
    node: Obj,
    lease_renewed: datetime | None,
    now: datetime,
    grace_seconds: int = MONITOR_GRACE_SECONDS,
) -> tuple[list, list]:
    """(conditions, taints) the node lifecycle controller wants on ``node`` now."""
    status = node.get("status") or {}
    conditions = [dict(c) for c in status.get("conditions") or []]
    stale = lease_renewed is None or lease_renewed + timedelta(seconds=grace_seconds) < now
    if stale:
        by_type = {c.get("type"): c for c in conditions}
        for kind in _HEALTH_CONDITIONS:
            cond = by_type.get(kind)
            if cond is None:
                cond = {"type": kind}
                conditions.append(cond)
            if cond.get("status") != "Unknown":
                cond.update(status="Unknown", reason="NodeStatusUnknown",
                            message="Kubelet stopped posting node status.",
                            lastTransitionTime=format_time(now))  # fmt: skip
            cond["lastHeartbeatTime"] = format_time(lease_renewed) if lease_renewed else None
    ready = next((c for c in conditions if c.get("type") == "Ready"), {})
    ours = {UNREACHABLE_TAINT, NOT_READY_TAINT}
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") not in ours]
    existing = {
        (t.get("key"), t.get("effect")): t for t in (node.get("spec") or {}).get("taints") or []
    }
    key = {"Unknown": UNREACHABLE_TAINT, "False": NOT_READY_TAINT}.get(ready.get("status"))
    if key is not None:
        for effect in ("NoSchedule", "NoExecute"):
            taint = existing.get((key, effect)) or {"key": key, "effect": effect}
            if effect == "NoExecute" and "timeAdded" not in taint:
                taint = {**taint, "timeAdded": format_time(now)}
            taints.append(taint)
    return conditions, taints


@dataclass(frozen=True)
class EvictionTime:
    at: datetime | None  # None: the pod tolerates the taints forever (or there are none)
    events: tuple[Event, ...] = ()
    condition: dict | None = None  # DisruptionTarget to set when evicting


def taint_eviction(pod: Obj, taints: Sequence[Obj], now: datetime) -> EvictionTime:
    """When the taint eviction controller deletes ``pod`` (``at <= now``: delete now)."""
    no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
    if not no_execute:
        return EvictionTime(None)
    tolerations = list((pod.get("spec") or {}).get("tolerations") or [])
    deadline: datetime | None = None
    for taint in no_execute:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            deadline = now
            break
        seconds = [
            t["tolerationSeconds"] for t in matching if t.get("tolerationSeconds") is not None
        ]
        if not seconds:
            continue  # tolerated forever
        added = parse_time(taint.get("timeAdded")) or now
        when = added + timedelta(seconds=max(0, min(seconds)))
        deadline = when if deadline is None else min(deadline, when)
    if deadline is None or deadline > now:
        return EvictionTime(deadline)
    meta = pod.get("metadata") or {}
    event = Event(
        "Normal",
        "TaintManagerEviction",
        f"Marking for deletion Pod {meta.get('namespace', 'default')}/{meta.get('name', '')}",
    )
    condition = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                 "message": "Taint manager: deleting due to NoExecute taint",
                 "lastTransitionTime": format_time(now)}  # fmt: skip
    return EvictionTime(deadline, (event,), condition)
