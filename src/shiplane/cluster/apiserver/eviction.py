"""``pods/eviction``: delete a pod unless a PodDisruptionBudget forbids it.

Follows k/pkg/registry/core/pod/storage/eviction.go: terminal, pending or already
terminating pods are deleted directly; otherwise the one matching PDB must have
been observed by the disruption controller (status.observedGeneration) and allow a
disruption, which the eviction consumes (disruptionsAllowed - 1, disruptedPods[pod])
in the same atomic commit as the pod deletion. A blocked eviction is 429
TooManyRequests with a DisruptionBudget cause; several matching PDBs are a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shiplane.cluster.apiserver.deletion import DeleteOptions
from shiplane.cluster.resources.validation import selector_matches_labels
from shiplane.cluster.store.errors import ApiError, TooManyRequests
from shiplane.cluster.store.metadata import format_time
from shiplane.cluster.store.model import ObjectKey, Write

if TYPE_CHECKING:
    from shiplane.cluster.apiserver.backend import ApiBackend

__all__ = ["BLOCKED_MESSAGE", "evict"]

BLOCKED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."


def _blocked(cause: str) -> TooManyRequests:
    error = TooManyRequests(BLOCKED_MESSAGE)
    error.details = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    return error


def evict(
    backend: ApiBackend, namespace: str, name: str, body: Any, *, dry_run: bool = False
) -> dict[str, Any]:
    """Evict pod ``namespace/name`` (the body is a policy/v1 Eviction)."""
    pods = backend.registry.lookup("", "v1", "pods")
    assert pods is not None
    current = backend.get(pods, namespace, name)
    options = DeleteOptions.parse(
        (body or {}).get("deleteOptions") if isinstance(body, dict) else None, {}
    )
    pod = current.obj
    phase = (pod.get("status") or {}).get("phase")
    writes: list[Write] = []
    ignore_budgets = phase in ("Succeeded", "Failed", "Pending") or bool(
        (pod.get("metadata") or {}).get("deletionTimestamp")
    )
    if not ignore_budgets:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        budgets = [
            b
            for b in backend.store.list("poddisruptionbudgets.policy", namespace)
            if selector_matches_labels((b.obj.get("spec") or {}).get("selector"), labels)
        ]
        if len(budgets) > 1:
            raise ApiError(
                "Internal error occurred: This pod has more than one "
                "PodDisruptionBudget, which the eviction subresource does not support."
            )
        if budgets:
            budget = budgets[0]
            meta, status = budget.obj["metadata"], budget.obj.get("status") or {}
            if status.get("observedGeneration", 0) < meta.get("generation", 1):
                raise _blocked(
                    f"The disruption budget {meta['name']} is still being processed by the server."
                )
            if status.get("disruptionsAllowed", 0) <= 0:
                raise _blocked(
                    f"The disruption budget {meta['name']} needs "
                    f"{status.get('desiredHealthy', 0)} healthy pods and has "
                    f"{status.get('currentHealthy', 0)} currently"
                )
            updated = budget.copy()
            updated_status = updated.setdefault("status", {})
            updated_status["disruptionsAllowed"] = status["disruptionsAllowed"] - 1
            updated_status.setdefault("disruptedPods", {})[name] = format_time(backend.clock())
            key = ObjectKey("poddisruptionbudgets.policy", namespace, meta["name"])
            writes.append(Write("update", key, updated, budget.rv))
    more, _ = backend.deletion_writes(pods, current, options)
    backend.store.commit(writes + more, dry_run=dry_run)
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
