"""The garbage collector (k8s pkg/controller/garbagecollector): performs
:func:`plan_collection` for Deployments, ReplicaSets, Jobs, Pods, Endpoints and EndpointSlices.

A uid index over the watched kinds gives each object's owners and dependents. Like upstream's
graph builder (graph_builder.go processGraphChanges), an object is queued when it appears with
owners or finalizers, or when its ownerReferences, finalizers or deletionTimestamp change — not on
status-only updates; its dependents are queued when it goes away or starts being deleted (they
become dangling or waiting); and a deleted dependent queues only owners that are themselves being
deleted (waiting for their dependents). Deletes carry a uid precondition so a re-created object
of the same name is never collected by mistake.
"""

from __future__ import annotations

from shiplane.cluster.controllers.api import RESOURCES, ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.decisions.garbage_collection import (
    DeleteObject,
    Recheck,
    RemoveFinalizer,
    RemoveOwnerReferences,
    plan_collection,
)

__all__ = ["GarbageCollector"]

KINDS = ("Deployment", "ReplicaSet", "Job", "Pod", "Service", "EndpointSlice")


class GarbageCollector(Controller):
    name = "garbage-collector-controller"
    workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.by_uid: dict[str, tuple[str, str]] = {}  # uid -> (kind, key)
        self.dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids
        for kind in KINDS:
            ctx.informer(kind).add_handler(self._handler(kind))

    def _handler(self, kind: str):
        def on_event(etype: str, obj: dict, old: dict | None) -> None:
            uid = obj["metadata"]["uid"]
            for ref in (old or {}).get("metadata", {}).get("ownerReferences") or []:
                self.dependents.get(ref["uid"], set()).discard(uid)
            if etype == "DELETED":
                self.by_uid.pop(uid, None)
            else:
                self.by_uid[uid] = (kind, key_of(obj))
                meta = obj["metadata"]
                for ref in meta.get("ownerReferences") or []:
                    self.dependents.setdefault(ref["uid"], set()).add(uid)
                if (meta.get("ownerReferences") or meta.get("finalizers")) and (
                        old is None or _collection_changed(old["metadata"], meta)):
                    self.queue.add(uid)
            if etype == "DELETED" or (obj["metadata"].get("deletionTimestamp") and (
                    old is None or _collection_changed(old["metadata"], obj["metadata"]))):
                for dep in self.dependents.get(uid, ()):
                    self.queue.add(dep)
            if etype == "DELETED":
                self.dependents.pop(uid, None)
                # an owner waiting for its dependents (foreground) looks again
                for ref in obj["metadata"].get("ownerReferences") or []:
                    owner = self._object(ref["uid"])
                    if owner is not None and owner[1]["metadata"].get("deletionTimestamp"):
                        self.queue.add(ref["uid"])
        return on_event

    def _object(self, uid: str) -> tuple[str, dict] | None:
        found = self.by_uid.get(uid)
        if found is None:
            return None
        obj = self.ctx.informer(found[0]).get(found[1])
        return (found[0], obj) if obj is not None and obj["metadata"]["uid"] == uid else None

    async def sync(self, uid: str) -> None:
        found = self._object(uid)
        if found is None:
            return
        kind, item = found
        if not all(i.synced.is_set() for k, i in self.ctx.informers.items() if k in KINDS):
            self.queue.add_after(uid, self.clock.time_scale * 0.2)
            return
        owners = {}
        for ref in item["metadata"].get("ownerReferences") or []:
            owner = self._object(ref["uid"])
            if owner is None and ref.get("kind") not in KINDS:
                owners[ref["uid"]] = await self._live_owner(item, ref)
            else:
                owners[ref["uid"]] = owner[1] if owner else None
        dependents = [d[1] for d in map(self._object, self.dependents.get(uid, ())) if d]
        for action in plan_collection(item, owners, dependents):
            await self._perform(action)

    async def _live_owner(self, item: dict, ref: dict) -> dict | None:
        """An owner of a kind not watched here: verify it with a GET (isDangling)."""
        if ref.get("kind") not in RESOURCES:
            return {"metadata": {"uid": ref["uid"]}}  # unknown kind: never collect on a guess
        try:
            owner = await self.api.get(ref["kind"], item["metadata"].get("namespace"), ref["name"])
        except ControllerApiError as exc:
            if exc.code == 404:
                return None
            raise
        return owner if owner["metadata"].get("uid") == ref["uid"] else None

    async def _perform(self, action: object) -> None:
        if isinstance(action, Recheck):
            self.queue.add(action.uid)
            return
        found = self._object(action.uid)
        if found is None:
            return
        kind, obj = found
        ns, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        try:
            if isinstance(action, DeleteObject):
                await self.api.delete(kind, ns, name, propagation=action.propagation,
                                      uid=action.uid)
            elif isinstance(action, RemoveOwnerReferences):
                refs = [r for r in obj["metadata"].get("ownerReferences") or []
                        if r["uid"] not in action.owner_uids]
                await self.api.patch(kind, ns, name, {"metadata": {"ownerReferences": refs or None}})
            elif isinstance(action, RemoveFinalizer):
                left = [f for f in obj["metadata"].get("finalizers") or [] if f != action.finalizer]
                await self.api.patch(kind, ns, name, {"metadata": {"finalizers": left or None}})
        except ControllerApiError as exc:
            if exc.code not in (404, 409):
                raise


def _collection_changed(old: dict, new: dict) -> bool:
    """What the collector decides on changed (referencesDiffs, deletionStartsWithFinalizer)."""
    return (old.get("ownerReferences") != new.get("ownerReferences")
            or old.get("finalizers") != new.get("finalizers")
            or old.get("deletionTimestamp") != new.get("deletionTimestamp"))
