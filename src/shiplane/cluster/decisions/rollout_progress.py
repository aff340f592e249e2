"""Deployment status and progress conditions (k8s pkg/controller/deployment/sync.go
calculateStatus and syncDeploymentStatus, progress.go syncRolloutStatus and
requeueStuckDeployment, deployment_controller.go checkPausedConditions).

All functions return new status dicts; ``now`` stamps new conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions.copying import copy_object

__all__ = [
    "calculate_status",
    "paused_conditions",
    "requeue_after",
    "rollout_status_update",
    "status_with_availability",
]

Obj = Mapping[str, Any]


def _name(obj: Obj | None) -> str:
    return ((obj or {}).get("metadata") or {}).get("name", "")


def calculate_status(all_rss: Sequence[Obj | None], new_rs: Obj | None, deployment: Obj) -> dict:
    """sync.go calculateStatus without the Available condition (see status_with_availability)."""
    rss = [rs for rs in all_rss if rs is not None]
    available = sum(du.status_int(rs, "availableReplicas") for rs in rss)
    total_spec = sum(du.replicas_of(rs) for rs in rss)
    old = deployment.get("status") or {}
    status: dict[str, Any] = {
        "observedGeneration": int((deployment.get("metadata") or {}).get("generation") or 0),
        "replicas": sum(du.status_int(rs, "replicas") for rs in rss),
        "updatedReplicas": du.status_int(new_rs, "replicas"),
        "readyReplicas": sum(du.status_int(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total_spec - available),
        "conditions": copy_object(list(old.get("conditions") or [])),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    return status


def status_with_availability(
    all_rss: Sequence[Obj | None], new_rs: Obj | None, deployment: Obj, now: datetime
) -> dict:
    """calculateStatus + the Available condition (minimum: replicas - maxUnavailable)."""
    status = calculate_status(all_rss, new_rs, deployment)
    if status["availableReplicas"] >= du.min_available(deployment):
        cond = du.new_condition(
            "Available", "True", "MinimumReplicasAvailable",
            "Deployment has minimum availability.", now,
        )  # fmt: skip
    else:
        cond = du.new_condition(
            "Available", "False", "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.", now,
        )  # fmt: skip
    du.set_condition(status, cond)
    return status


def rollout_status_update(
    deployment: Obj, all_rss: Sequence[Obj | None], new_rs: Obj | None, now: datetime
) -> dict:
    """progress.go syncRolloutStatus: status with Available and Progressing estimated.

    NewReplicaSetAvailable once complete; ReplicaSetUpdated (fresh lastUpdateTime) on any
    progress; ProgressDeadlineExceeded once lastUpdateTime + progressDeadlineSeconds is past;
    nothing is re-estimated after a rollout completed."""
    status = status_with_availability(all_rss, new_rs, deployment, now)
    _replica_failures(status, all_rss, new_rs)
    if not du.has_progress_deadline(deployment):
        du.remove_condition(status, "Progressing")
        return status
    current = du.get_condition(deployment.get("status") or {}, "Progressing")
    if (
        status["replicas"] == status["updatedReplicas"]
        and current is not None
        and current.get("reason") == "NewReplicaSetAvailable"
    ):
        return status
    if new_rs is not None:
        subject = f'ReplicaSet "{_name(new_rs)}"'
    else:
        subject = f'Deployment "{_name(deployment)}"'
    if du.deployment_complete(deployment, status):
        du.set_condition(status, du.new_condition(
            "Progressing", "True", "NewReplicaSetAvailable",
            f"{subject} has successfully progressed.", now,
        ))  # fmt: skip
    elif du.deployment_progressing(deployment, status):
        cond = du.new_condition(
            "Progressing", "True", "ReplicaSetUpdated", f"{subject} is progressing.", now
        )
        # progress only moves lastUpdateTime: same reason, so replace the condition by hand
        if current is not None:
            if current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            du.remove_condition(status, "Progressing")
        du.set_condition(status, cond)
    elif du.deployment_timed_out(deployment, status, now):
        du.set_condition(status, du.new_condition(
            "Progressing", "False", "ProgressDeadlineExceeded",
            f"{subject} has timed out progressing.", now,
        ))  # fmt: skip
    return status


def _replica_failures(status: dict, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
    """getReplicaFailures: a ReplicaSet's ReplicaFailure condition (the new RS's first) becomes
    the Deployment's; none left means the Deployment's is removed."""

    def failures(rss):
        return [c for rs in rss if rs is not None
                for c in (rs.get("status") or {}).get("conditions") or []
                if c.get("type") == "ReplicaFailure"]  # fmt: skip

    found = failures([new_rs]) or failures(all_rss)
    if not found:
        du.remove_condition(status, "ReplicaFailure")
        return
    cond = found[0]
    du.set_condition(status, {
        "type": "ReplicaFailure", "status": cond.get("status"), "reason": cond.get("reason"),
        "message": cond.get("message"), "lastTransitionTime": cond.get("lastTransitionTime"),
        "lastUpdateTime": cond.get("lastTransitionTime"),
    })  # fmt: skip


def requeue_after(deployment: Obj, new_status: Obj, now: datetime) -> float | None:
    """requeueStuckDeployment: seconds until the deadline should be re-checked (None: never)."""
    current = du.get_condition(deployment.get("status") or {}, "Progressing")
    if not du.has_progress_deadline(deployment) or current is None:
        return None
    if du.deployment_complete(deployment, new_status):
        return None
    if current.get("reason") == "ProgressDeadlineExceeded":
        return None
    deadline = du.progress_deadline_at(deployment, deployment.get("status") or {})
    if deadline is None:
        return None
    after = (deadline - now).total_seconds()
    return 0.0 if after < 1 else after + 1


def paused_conditions(deployment: Obj, now: datetime) -> dict | None:
    """checkPausedConditions: the status with DeploymentPaused/DeploymentResumed (Unknown), or
    None when nothing changes. A reported ProgressDeadlineExceeded is never overwritten."""
    if not du.has_progress_deadline(deployment):
        return None
    status = copy_object(dict(deployment.get("status") or {}))
    cond = du.get_condition(status, "Progressing")
    if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
        return None
    paused = bool((deployment.get("spec") or {}).get("paused"))
    paused_exists = cond is not None and cond.get("reason") == "DeploymentPaused"
    if paused and not paused_exists:
        reason, message = "DeploymentPaused", "Deployment is paused"
    elif not paused and paused_exists:
        reason, message = "DeploymentResumed", "Deployment is resumed"
    else:
        return None
    du.set_condition(status, du.new_condition("Progressing", "Unknown", reason, message, now))
    return status
