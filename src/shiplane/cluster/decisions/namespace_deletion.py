"""Emptying a Terminating namespace, as pure functions (k8s pkg/controller/namespace/deletion:
namespaced_resources_deleter.go, status_condition_utils.go).

Theory of operation: a DELETE of a namespace only marks it (deletionTimestamp, phase
Terminating); its ``spec.finalizers`` still hold ``kubernetes``. Each namespace-controller pass
discovers the namespaced resources (:func:`deletable_resources`), deletes each collection, then
lists what is left; :func:`remaining_content` turns one resource's leftovers into counts, the
finalizers they wait on and an estimate of how long they need (pods: their grace period counted
from the namespace's deletion; objects with finalizers: 15 s). :func:`deletion_conditions` folds
the pass into the namespace's five deletion conditions. With nothing left the controller removes
its finalizer through ``namespaces/<name>/finalize`` (:func:`without_finalizer`) and, once
``spec.finalizers`` is empty, deletes the namespace for good; otherwise it looks again after
:func:`requeue_after` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions.clock import format_time, parse_time

__all__ = [
    "CONDITION_TYPES",
    "FINALIZER",
    "ContentLeft",
    "DeletableResource",
    "deletable_resources",
    "deletion_conditions",
    "deletion_time",
    "finalized",
    "remaining_content",
    "requeue_after",
    "without_finalizer",
]

FINALIZER = "kubernetes"  # v1.FinalizerKubernetes, the namespace controller's token
FINALIZER_ESTIMATE_SECONDS = 15  # finalizerEstimateSeconds
DEFAULT_GRACE_SECONDS = 30  # v1.DefaultTerminationGracePeriodSeconds

# status_condition_utils.go conditionTypes with their "ok" reason and message
CONDITION_TYPES = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
_OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered",
                                          "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions",
                                                    "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on "
                                        "finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentRemoved", "All content successfully removed"),
}

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class DeletableResource:
    group: str
    version: str
    plural: str
    delete_collection: bool  # else list + delete each item (deleteEachItem)

    @property
    def label(self) -> str:
        """``<resource>.<group>`` as the conditions name it ("pods." for core)."""
        return f"{self.plural}.{self.group}"


def deletable_resources(resource_lists: Sequence[Obj]) -> list[DeletableResource]:
    """Namespaced top-level resources that can be listed and deleted, from the APIResourceList
    documents of the preferred group versions (discovery.ServerPreferredNamespacedResources)."""
    found: list[DeletableResource] = []
    for doc in resource_lists:
        group_version = str(doc.get("groupVersion") or "")
        group, _, version = group_version.rpartition("/")
        for res in doc.get("resources") or []:
            name = res.get("name", "")
            verbs = set(res.get("verbs") or ())
            if "/" in name or not res.get("namespaced") or not {"delete", "list"} <= verbs:
                continue
            found.append(DeletableResource(group, version, name, "deletecollection" in verbs))
    return found


@dataclass(frozen=True)
class ContentLeft:
    """What one resource still has in the namespace after its deletion was requested
    (gvrDeletionMetadata); ``error`` when items remain with no reason to wait for them."""

    label: str
    count: int = 0
    finalizers: dict[str, int] = field(default_factory=dict)
    estimate: int = 0
    error: str | None = None


def _pods_grace_estimate(items: Sequence[Obj]) -> int:
    """estimateGracefulTerminationForPods: the largest grace period of pods still running."""
    estimate = 0
    for pod in items:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        grace = DEFAULT_GRACE_SECONDS if grace is None else int(grace)
        estimate = max(estimate, grace)
    return estimate


def remaining_content(
    resource: DeletableResource, namespace: str, items: Sequence[Obj], deleted_at: datetime,
    now: datetime,
) -> ContentLeft:
    """deleteAllContentForGroupVersionResource after the delete: counts, finalizers, estimate."""
    if not items:
        return ContentLeft(resource.label)
    estimate = 0
    if resource.group == "" and resource.plural == "pods":
        estimate = _pods_grace_estimate(items)
        if (now - deleted_at).total_seconds() >= estimate:
            estimate = 0  # their grace periods have passed since the namespace was deleted
    finalizers: dict[str, int] = {}
    for item in items:
        for name in (item.get("metadata") or {}).get("finalizers") or []:
            finalizers[name] = finalizers.get(name, 0) + 1
    if estimate:
        return ContentLeft(resource.label, len(items), finalizers, estimate)
    if finalizers:  # a normal wait: give the garbage collector time
        return ContentLeft(resource.label, len(items), finalizers, FINALIZER_ESTIMATE_SECONDS)
    gvr = f"{resource.group}/{resource.version}, Resource={resource.plural}"
    return ContentLeft(resource.label, len(items), finalizers, 0,
                       f"unexpected items still remain in namespace: {namespace} for gvr: {gvr}")


def _condition(kind: str, status: str, reason: str, message: str, now: datetime) -> dict:
    return {"type": kind, "status": status, "lastTransitionTime": format_time(now),
            "reason": reason, "message": message}


def deletion_conditions(
    status: Obj, content: Sequence[ContentLeft], errors: Sequence[str], now: datetime,
    discovery_error: str | None = None,
) -> dict | None:
    """The namespace status after this pass (namespaceConditionUpdater.Update), or None when
    the conditions are unchanged. ``errors`` are failed deletes/lists and unexpected leftovers."""
    new: dict[str, dict] = {}
    if discovery_error:
        new["NamespaceDeletionDiscoveryFailure"] = _condition(
            "NamespaceDeletionDiscoveryFailure", "True", "DiscoveryFailed", discovery_error, now)
    remaining = sorted(f"{c.label} has {c.count} resource instances"
                       for c in content if c.count)
    if remaining:
        new["NamespaceContentRemaining"] = _condition(
            "NamespaceContentRemaining", "True", "SomeResourcesRemain",
            "Some resources are remaining: " + ", ".join(remaining), now)
    by_finalizer: dict[str, int] = {}
    for c in content:
        for name, count in c.finalizers.items():
            by_finalizer[name] = by_finalizer.get(name, 0) + count
    if by_finalizer:
        new["NamespaceFinalizersRemaining"] = _condition(
            "NamespaceFinalizersRemaining", "True", "SomeFinalizerRemain",
            "Some finalizers are remaining: " + ", ".join(
                sorted(f"{name} in {count} resource instances"
                       for name, count in by_finalizer.items() if count)), now)
    failures = sorted([*errors, *(c.error for c in content if c.error)])
    if failures:
        new["NamespaceDeletionContentFailure"] = _condition(
            "NamespaceDeletionContentFailure", "True", "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(failures)} remaining: "
            + ", ".join(failures), now)
    conditions = [dict(c) for c in status.get("conditions") or []]
    changed = False
    for kind in CONDITION_TYPES:
        wanted = new.get(kind) or _condition(kind, "False", *_OK[kind], now)
        old = next((c for c in conditions if c.get("type") == kind), None)
        if old is None:
            conditions.append(wanted)
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (
                wanted["status"], wanted["reason"], wanted["message"]):
            if old.get("status") != wanted["status"]:
                old["lastTransitionTime"] = wanted["lastTransitionTime"]
            old.update(status=wanted["status"], reason=wanted["reason"],
                       message=wanted["message"])
            changed = True
    if not changed:
        return None
    return {**status, "phase": "Terminating", "conditions": conditions}


def requeue_after(estimate: int) -> float:
    """namespace_controller.go: look again after half the estimate plus a second."""
    return estimate / 2 + 1


def finalized(namespace: Obj) -> bool:
    return not (namespace.get("spec") or {}).get("finalizers")


def without_finalizer(namespace: Obj) -> dict:
    """The body for ``PUT namespaces/<name>/finalize``: our token removed, the rest sorted
    (finalizeNamespace builds a set)."""
    body = {k: v for k, v in namespace.items() if k != "status"}
    spec = dict(namespace.get("spec") or {})
    spec["finalizers"] = sorted({f for f in spec.get("finalizers") or [] if f != FINALIZER})
    body["spec"] = spec
    return body


def deletion_time(namespace: Obj) -> datetime | None:
    return parse_time((namespace.get("metadata") or {}).get("deletionTimestamp"))
