"""PodDisruptionBudget status and the eviction decision (k8s pkg/controller/disruption/
disruption.go trySync / getExpectedPodCount / countHealthyPods / updatePdbStatus and
pkg/registry/core/pod/storage/eviction.go).

``pdb_status`` is what the disruption controller writes; ``decide_eviction`` is what
``POST .../pods/NAME/eviction`` answers: 201 (pod deleted; the PDB's disruptionsAllowed is
decremented and the pod recorded in disruptedPods), 429 with cause DisruptionBudget, or 500 when
more than one PDB selects the pod.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.int_or_percent import scaled_value
from shiplane.cluster.decisions.labels import matches_label_selector
from shiplane.cluster.decisions.pods import is_pod_ready

__all__ = [
    "DELETION_TIMEOUT",
    "EvictionDecision",
    "decide_eviction",
    "expected_scale",
    "matching_pdbs",
    "pdb_status",
]

DELETION_TIMEOUT = timedelta(minutes=2)  # disruption.go DeletionTimeout
MAX_DISRUPTED_POD_SIZE = 2000
EVICTION_BLOCKED = "Cannot evict pod as it would violate the pod's disruption budget."
MORE_THAN_ONE_PDB = (
    "This pod has more than one PodDisruptionBudget, "
    "which the eviction subresource does not support."
)
Obj = Mapping[str, Any]


def _selects(pdb: Obj, pod: Obj) -> bool:
    selector = (pdb.get("spec") or {}).get("selector")
    # eviction.go: a nil or empty selector matches nothing here
    if not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions")):
        return False
    return matches_label_selector(selector, (pod.get("metadata") or {}).get("labels"))


def matching_pdbs(pod: Obj, pdbs: Sequence[Obj]) -> list[Obj]:
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    return [
        p
        for p in pdbs
        if (p.get("metadata") or {}).get("namespace", "default") == namespace and _selects(p, pod)
    ]


def expected_scale(
    pods: Sequence[Obj],
    controllers: Mapping[str, Obj],
    replicaset_owners: Mapping[str, Obj] | None = None,
) -> tuple[int, list[str]]:
    """getExpectedScale: the summed spec.replicas of the pods' controllers, each counted once.

    ``controllers`` maps a controller uid (the pod's controller ownerReference) to that object;
    ``replicaset_owners`` maps a ReplicaSet uid to its owning Deployment (whose scale counts
    instead, like upstream's getPodReplicaSet → getPodDeployment finders).
    Returns (expected count, names of pods without a controller).
    """
    seen: dict[str, int] = {}
    unmanaged = []
    for pod in pods:
        ref = next(
            (
                r
                for r in (pod.get("metadata") or {}).get("ownerReferences") or []
                if r.get("controller")
            ),
            None,
        )
        if ref is None or ref.get("uid") not in controllers:
            unmanaged.append(pod["metadata"]["name"])
            continue
        owner = controllers[ref["uid"]]
        if replicaset_owners and ref["uid"] in replicaset_owners:
            owner = replicaset_owners[ref["uid"]]
        uid = (owner.get("metadata") or {}).get("uid") or ref["uid"]
        replicas = (owner.get("spec") or {}).get("replicas")
        seen[uid] = 1 if replicas is None else int(replicas)
    return sum(seen.values()), unmanaged


def _condition(allowed: bool, generation: int, now: datetime, previous: Sequence[Obj]) -> dict:
    cond = {
        "type": "DisruptionAllowed",
        "status": "True" if allowed else "False",
        "reason": "SufficientPods" if allowed else "InsufficientPods",
        "message": "",
        "observedGeneration": generation,
        "lastTransitionTime": format_time(now),
    }
    for old in previous:  # apimeta.SetStatusCondition keeps the time when the status is unchanged
        if (
            old.get("type") == "DisruptionAllowed"
            and old.get("status") == cond["status"]
            and old.get("lastTransitionTime")
        ):
            cond["lastTransitionTime"] = old["lastTransitionTime"]
    return cond


def pdb_status(
    pdb: Obj, pods: Sequence[Obj], now: datetime, scale: int | None = None
) -> tuple[dict, tuple[Event, ...]]:
    """trySync: (status, events). ``pods`` are the namespace's pods; ``scale`` is
    :func:`expected_scale` (needed for maxUnavailable and percentage minAvailable)."""
    spec = pdb.get("spec") or {}
    selected = [
        p
        for p in pods
        if (p.get("metadata") or {}).get("namespace", "default")
        == (pdb.get("metadata") or {}).get("namespace", "default")
        and matches_label_selector(spec.get("selector"), (p.get("metadata") or {}).get("labels"))
    ]
    events: list[Event] = []
    if not selected:
        events.append(Event("Normal", "NoPods", "No matching pods found"))
    expected = scale if scale is not None else len(selected)
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - scaled_value(spec["maxUnavailable"], expected, round_up=True))
    elif isinstance(spec.get("minAvailable"), int):
        desired, expected = spec["minAvailable"], len(selected)
    elif spec.get("minAvailable") is not None:
        desired = scaled_value(spec["minAvailable"], expected, round_up=True)
    else:
        desired = 0
    old = pdb.get("status") or {}
    disrupted: dict[str, str] = {}
    names = {p["metadata"]["name"]: p for p in selected}
    for name, stamp in (old.get("disruptedPods") or {}).items():
        pod = names.get(name)
        when = parse_time(stamp)
        # buildDisruptedPodMap: forget pods already deleting or whose eviction is too old
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp") or when is None:
            continue
        if when + DELETION_TIMEOUT < now:
            continue
        disrupted[name] = stamp
    healthy = 0
    for pod in selected:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if pod["metadata"]["name"] in disrupted:
            continue
        if is_pod_ready(pod):
            healthy += 1
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    generation = int((pdb.get("metadata") or {}).get("generation") or 0)
    status = {
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "disruptionsAllowed": allowed,
        "observedGeneration": generation,
        "conditions": [_condition(allowed > 0, generation, now, old.get("conditions") or [])],
    }
    if disrupted:
        status["disruptedPods"] = disrupted
    return status, tuple(events)


@dataclass(frozen=True)
class EvictionDecision:
    code: int  # 201 allowed | 429 blocked | 500 several PDBs | 403 refused
    status: dict  # the metav1.Status body
    delete_pod: bool = False
    pdb_name: str | None = None
    pdb_status: dict | None = None  # new status to write to that PDB (None: unchanged)


def _status(
    code: int,
    message: str = "",
    reason: str = "",
    causes: Sequence[dict] | None = None,
    retry_after: int = 0,
) -> dict:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "code": code,
    }
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if causes is not None:
        details: dict[str, Any] = {"causes": list(causes)}
        if retry_after:
            details["retryAfterSeconds"] = retry_after
        body["details"] = details
    return body


def decide_eviction(pod: Obj, pdbs: Sequence[Obj], now: datetime) -> EvictionDecision:
    """The eviction subresource for ``pod`` given the namespace's PDBs."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed", "Pending") or (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    ):
        return EvictionDecision(201, _status(201), True)  # canIgnorePDB
    matches = matching_pdbs(pod, pdbs)
    if len(matches) > 1:
        return EvictionDecision(500, _status(500, MORE_THAN_ONE_PDB))
    if not matches:
        return EvictionDecision(201, _status(201), True)
    pdb = matches[0]
    name = pdb["metadata"]["name"]
    spec, status = pdb.get("spec") or {}, dict(pdb.get("status") or {})
    if not is_pod_ready(pod):
        if spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
            return EvictionDecision(201, _status(201), True, name)
        desired, healthy = (
            int(status.get("desiredHealthy") or 0),
            int(status.get("currentHealthy") or 0),
        )
        if healthy >= desired and desired > 0:
            return EvictionDecision(201, _status(201), True, name)  # IfHealthyBudget
    generation = int((pdb.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        cause = {
            "reason": "DisruptionBudget",
            "message": f"The disruption budget {name} is still being processed by the server.",
        }
        return EvictionDecision(
            429, _status(429, EVICTION_BLOCKED, "TooManyRequests", [cause], 10), pdb_name=name
        )
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        return EvictionDecision(
            403,
            _status(
                403,
                f'poddisruptionbudgets.policy "{name}" is forbidden: pdb disruptions allowed is negative',
                "Forbidden",
            ),
            pdb_name=name,
        )
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
        return EvictionDecision(
            403,
            _status(
                403,
                f'poddisruptionbudgets.policy "{name}" is forbidden: DisruptedPods map too big - '
                "too many evictions not confirmed by PDB controller",
                "Forbidden",
            ),
            pdb_name=name,
        )
    if allowed == 0:
        cause = {
            "reason": "DisruptionBudget",
            "message": f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} healthy pods "
            f"and has {int(status.get('currentHealthy') or 0)} currently",
        }
        return EvictionDecision(
            429, _status(429, EVICTION_BLOCKED, "TooManyRequests", [cause]), pdb_name=name
        )
    new_status = copy.deepcopy(status)
    new_status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        new_status["conditions"] = [
            _condition(False, generation, now, status.get("conditions") or [])
        ]
    new_status["disruptedPods"] = {
        **(status.get("disruptedPods") or {}),
        pod["metadata"]["name"]: format_time(now),
    }
    return EvictionDecision(201, _status(201), True, name, new_status)
