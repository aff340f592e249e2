"""``pods/eviction``: delete a pod unless a PodDisruptionBudget forbids it.

Follows k/pkg/registry/core/pod/storage/eviction.go; the decision itself is the pure
:func:`shiplane.cluster.decisions.disruption.decide_eviction`. Terminal, pending or already
terminating pods are deleted directly; an unready pod is deleted without spending the budget
when the budget is healthy (unhealthyPodEvictionPolicy IfHealthyBudget, or AlwaysAllow);
otherwise the one matching PDB must have been observed by the disruption controller
(status.observedGeneration) and allow a disruption, which the eviction consumes
(disruptionsAllowed - 1, disruptedPods[pod]) in the same atomic commit as the pod deletion
(the PDB write is conditional on its resourceVersion). The Eviction's ``deleteOptions``
(grace period, preconditions) apply to that deletion. A blocked eviction is 429
TooManyRequests with a DisruptionBudget cause; several matching PDBs are a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shiplane.cluster.apiserver.deletion import DeleteOptions
from shiplane.cluster.decisions.disruption import decide_eviction
from shiplane.cluster.store.errors import ApiError, Forbidden, TooManyRequests
from shiplane.cluster.store.model import ObjectKey, Write

if TYPE_CHECKING:
    from shiplane.cluster.apiserver.backend import ApiBackend

__all__ = ["BLOCKED_MESSAGE", "evict"]

BLOCKED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
_PDBS = "poddisruptionbudgets.policy"


def evict(
    backend: ApiBackend, namespace: str, name: str, body: Any, *, dry_run: bool = False
) -> dict[str, Any]:
    """Evict pod ``namespace/name`` (the body is a policy/v1 or v1beta1 Eviction)."""
    pods = backend.registry.lookup("", "v1", "pods")
    assert pods is not None
    current = backend.get(pods, namespace, name)
    options = DeleteOptions.parse(
        (body or {}).get("deleteOptions") if isinstance(body, dict) else None, {}
    )
    budgets = {b.obj["metadata"]["name"]: b for b in backend.store.list(_PDBS, namespace)}
    decision = decide_eviction(current.obj, [b.obj for b in budgets.values()], backend.clock())
    if decision.code == 429:
        raise TooManyRequests(decision.status["message"], details=decision.status["details"])
    if decision.code == 403:
        raise Forbidden(decision.status["message"])
    if decision.code >= 400:
        # errors.NewInternalError
        raise ApiError(f"Internal error occurred: {decision.status['message']}")
    writes: list[Write] = []
    if decision.pdb_status is not None and decision.pdb_name is not None:
        budget = budgets[decision.pdb_name]
        updated = budget.copy()
        updated["status"] = decision.pdb_status
        key = ObjectKey(_PDBS, namespace, decision.pdb_name)
        writes.append(Write("update", key, updated, budget.rv))
    more, _ = backend.deletion_writes(pods, current, options)
    backend.store.commit(writes + more, dry_run=dry_run)
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
