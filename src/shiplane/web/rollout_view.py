"""One Deployment's rollout as the guide's steps 8–20 show it (pure).

Input: the objects of one namespace as the cluster's watches last delivered them
(Deployment, ReplicaSets, Pods, Events, Endpoints). Output: a JSON-ready dict —

* the ReplicaSets the Deployment owns, the **new** one (its revision annotation is
  the Deployment's, as the deployment controller's ``FindNewReplicaSet``) and the
  **old** ones, each with desired / current / ready counts;
* each pod of those ReplicaSets with its path
  ``Pending → scheduled on node → image pulling | cached → started → probes → Ready``,
  every stage ``done``, ``active`` (the one the pod is at), ``waiting`` or ``failed``;
* the Service's endpoints (ready and not-ready addresses);
* the namespace's events about these objects, oldest first;
* ``kubectl rollout status``'s line and whether it is done
  (``shiplane.cluster.decisions.rollout_client.rollout_status``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.cluster.decisions.rollout_client import RolloutStatusError, rollout_status
from shiplane.release.progress import FAILURE_REASONS

__all__ = ["STAGES", "pod_path", "rollout_view"]

REVISION = "deployment.kubernetes.io/revision"
Obj = Mapping[str, Any]

# (stage key, label) in the order a pod walks them.
STAGES: tuple[tuple[str, str], ...] = (
    ("pending", "Pending"),
    ("scheduled", "Scheduled"),
    ("image", "Image"),
    ("started", "Started"),
    ("probes", "Probes"),
    ("ready", "Ready"),
)


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name") or "")


def _owned_by(obj: Obj, kind: str, name: str) -> bool:
    return any(ref.get("kind") == kind and ref.get("name") == name
               for ref in _meta(obj).get("ownerReferences") or [])


def _owner(obj: Obj, kind: str) -> str:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return str(ref.get("name"))
    return ""


def _event_time(event: Obj) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime")
               or event.get("firstTimestamp") or _meta(event).get("creationTimestamp") or "")


def _condition(pod: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def pod_path(pod: Obj, events: Sequence[Obj]) -> list[dict[str, str]]:
    """The six stages of one pod with their state and detail (events: this pod's, in order)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reasons = [(str(e.get("reason") or ""), str(e.get("message") or "")) for e in events]
    node = str(spec.get("nodeName") or "")
    containers = status.get("containerStatuses") or []
    waiting = [((c.get("state") or {}).get("waiting") or {}) for c in containers]
    failure = next((w for w in waiting if w.get("reason") in FAILURE_REASONS), None)
    running = any("running" in (c.get("state") or {}) for c in containers)
    ready = _condition(pod, "Ready")
    pulled = next((m for r, m in reasons if r == "Pulled"), None)
    pulling = next((m for r, m in reasons if r == "Pulling"), None)
    unhealthy = [m for r, m in reasons if r == "Unhealthy"]
    scheduling_failed = next((m for r, m in reasons if r == "FailedScheduling"), None)

    done: dict[str, tuple[bool, str]] = {
        "pending": (True, "created" if status.get("phase") in (None, "Pending", "Running")
                    else str(status.get("phase"))),
        "scheduled": (bool(node), f"on {node}" if node else (scheduling_failed or "")),
        "image": (pulled is not None or running,
                  "cached on the node" if pulled and "already present" in pulled
                  else (pulled or pulling or "")),
        "started": (running or ready or any(r == "Started" for r, _ in reasons),
                    "container running" if running else ""),
        "probes": (ready, "readiness passed" if ready
                   else (unhealthy[-1] if unhealthy else "")),
        "ready": (ready, str(status.get("podIP") or "") if ready else ""),
    }
    if pulled is None and pulling is not None and not running:
        done["image"] = (False, pulling)
    path: list[dict[str, str]] = []
    reached = True
    for key, label in STAGES:
        is_done, detail = done[key]
        if is_done and reached:
            state = "done"
        elif reached:
            state = "active"
            reached = False
            if key == "scheduled" and scheduling_failed:
                state = "failed"
            elif key in ("image", "started") and failure is not None:
                state, detail = "failed", f"{failure.get('reason')}: {failure.get('message') or ''}"
            elif key == "image" and pulling:
                detail = "pulling: " + pulling
        else:
            state = "waiting"
        path.append({"stage": key, "label": label, "state": state, "detail": detail.strip()})
    if path[0]["state"] == "done" and _meta(pod).get("deletionTimestamp"):
        path.append({"stage": "terminating", "label": "Terminating", "state": "active",
                     "detail": "being deleted"})
    return path


def _status_line(deployment: Obj) -> tuple[str, bool, bool]:
    """(message, done, failed)."""
    try:
        result = rollout_status(deployment)
    except RolloutStatusError as error:
        return str(error), False, True
    return result.message, result.done, False


def rollout_view(deployment: Obj | None, replicasets: Sequence[Obj], pods: Sequence[Obj],
                 events: Sequence[Obj], endpoints: Sequence[Obj], *, service: str,
                 namespace: str) -> dict[str, Any]:
    if deployment is None:
        return {"service": service, "namespace": namespace, "found": False,
                "status": {"message": f"no Deployment {service} in {namespace}",
                           "done": False, "failed": False},
                "replicasets": [], "pods": [], "endpoints": {"ready": 0, "not_ready": 0},
                "events": [], "replicas": {}}
    name = _name(deployment)
    revision = str(_meta(deployment).get("annotations", {}).get(REVISION, ""))
    owned = [rs for rs in replicasets if _owned_by(rs, "Deployment", name)]
    rs_rows = []
    for rs in sorted(owned, key=lambda r: int(_meta(r).get("annotations", {}).get(
            REVISION, 0) or 0), reverse=True):
        rs_revision = str(_meta(rs).get("annotations", {}).get(REVISION, ""))
        spec, status = rs.get("spec") or {}, rs.get("status") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        rs_rows.append({
            "name": _name(rs),
            "revision": rs_revision,
            "hash": str((_meta(rs).get("labels") or {}).get("pod-template-hash", "")),
            "role": "new" if rs_revision == revision and revision else "old",
            "desired": int(spec.get("replicas") or 0),
            "current": int(status.get("replicas") or 0),
            "ready": int(status.get("readyReplicas") or 0),
            "available": int(status.get("availableReplicas") or 0),
            "image": str(containers[0].get("image") or "") if containers else "",
        })
    roles = {row["name"]: row["role"] for row in rs_rows}
    involved: dict[str, list[Obj]] = {}
    for event in sorted(events, key=_event_time):
        obj = event.get("involvedObject") or {}
        involved.setdefault(f"{obj.get('kind')}/{obj.get('name')}", []).append(event)
    pod_rows = []
    for pod in sorted(pods, key=lambda p: (_meta(p).get("creationTimestamp") or "", _name(p))):
        replicaset = _owner(pod, "ReplicaSet")
        if replicaset not in roles:
            continue
        pod_rows.append({
            "name": _name(pod),
            "replicaset": replicaset,
            "role": roles[replicaset],
            "node": str((pod.get("spec") or {}).get("nodeName") or ""),
            "phase": str((pod.get("status") or {}).get("phase") or "Pending"),
            "ready": _condition(pod, "Ready"),
            "path": pod_path(pod, involved.get(f"Pod/{_name(pod)}", [])),
        })
    ready = not_ready = 0
    for ep in endpoints:
        if _name(ep) != service:
            continue
        for subset in ep.get("subsets") or []:
            ready += len(subset.get("addresses") or [])
            not_ready += len(subset.get("notReadyAddresses") or [])
    subjects = {f"Deployment/{name}"} | {f"ReplicaSet/{r['name']}" for r in rs_rows} \
        | {f"Pod/{p['name']}" for p in pod_rows}
    event_rows = [{"time": _event_time(e), "type": str(e.get("type") or "Normal"),
                   "reason": str(e.get("reason") or ""), "object": key,
                   "message": str(e.get("message") or ""), "count": int(e.get("count") or 1)}
                  for key in subjects for e in involved.get(key, [])]
    event_rows.sort(key=lambda e: e["time"])
    message, done, failed = _status_line(deployment)
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return {
        "service": service, "namespace": namespace, "found": True, "deployment": name,
        "revision": revision,
        "status": {"message": message, "done": done, "failed": failed},
        "replicas": {"desired": int(spec.get("replicas") or 0),
                     "updated": int(status.get("updatedReplicas") or 0),
                     "ready": int(status.get("readyReplicas") or 0),
                     "available": int(status.get("availableReplicas") or 0)},
        "replicasets": rs_rows,
        "pods": pod_rows,
        "endpoints": {"ready": ready, "not_ready": not_ready},
        "events": event_rows[-40:],
    }
