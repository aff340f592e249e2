"""The namespace controller: empties Terminating namespaces through the API, then finalizes them
(k8s pkg/controller/namespace/namespace_controller.go and deletion/namespaced_resources_deleter.go).

Keys are namespace names, queued when a namespace carries a deletionTimestamp. A sync reads the
namespace fresh (other controllers edit it while it terminates), makes sure its phase is
Terminating, discovers the namespaced resources (preferred versions, CRDs included), deletes
each collection with background propagation and lists the leftovers; the pure
:mod:`~shiplane.cluster.decisions.namespace_deletion` core turns them into the namespace's
deletion conditions and an estimate. With content left it looks again after ``estimate/2 + 1``
seconds; with none it removes the ``kubernetes`` finalizer via ``namespaces/<name>/finalize``
and deletes the namespace (uid precondition), which the API server then removes.
"""

from __future__ import annotations

from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller, SyncError
from shiplane.cluster.decisions.namespace_deletion import (
    ContentLeft,
    DeletableResource,
    deletable_resources,
    deletion_conditions,
    deletion_time,
    finalized,
    remaining_content,
    requeue_after,
    without_finalizer,
)

__all__ = ["NamespaceController"]

_BACKGROUND = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}


def _collection_path(resource: DeletableResource, namespace: str) -> str:
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
    return f"{base}/namespaces/{namespace}/{resource.plural}"


class NamespaceController(Controller):
    name = "namespace-controller"
    workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informer("Namespace")
        self.namespaces.add_handler(self._on_namespace)

    def _on_namespace(self, etype: str, ns: dict, old: dict | None) -> None:
        if etype != "DELETED" and ns["metadata"].get("deletionTimestamp"):
            self.queue.add(ns["metadata"]["name"])

    async def sync(self, name: str) -> None:
        try:
            ns = await self.api.get("Namespace", None, name)
        except ControllerApiError as exc:
            if exc.code == 404:
                return
            raise
        if not ns["metadata"].get("deletionTimestamp"):
            return
        ns = await self._ensure_terminating(ns)
        if finalized(ns):
            await self._delete(ns)
            return
        discovery_error = None
        try:
            resources = await self._discover()
        except ControllerApiError as exc:
            resources, discovery_error = [], str(exc)
        now = self.clock.now()
        deleted_at = deletion_time(ns) or now
        content: list[ContentLeft] = []
        errors: list[str] = []
        for resource in resources:
            try:
                items = await self._delete_content(resource, name)
            except ControllerApiError as exc:
                errors.append(str(exc))
                continue
            content.append(remaining_content(resource, name, items, deleted_at, now))
        status = deletion_conditions(ns.get("status") or {}, content, errors, now,
                                     discovery_error)
        if status is not None:
            ns = await self.api.replace("Namespace", {**ns, "status": status}, sub="status")
        failures = errors + [c.error for c in content if c.error]
        if discovery_error or failures:
            raise SyncError(f"namespace {name}: " + "; ".join(filter(None, [discovery_error,
                                                                           *failures])))
        estimate = max((c.estimate for c in content), default=0)
        if estimate > 0:
            self.queue.add_after(name, requeue_after(estimate))
            return
        ns = await self.api.replace("Namespace", without_finalizer(ns), sub="finalize")
        if finalized(ns):
            await self._delete(ns)

    async def _ensure_terminating(self, ns: dict) -> dict:
        """updateNamespaceStatusFunc: a deleted namespace's phase is Terminating."""
        if (ns.get("status") or {}).get("phase") == "Terminating":
            return ns
        status = {**(ns.get("status") or {}), "phase": "Terminating"}
        return await self.api.replace("Namespace", {**ns, "status": status}, sub="status")

    async def _delete(self, ns: dict) -> None:
        try:
            await self.api.delete("Namespace", None, ns["metadata"]["name"],
                                  uid=ns["metadata"].get("uid"))
        except ControllerApiError as exc:
            if exc.code != 404:
                raise

    async def _discover(self) -> list[DeletableResource]:
        """ServerPreferredNamespacedResources over /api/v1 and each group's preferred version."""
        documents = [await self.api.request("GET", "/api/v1")]
        groups = await self.api.request("GET", "/apis")
        for group in groups.get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                documents.append(await self.api.request("GET", f"/apis/{preferred}"))
        return deletable_resources(documents)

    async def _delete_content(self, resource: DeletableResource, namespace: str) -> list[dict]:
        """Delete the collection (or each item), then list what is left."""
        path = _collection_path(resource, namespace)
        if resource.delete_collection:
            await self.api.request("DELETE", path, body=_BACKGROUND)
        else:  # deleteEachItem
            for item in (await self.api.request("GET", path)).get("items") or []:
                try:
                    await self.api.request("DELETE", f"{path}/{item['metadata']['name']}",
                                           body=_BACKGROUND)
                except ControllerApiError as exc:
                    if exc.code != 404:
                        raise
        return (await self.api.request("GET", path)).get("items") or []

