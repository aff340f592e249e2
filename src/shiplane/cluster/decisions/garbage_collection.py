"""Garbage collector decisions (k8s pkg/controller/garbagecollector/garbagecollector.go
attemptToDeleteItem, classifyReferences, processDeletingDependentsItem, orphanDependents).

Theory of operation: the API server turns ``DELETE ?propagationPolicy=`` into a deletionTimestamp
plus a finalizer (Foreground → ``foregroundDeletion``, Orphan → ``orphan``) or an immediate
delete (Background). The collector then looks at one object at a time:

* an object whose owners are all gone (``dangling``) is deleted, with the propagation its own
  finalizers ask for (orphan > foreground > background);
* an object with a live owner keeps living; references to gone owners, or to owners waiting
  for their dependents (foreground), are removed from it;
* an object with no live owner but an owner in foreground deletion is deleted in foreground;
* an owner in foreground deletion loses its ``foregroundDeletion`` finalizer once no dependent
  with ``blockOwnerDeletion: true`` is left; until then those dependents are deleted;
* an owner with the ``orphan`` finalizer has its reference removed from every dependent, then
  the finalizer removed.

Owners are looked up by uid in the dependent's namespace (``owners`` maps uid → object or None
when absent); the result is a list of plain actions for the executor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FOREGROUND_FINALIZER",
    "Recheck",
    "ORPHAN_FINALIZER",
    "DeleteObject",
    "RemoveFinalizer",
    "RemoveOwnerReferences",
    "plan_collection",
]

FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
Obj = Mapping[str, Any]


@dataclass(frozen=True)
class DeleteObject:
    uid: str
    propagation: str  # Background | Foreground | Orphan


@dataclass(frozen=True)
class RemoveOwnerReferences:
    uid: str  # the dependent to patch
    owner_uids: tuple[str, ...]


@dataclass(frozen=True)
class Recheck:
    """Run :func:`plan_collection` for this object next (upstream's attemptToDelete queue)."""

    uid: str


@dataclass(frozen=True)
class RemoveFinalizer:
    uid: str
    finalizer: str


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _finalizers(obj: Obj) -> list:
    return list(_meta(obj).get("finalizers") or [])


def _deleting(obj: Obj) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def _refs_to(dependent: Obj, owner_uid: str) -> list:
    return [r for r in _meta(dependent).get("ownerReferences") or [] if r.get("uid") == owner_uid]


def plan_collection(item: Obj, owners: Mapping[str, Obj | None], dependents: Sequence[Obj]) -> list:
    """What the collector does for ``item`` now. ``dependents`` are the objects whose
    ownerReferences point at ``item``."""
    uid = _meta(item).get("uid", "")
    finalizers = _finalizers(item)
    if _deleting(item):
        if FOREGROUND_FINALIZER in finalizers:
            return _deleting_dependents(uid, dependents)
        if ORPHAN_FINALIZER in finalizers:
            patches = [RemoveOwnerReferences(_meta(d).get("uid", ""), (uid,)) for d in dependents]
            return [*patches, RemoveFinalizer(uid, ORPHAN_FINALIZER)]
        return []  # being deleted by the API server already
    refs = list(_meta(item).get("ownerReferences") or [])
    if not refs:
        return []
    solid, dangling, waiting = [], [], []
    for ref in refs:
        owner = owners.get(ref.get("uid", ""))
        if owner is None or _meta(owner).get("uid") != ref.get("uid"):
            dangling.append(ref["uid"])
        elif _deleting(owner) and FOREGROUND_FINALIZER in _finalizers(owner):
            waiting.append(ref["uid"])
        else:
            solid.append(ref["uid"])
    if solid:
        if not dangling and not waiting:
            return []
        return [RemoveOwnerReferences(uid, tuple(dangling + waiting))]
    if waiting and dependents:
        return [DeleteObject(uid, "Foreground")]
    if ORPHAN_FINALIZER in finalizers:
        policy = "Orphan"
    elif FOREGROUND_FINALIZER in finalizers:
        policy = "Foreground"
    else:
        policy = "Background"
    return [DeleteObject(uid, policy)]


def _deleting_dependents(uid: str, dependents: Sequence[Obj]) -> list:
    """processDeletingDependentsItem: done when no blocking dependent is left; otherwise the
    blocking dependents that are not themselves deleting dependents are queued for collection."""
    blocking = [d for d in dependents if any(r.get("blockOwnerDeletion") for r in _refs_to(d, uid))]
    if not blocking:
        return [RemoveFinalizer(uid, FOREGROUND_FINALIZER)]
    return [
        Recheck(_meta(dep).get("uid", ""))
        for dep in blocking
        if not (_deleting(dep) and FOREGROUND_FINALIZER in _finalizers(dep))
    ]
