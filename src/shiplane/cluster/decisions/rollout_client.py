"""kubectl's client-side rollout logic for Deployments (k8s staging/src/k8s.io/kubectl/pkg/
polymorphichelpers/rollout_status.go and rollback.go), so ``shiplane`` can report
``rollout status`` and perform ``rollout undo`` exactly like kubectl does against any cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = [
    "RollbackDecision",
    "RolloutStatus",
    "RolloutStatusError",
    "RollbackError",
    "plan_rollback",
    "rollout_status",
]

Obj = Mapping[str, Any]

# rollback.go annotationsToSkip: kept from the Deployment, never copied from the ReplicaSet
_ROLLBACK_SKIP = {
    du.LAST_APPLIED_ANNOTATION,
    du.REVISION_ANNOTATION,
    du.REVISION_HISTORY_ANNOTATION,
    du.DESIRED_REPLICAS_ANNOTATION,
    du.MAX_REPLICAS_ANNOTATION,
    "deprecated.deployment.rollback.to",
}


class RolloutStatusError(DecisionInputError):
    """``kubectl rollout status`` fails (progress deadline exceeded, revision mismatch)."""


class RollbackError(DecisionInputError):
    """``kubectl rollout undo`` refuses (no history, paused, unknown revision)."""


@dataclass(frozen=True)
class RolloutStatus:
    message: str  # without kubectl's trailing newline
    done: bool


def rollout_status(deployment: Obj, revision: int = 0) -> RolloutStatus:
    """DeploymentStatusViewer.Status: the line kubectl prints, and whether it stops waiting."""
    name = (deployment.get("metadata") or {}).get("name", "")
    if revision > 0:
        current = du.revision(deployment)
        if revision != current:
            raise RolloutStatusError(
                f"desired revision ({revision}) is different from the running revision ({current})"
            )
    status = deployment.get("status") or {}
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    if generation > int(status.get("observedGeneration") or 0):
        return RolloutStatus("Waiting for deployment spec update to be observed...", False)
    cond = du.get_condition(status, "Progressing")
    if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
        raise RolloutStatusError(f'deployment "{name}" exceeded its progress deadline')
    replicas = (deployment.get("spec") or {}).get("replicas")
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if replicas is not None and updated < int(replicas):
        return RolloutStatus(
            f"{prefix}{updated} out of {replicas} new replicas have been updated...", False
        )
    if total > updated:
        return RolloutStatus(
            f"{prefix}{total - updated} old replicas are pending termination...", False
        )
    if available < updated:
        return RolloutStatus(
            f"{prefix}{available} of {updated} updated replicas are available...", False
        )
    return RolloutStatus(f'deployment "{name}" successfully rolled out', True)


@dataclass(frozen=True)
class RollbackDecision:
    """What ``kubectl rollout undo`` does: a JSON Patch to send, or a skip message."""

    message: str  # "rolled back" | "skipped rollback (current template already matches revision N)"
    patch: tuple = ()  # JSON Patch operations (application/json-patch+json)
    target_revision: int = 0


def _revision_strict(rs: Obj) -> int | None:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(du.REVISION_ANNOTATION)
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        return None  # deploymentutil.Revision returns an error: the RS is ignored


def _find_revision(name: str, replicasets: Sequence[Obj], to_revision: int) -> Obj:
    """rollback.go deploymentRevision: the named revision, or the second newest for 0."""
    latest, latest_rev, previous, previous_rev = None, -1, None, -1
    for rs in replicasets:
        rev = _revision_strict(rs)
        if rev is None:
            continue
        if to_revision == 0:
            if latest_rev < rev:
                previous, previous_rev = latest, latest_rev
                latest, latest_rev = rs, rev
            elif previous_rev < rev:
                previous, previous_rev = rs, rev
        elif to_revision == rev:
            return rs
    if to_revision > 0:
        raise RollbackError(f"unable to find specified revision {to_revision} in history")
    if previous is None:
        raise RollbackError(f'no rollout history found for deployment "{name}"')
    return previous


def plan_rollback(
    deployment: Obj, replicasets: Sequence[Obj], to_revision: int = 0
) -> RollbackDecision:
    """DeploymentRollbacker.Rollback over the Deployment and the ReplicaSets it controls."""
    if to_revision < 0:
        raise RollbackError(f"unable to find specified revision {to_revision} in history")
    name = (deployment.get("metadata") or {}).get("name", "")
    target = _find_revision(name, replicasets, to_revision)
    if (deployment.get("spec") or {}).get("paused"):
        raise RollbackError(
            f"you cannot rollback a paused deployment; resume it first with "
            f"'kubectl rollout resume deployment/{name}' and try again"
        )
    template = copy.deepcopy((target.get("spec") or {}).get("template") or {})
    if du.equal_ignore_hash(template, (deployment.get("spec") or {}).get("template") or {}):
        return RollbackDecision(
            f"skipped rollback (current template already matches revision {to_revision})"
        )
    ((template.get("metadata") or {}).get("labels") or {}).pop(du.HASH_LABEL, None)
    current = (deployment.get("metadata") or {}).get("annotations") or {}
    annotations = {k: v for k, v in current.items() if k in _ROLLBACK_SKIP}
    for key, val in ((target.get("metadata") or {}).get("annotations") or {}).items():
        if key not in _ROLLBACK_SKIP:
            annotations[key] = val
    patch = (
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    )
    return RollbackDecision("rolled back", patch, du.revision(target))
