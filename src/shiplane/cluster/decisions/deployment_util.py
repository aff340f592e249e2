"""Deployment arithmetic (k8s pkg/controller/deployment/util/deployment_util.go and
pkg/controller/controller_utils.go): fenceposts, pod-template-hash, revision annotations,
conditions, status and completeness. Everything takes and returns plain Kubernetes dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.int_or_percent import scaled_value
from shiplane.cluster.decisions.template_hash import (
    HASH_LABEL,
    compute_hash,
    equal_ignore_hash,
)

__all__ = [
    "DEFAULT_MAX_SURGE",
    "DEFAULT_MAX_UNAVAILABLE",
    "DESIRED_REPLICAS_ANNOTATION",
    "HASH_LABEL",
    "MAX_REPLICAS_ANNOTATION",
    "REVISION_ANNOTATION",
    "REVISION_HISTORY_ANNOTATION",
    "compute_hash",
    "deployment_complete",
    "deployment_progressing",
    "deployment_timed_out",
    "equal_ignore_hash",
    "get_condition",
    "has_progress_deadline",
    "max_revision",
    "max_surge",
    "max_unavailable",
    "new_condition",
    "new_rs_new_replicas",
    "resolve_fenceposts",
    "revision",
    "set_condition",
    "remove_condition",
    "sort_by_creation",
    "set_new_replica_set_annotations",
    "set_replicas_annotations",
]

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
# deployment_util.go: annotations the Deployment never copies onto its ReplicaSets
_SKIP_COPY = {
    LAST_APPLIED_ANNOTATION,
    REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION,
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
}
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000  # deployment controller's maxRevHistoryLengthInChars
DEFAULT_MAX_SURGE = "25%"  # apps/v1 defaults.go SetDefaults_Deployment
DEFAULT_MAX_UNAVAILABLE = "25%"

Obj = Mapping[str, Any]


# ---------------------------------------------------------------- spec accessors
def replicas_of(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field) or 0)


def strategy_type(deployment: Obj) -> str:
    return ((deployment.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate"


def _rolling(deployment: Obj) -> Mapping[str, Any]:
    return ((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}


# ---------------------------------------------------------------- fenceposts
def resolve_fenceposts(
    max_surge_raw: Any, max_unavailable_raw: Any, desired: int
) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable down; both 0 → unavailable 1.

    k8s deployment_util.go ResolveFenceposts. A missing value counts as 0 like
    ``intstrutil.ValueOrDefault(x, 0)``; API defaulting has already filled in "25%".
    """
    surge = scaled_value(max_surge_raw, desired, round_up=True, default=0)
    unavailable = scaled_value(max_unavailable_raw, desired, round_up=False, default=0)
    if surge == 0 and unavailable == 0:
        # Validation would reject both 0; this guards against it anyway (upstream comment)
        unavailable = 1
    return surge, unavailable


def _fence_inputs(deployment: Obj) -> tuple[Any, Any]:
    ru = _rolling(deployment)
    surge = ru.get("maxSurge", DEFAULT_MAX_SURGE)
    unavailable = ru.get("maxUnavailable", DEFAULT_MAX_UNAVAILABLE)
    return surge, unavailable


def max_unavailable(deployment: Obj) -> int:
    """MaxUnavailable: 0 for Recreate or zero replicas; capped at spec.replicas."""
    desired = replicas_of(deployment)
    if strategy_type(deployment) != "RollingUpdate" or desired == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_fence_inputs(deployment), desired)
    return min(unavailable, desired)


def max_surge(deployment: Obj) -> int:
    if strategy_type(deployment) != "RollingUpdate":
        return 0
    surge, _ = resolve_fenceposts(*_fence_inputs(deployment), replicas_of(deployment))
    return surge


def min_available(deployment: Obj) -> int:
    return replicas_of(deployment) - max_unavailable(deployment)


def new_rs_new_replicas(deployment: Obj, all_rss: Sequence[Obj], new_rs: Obj) -> int:
    """NewRSNewReplicas: how far the new RS may grow now (deployment_util.go)."""
    desired = replicas_of(deployment)
    if strategy_type(deployment) == "Recreate":
        return desired
    surge = scaled_value(_fence_inputs(deployment)[0], desired, round_up=True)
    current = sum(replicas_of(rs) for rs in all_rss)
    max_total = desired + surge
    if current >= max_total:
        return replicas_of(new_rs)
    scale_up = min(max_total - current, desired - replicas_of(new_rs))
    return replicas_of(new_rs) + scale_up


# ---------------------------------------------------------------- revisions and annotations
def revision(obj: Obj) -> int:
    """Revision(): the revision annotation as an int; unparsable counts as 0 (MaxRevision)."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, "")
    try:
        return int(raw)
    except ValueError:
        return 0


def max_revision(rss: Sequence[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, val in (
        (DESIRED_REPLICAS_ANNOTATION, str(desired)),
        (MAX_REPLICAS_ANNOTATION, str(maximum)),
    ):
        if ann.get(key) != val:
            ann[key] = val
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    ann = (rs.get("metadata") or {}).get("annotations") or {}
    return ann.get(DESIRED_REPLICAS_ANNOTATION) != str(desired) or ann.get(
        MAX_REPLICAS_ANNOTATION
    ) != str(maximum)


def desired_replicas_annotation(rs: Obj) -> int | None:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(DESIRED_REPLICAS_ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def max_replicas_annotation(rs: Obj) -> int | None:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(MAX_REPLICAS_ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def copy_deployment_annotations(deployment: Obj, rs: dict) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, val in ((deployment.get("metadata") or {}).get("annotations") or {}).items():
        if key in _SKIP_COPY or ann.get(key) == val:
            continue
        ann[key] = val
        changed = True
    return changed


def set_new_replica_set_annotations(
    deployment: Obj, rs: dict, new_revision: int, exists: bool
) -> bool:
    """SetNewReplicaSetAnnotations: copy annotations, raise revision, keep revision-history."""
    changed = copy_deployment_annotations(deployment, rs)
    ann = rs["metadata"]["annotations"]
    old_raw = ann.get(REVISION_ANNOTATION)
    try:
        old = int(old_raw) if old_raw not in (None, "") else 0
    except ValueError:
        return False  # upstream logs "updating replica set revision OldRevision not int" and stops
    if old < new_revision:
        ann[REVISION_ANNOTATION] = str(new_revision)
        changed = True
    if old_raw not in (None, "") and old < new_revision:
        # reusing an old RS (rollback): remember the revisions it had before
        history = ann.get(REVISION_HISTORY_ANNOTATION, "")
        parts = history.split(",")
        if not parts[0]:
            ann[REVISION_HISTORY_ANNOTATION] = old_raw
        else:
            total = len(history) + len(old_raw) + 1
            start = 0
            while total > MAX_REV_HISTORY_LENGTH_IN_CHARS and start < len(parts):
                total -= len(parts[start]) + 1
                start += 1
            if total <= MAX_REV_HISTORY_LENGTH_IN_CHARS:
                ann[REVISION_HISTORY_ANNOTATION] = ",".join([*parts[start:], old_raw])
    if not exists and set_replicas_annotations(
        rs, replicas_of(deployment), replicas_of(deployment) + max_surge(deployment)
    ):
        changed = True
    return changed


# ---------------------------------------------------------------- ordering
def _created(obj: Obj) -> tuple:
    meta = obj.get("metadata") or {}
    ts = parse_time(meta.get("creationTimestamp"))
    return (ts.timestamp() if ts else float("-inf"), meta.get("name", ""))


def sort_by_creation(rss: Sequence[Obj], *, newest_first: bool = False) -> list:
    """controller.ReplicaSetsByCreationTimestamp (ties broken by name)."""
    return sorted(rss, key=_created, reverse=newest_first)


# ---------------------------------------------------------------- conditions
def new_condition(kind: str, status: str, reason: str, message: str, now: datetime) -> dict:
    stamp = format_time(now)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Obj, kind: str) -> dict | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def set_condition(status: dict, condition: dict) -> None:
    """SetDeploymentCondition: no-op for the same status+reason; keeps transition time if the
    status is unchanged; the condition moves to the end of the list."""
    current = get_condition(status, condition["type"])
    if (
        current
        and current.get("status") == condition["status"]
        and current.get("reason") == condition["reason"]
    ):
        return
    condition = dict(condition)
    if current and current.get("status") == condition["status"]:
        condition["lastTransitionTime"] = current.get("lastTransitionTime")
    status["conditions"] = [
        c for c in status.get("conditions") or [] if c.get("type") != condition["type"]
    ]
    status["conditions"].append(condition)


def remove_condition(status: dict, kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


# ---------------------------------------------------------------- progress
def has_progress_deadline(deployment: Obj) -> bool:
    value = (deployment.get("spec") or {}).get("progressDeadlineSeconds", 600)
    return value is not None and value != 2**31 - 1


def deployment_complete(deployment: Obj, status: Obj) -> bool:
    want = replicas_of(deployment)
    return (
        int(status.get("updatedReplicas") or 0) == want
        and int(status.get("replicas") or 0) == want
        and int(status.get("availableReplicas") or 0) == want
        and int(status.get("observedGeneration") or 0)
        >= int((deployment.get("metadata") or {}).get("generation") or 0)
    )


def deployment_progressing(deployment: Obj, new_status: Obj) -> bool:
    old = deployment.get("status") or {}

    def g(s: Obj, f: str) -> int:
        return int(s.get(f) or 0)

    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(new_status, "replicas") - g(new_status, "updatedReplicas")
    return (
        g(new_status, "updatedReplicas") > g(old, "updatedReplicas")
        or new_old < old_old
        or g(new_status, "readyReplicas") > g(old, "readyReplicas")
        or g(new_status, "availableReplicas") > g(old, "availableReplicas")
    )


def progress_deadline_at(deployment: Obj, status: Obj) -> datetime | None:
    cond = get_condition(status, "Progressing")
    if cond is None or not has_progress_deadline(deployment):
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    return since + timedelta(
        seconds=int((deployment.get("spec") or {}).get("progressDeadlineSeconds", 600))
    )


def deployment_timed_out(deployment: Obj, new_status: Obj, now: datetime) -> bool:
    """DeploymentTimedOut: lastUpdateTime + progressDeadlineSeconds strictly before now."""
    if not has_progress_deadline(deployment):
        return False
    cond = get_condition(new_status, "Progressing")
    if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
        return False
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return True
    deadline = progress_deadline_at(deployment, new_status)
    return deadline is not None and deadline < now
