"""The ReplicaSet controller's sync as a pure function (k8s pkg/controller/replicaset/replica_set.go
manageReplicas, replica_set_utils.go calculateStatus, pkg/controller/controller_utils.go
ActivePodsWithRanks and slowStartBatch).

Theory of operation: ``plan_replicaset(rs, pods, now)`` looks at the active pods the RS controls
and returns how many pods to create (as slow-start batches 1, 2, 4, ...: the executor creates a
batch, stops at the first failed batch, and skips the rest), which pods to delete (least useful
first), and the status to write. Like upstream's expectations, the executor must not plan again
for an RS until the pods it created or deleted have been observed through its watch.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.copying import copy_object
from shiplane.cluster.decisions.deployment_util import replicas_of
from shiplane.cluster.decisions.labels import matches_label_selector
from shiplane.cluster.decisions.pods import (
    is_pod_active,
    is_pod_available,
    is_pod_ready,
)

__all__ = [
    "BURST_REPLICAS",
    "SLOW_START_INITIAL_BATCH_SIZE",
    "PodRank",
    "ReplicaSetPlan",
    "calculate_replicaset_status",
    "created_event",
    "deleted_event",
    "failed_create_event",
    "pod_from_template",
    "pods_to_delete",
    "plan_replicaset",
    "settle_replica_failure",
    "slow_start_batches",
]

BURST_REPLICAS = 500  # replicaset controller's BurstReplicas
SLOW_START_INITIAL_BATCH_SIZE = 1  # controller.SlowStartInitialBatchSize
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class ReplicaSetPlan:
    create_batches: tuple[int, ...]
    delete: tuple[str, ...]
    status: dict
    requeue_after: float | None = None

    @property
    def create(self) -> int:
        return sum(self.create_batches)


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> tuple[int, ...]:
    """slowStartBatch sizes: initial, then doubling, the last one capped at what remains."""
    batches = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return tuple(batches)


def _max_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _log_rank(moment: datetime, now: datetime) -> int:
    nanos = (now - moment).total_seconds() * 1e9
    return int(math.log2(nanos)) if nanos > 0 else -1


def _created(pod: Obj) -> datetime | None:
    return parse_time((pod.get("metadata") or {}).get("creationTimestamp"))


def _uid(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return meta.get("uid") or meta.get("name", "")


def _deletion_cost(pod: Obj) -> int:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(
        "controller.kubernetes.io/pod-deletion-cost"
    )
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class PodRank:
    """What ActivePodsWithRanks.Less reads of one pod, computed once (a comparison then reads
    fields instead of re-walking conditions). Timestamps stay RFC 3339 text (equal text = equal
    time, as the API server writes them); their LogarithmicScaleDown ranks are computed only
    when a comparison needs them, once per distinct timestamp. A pod's rank depends on nothing
    but the pod, so callers may keep ranks by (uid, resourceVersion) across plans."""

    node: str
    phase: int
    ready: bool
    cost: int
    ready_at: str | None
    restarts: int
    created: str | None
    uid: str

    @classmethod
    def of(cls, pod: Obj) -> PodRank:
        status = pod.get("status") or {}
        ready_at, ready = None, False
        for cond in status.get("conditions") or ():
            if cond.get("type") == "Ready":
                ready = cond.get("status") == "True"
                ready_at = (cond.get("lastTransitionTime") or None) if ready else None
                break
        meta = pod.get("metadata") or {}
        return cls((pod.get("spec") or {}).get("nodeName") or "",
                   _PHASE_ORDINAL.get(status.get("phase"), 0), ready, _deletion_cost(pod),
                   ready_at, _max_restarts(pod), meta.get("creationTimestamp") or None,
                   meta.get("uid") or meta.get("name", ""))


def _compare(a: PodRank, related_a: int, b: PodRank, related_b: int,
             rank: Callable[[str], int]) -> int:
    """ActivePodsWithRanks.Less as a cmp: negative when ``a`` should be deleted first.
    ``related_*``: active pods of the same owner family on the pod's node."""
    if bool(a.node) != bool(b.node):  # 1. unassigned < assigned
        return 1 if a.node else -1
    if a.phase != b.phase:  # 2. Pending < Unknown < Running
        return -1 if a.phase < b.phase else 1
    if a.ready != b.ready:  # 3. not ready < ready
        return 1 if a.ready else -1
    if a.cost != b.cost:  # 4. lower pod-deletion-cost first
        return -1 if a.cost < b.cost else 1
    if related_a != related_b:  # 5. doubled up (more related pods on the node) first
        return -1 if related_a > related_b else 1
    if a.ready and b.ready and a.ready_at != b.ready_at:  # 6. ready for less time first
        result = _newer_first(a.ready_at, b.ready_at, a.uid, b.uid, rank)
        if result:
            return result
    if a.restarts != b.restarts:  # 7. more restarts first
        return -1 if a.restarts > b.restarts else 1
    if a.created != b.created:  # 8. empty creation time < newer < older
        return _newer_first(a.created, b.created, a.uid, b.uid, rank)
    return 0


def _newer_first(ta: str | None, tb: str | None, uid_a: str, uid_b: str,
                 rank: Callable[[str], int]) -> int:
    # afterOrZero when a time is missing; otherwise LogarithmicScaleDown rank, UID on ties
    if ta is None or tb is None:
        if ta is None and tb is None:
            return 0
        return -1 if ta is None else 1
    rank_a, rank_b = rank(ta), rank(tb)
    if rank_a == rank_b:
        return -1 if uid_a < uid_b else (1 if uid_a > uid_b else 0)
    return -1 if rank_a < rank_b else 1


def pods_to_delete(
    pods: Sequence[Obj], related_pods: Sequence[Obj], count: int, now: datetime,
    rank_cache: MutableMapping[tuple[str, str], PodRank] | None = None,
) -> list[Obj]:
    """getPodsToDelete: rank by pods of the same owner family on the same node, then take the
    ``count`` least useful (``heapq.nsmallest``: the first ``count`` of the sorted order, in
    O(n log count) rather than a full sort of every pod on each scale-down step).
    ``rank_cache`` keeps each pod's :class:`PodRank` by (uid, resourceVersion) across calls."""
    pods = list(pods)
    if count >= len(pods):
        return pods[:count]
    per_node: dict[str, int] = {}
    for pod in related_pods:
        if is_pod_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            per_node[node] = per_node.get(node, 0) + 1
    rank = functools.lru_cache(maxsize=None)(lambda text: _log_rank(parse_time(text), now))
    ranked = []
    for index, pod in enumerate(pods):
        meta = pod.get("metadata") or {}
        version = meta.get("resourceVersion")
        if rank_cache is None or not version:
            pod_rank = PodRank.of(pod)
        else:
            key = (meta.get("uid") or "", version)
            pod_rank = rank_cache.get(key)
            if pod_rank is None:
                pod_rank = rank_cache[key] = PodRank.of(pod)
        ranked.append((pod_rank, per_node.get(pod_rank.node, 0), index))
    least = heapq.nsmallest(count, ranked, key=functools.cmp_to_key(
        lambda a, b: _compare(a[0], a[1], b[0], b[1], rank)))
    return [pods[index] for _, _, index in least]


def calculate_replicaset_status(rs: Obj, pods: Sequence[Obj], now: datetime) -> dict:
    """replica_set_utils.go calculateStatus over the RS's active pods (+ observedGeneration)."""
    template_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get(
        "labels"
    ) or {}
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    fully, ready, available = 0, 0, 0
    for pod in pods:
        if matches_label_selector(
            {"matchLabels": template_labels}, (pod.get("metadata") or {}).get("labels")
        ):
            fully += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    status = copy_object(dict(rs.get("status") or {}))
    status.update(
        {
            "replicas": len(pods),
            "fullyLabeledReplicas": fully,
            "readyReplicas": ready,
            "availableReplicas": available,
            "observedGeneration": int((rs.get("metadata") or {}).get("generation") or 0),
        }
    )
    return status


def plan_replicaset(
    rs: Obj, pods: Sequence[Obj], now: datetime, related_pods: Sequence[Obj] | None = None
) -> ReplicaSetPlan:
    """syncReplicaSet: ``pods`` are the pods the RS controls; ``related_pods`` those of its
    Deployment's other ReplicaSets too (for the same-node rank), defaulting to ``pods``."""
    active = [p for p in pods if is_pod_active(p)]
    status = calculate_replicaset_status(rs, active, now)
    desired = replicas_of(rs)
    diff = len(active) - desired
    batches: tuple[int, ...] = ()
    delete: tuple[str, ...] = ()
    if diff < 0:
        batches = slow_start_batches(min(-diff, BURST_REPLICAS))
    elif diff > 0:
        chosen = pods_to_delete(
            active,
            related_pods if related_pods is not None else active,
            min(diff, BURST_REPLICAS),
            now,
        )
        delete = tuple(p["metadata"]["name"] for p in chosen)
    requeue = None
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    if (
        min_ready > 0
        and status["readyReplicas"] == desired
        and status["availableReplicas"] != desired
    ):
        requeue = float(min_ready)  # re-check once pods have been ready long enough
    return ReplicaSetPlan(batches, delete, status, requeue)


def pod_from_template(rs: Obj) -> dict:
    """controller.GetPodFromTemplate: a pod to POST (generateName ``<rs>-``, controller ref)."""
    template = (rs.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    meta = rs.get("metadata") or {}
    pod_meta: dict[str, Any] = {
        "generateName": f"{meta.get('name', '')}-",
        "namespace": meta.get("namespace", "default"),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = list(tmeta["finalizers"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy_object(template.get("spec") or {}),
    }


def created_event(pod_name: str) -> tuple[str, str, str]:
    return ("Normal", "SuccessfulCreate", f"Created pod: {pod_name}")


def deleted_event(pod_name: str) -> tuple[str, str, str]:
    return ("Normal", "SuccessfulDelete", f"Deleted pod: {pod_name}")


def failed_create_event(error: str) -> tuple[str, str, str]:
    return ("Warning", "FailedCreate", f"Error creating: {error}")


def settle_replica_failure(status: dict, diff: int, error: str | None, now: datetime) -> dict:
    """After executing a plan (replica_set_utils.go calculateStatus with manageReplicasErr):
    an error adds ReplicaFailure (FailedCreate when pods were missing, FailedDelete when there
    were too many) unless one is already there; success removes it. ``diff`` is
    ``len(active pods) - spec.replicas`` as planned."""
    status = copy_object(status)
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
    existing = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None
    )
    if error is not None and existing is None:
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        conditions.append({"type": "ReplicaFailure", "status": "True", "reason": reason,
                           "message": error, "lastTransitionTime": format_time(now)})  # fmt: skip
    elif error is not None:
        conditions.append(existing)
    status["conditions"] = conditions
    if not conditions:
        del status["conditions"]
    return status
