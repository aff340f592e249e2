"""Resource and application health with Argo CD's values and rules (pure).

Per kind as gitops-engine ``pkg/health/health_*.go``; kinds without a rule have no
health (``None``) and do not count towards the app. App health is the worst child
in the order of ``health.go`` ``healthOrder``: Healthy < Suspended < Progressing <
Missing < Degraded < Unknown; a resource in git but not live is Missing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Health", "HealthStatus", "app_health", "resource_health"]


class HealthStatus(str, enum.Enum):
    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)


_ORDER = list(HealthStatus)  # declaration order is the severity order


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    message: str = ""


H, P, D, S, U = (HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED,
                 HealthStatus.SUSPENDED, HealthStatus.UNKNOWN)


def _condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def _generation_observed(obj: Mapping[str, Any]) -> bool:
    generation = (obj.get("metadata") or {}).get("generation", 0) or 0
    return generation <= ((obj.get("status") or {}).get("observedGeneration") or 0)


def _deployment(obj: Mapping[str, Any]) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused"):
        return Health(S, "Deployment is paused")
    if not _generation_observed(obj):
        return Health(P, "Waiting for rollout to finish: observed deployment generation "
                         "less than desired generation")
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        name = (obj.get("metadata") or {}).get("name")
        return Health(D, f'Deployment "{name}" exceeded its progress deadline')
    replicas = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0) or 0
    total = status.get("replicas", 0) or 0
    available = status.get("availableReplicas", 0) or 0
    if updated < replicas:
        return Health(P, f"Waiting for rollout to finish: {updated} out of {replicas} new "
                         "replicas have been updated...")
    if total > updated:
        return Health(P, f"Waiting for rollout to finish: {total - updated} old replicas "
                         "are pending termination...")
    if available < updated:
        return Health(P, f"Waiting for rollout to finish: {available} of {updated} updated "
                         "replicas are available...")
    return Health(H)


def _replicaset(obj: Mapping[str, Any]) -> Health:
    if not _generation_observed(obj):
        return Health(P, "Waiting for rollout to finish: observed replica set generation "
                         "less than desired generation")
    failure = _condition(obj, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return Health(D, str(failure.get("message", "")))
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    available = (obj.get("status") or {}).get("availableReplicas", 0) or 0
    if available < replicas:
        return Health(P, f"Waiting for rollout to finish: {available} out of {replicas} new "
                         "replicas are available...")
    return Health(H)


def _statefulset(obj: Mapping[str, Any]) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not status.get("observedGeneration") or not _generation_observed(obj):
        return Health(P, "Waiting for statefulset spec update to be observed...")
    replicas = spec.get("replicas", 1)
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return Health(H, f"statefulset has {status.get('readyReplicas', 0) or 0} ready pods")
    partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
    if partition:
        if (status.get("updatedReplicas", 0) or 0) < replicas - partition:
            return Health(P, "Waiting for partitioned roll out to finish: "
                             f"{status.get('updatedReplicas', 0) or 0} out of "
                             f"{replicas - partition} new pods have been updated...")
        return Health(H, "partitioned roll out complete")
    ready = status.get("readyReplicas", 0) or 0
    if ready < replicas:
        return Health(P, f"Waiting for {replicas - ready} pods to be ready...")
    if status.get("updateRevision") != status.get("currentRevision"):
        return Health(P, "waiting for statefulset rolling update to complete")
    return Health(H)


def _daemonset(obj: Mapping[str, Any]) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not _generation_observed(obj):
        return Health(P, "Waiting for rollout to finish: observed daemon set generation "
                         "less than desired generation")
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Health(H)
    desired = status.get("desiredNumberScheduled", 0) or 0
    if (status.get("updatedNumberScheduled", 0) or 0) < desired:
        return Health(P, "Waiting for daemon set rollout to finish")
    if (status.get("numberAvailable", 0) or 0) < desired:
        return Health(P, "Waiting for daemon set rollout to finish: pods not yet available")
    return Health(H)


def _load_balanced(obj: Mapping[str, Any]) -> bool:
    return bool(((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"))


def _service(obj: Mapping[str, Any]) -> Health:
    if (obj.get("spec") or {}).get("type") == "LoadBalancer" and not _load_balanced(obj):
        return Health(P, "")
    return Health(H)


def _ingress(obj: Mapping[str, Any]) -> Health:
    return Health(H) if _load_balanced(obj) else Health(P, "")


def _pvc(obj: Mapping[str, Any]) -> Health:
    phase = (obj.get("status") or {}).get("phase")
    return {"Lost": Health(D), "Pending": Health(P), "Bound": Health(H)}.get(
        phase, Health(U))


def _bad_waiting(reason: str) -> bool:
    # health_pod.go: waiting reasons starting with Err or ending with Error/BackOff
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _pod(obj: Mapping[str, Any]) -> Health:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return Health(P, "Pending deletion")
    for container in [*(status.get("initContainerStatuses") or []),
                      *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting and _bad_waiting(str(waiting.get("reason", ""))):
            return Health(D, str(waiting.get("message") or waiting.get("reason")))
    phase = status.get("phase")
    if phase == "Succeeded":
        return Health(H, str(status.get("message", "")))
    if phase == "Failed":
        return Health(D, str(status.get("message", "")))
    if phase == "Pending":
        return Health(P, str(status.get("message", "")))
    if phase == "Running":
        if spec.get("restartPolicy", "Always") == "Always":
            ready = _condition(obj, "Ready")
            if ready and ready.get("status") == "True":
                return Health(H)
            return Health(P, "")
        return Health(P, "")
    return Health(U, str(status.get("message", "")))


def _job(obj: Mapping[str, Any]) -> Health:
    for ctype, health in (("Failed", D), ("Complete", H), ("Suspended", S)):
        cond = _condition(obj, ctype)
        if cond and cond.get("status") == "True":
            return Health(health, str(cond.get("message", "")))
    if (obj.get("spec") or {}).get("suspend"):
        return Health(S, "Job is suspended")
    return Health(P, "")


_HPA_DEGRADED = {"FailedGetScale", "FailedUpdateScale", "FailedGetResourceMetric",
                 "InvalidSelector", "FailedGetObjectMetric", "FailedGetPodsMetric",
                 "FailedGetExternalMetric", "FailedComputeMetricsReplicas"}


def _hpa(obj: Mapping[str, Any]) -> Health:
    conditions = (obj.get("status") or {}).get("conditions") or []
    if not conditions:
        return Health(P, "Waiting to Autoscale")
    for cond in conditions:
        if cond.get("reason") in _HPA_DEGRADED:
            return Health(D, str(cond.get("message", "")))
    return Health(H, "")


_RULES: dict[tuple[str, str], Callable[[Mapping[str, Any]], Health]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("", "Service"): _service,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("extensions", "Ingress"): _ingress,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Pod"): _pod,
    ("batch", "Job"): _job,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
}


def resource_health(obj: Mapping[str, Any] | None) -> Health | None:
    """Health of one live object; ``None`` (no rule) for kinds Argo CD does not assess."""
    if obj is None:
        return Health(HealthStatus.MISSING)
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    rule = _RULES.get((group, str(obj.get("kind", ""))))
    return rule(obj) if rule else None


def app_health(children: Iterable[Health | None]) -> Health:
    """The worst child health (no children with health: Healthy)."""
    worst = Health(HealthStatus.HEALTHY)
    for child in children:
        if child is not None and child.status.rank > worst.status.rank:
            worst = child
    return worst
