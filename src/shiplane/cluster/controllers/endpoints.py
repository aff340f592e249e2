"""Endpoints and EndpointSlice controllers (k8s pkg/controller/endpoint, endpointslice): write
what :func:`endpoints` / :func:`endpoint_slices` want for each Service with a selector.

Any pod change in a namespace queues that namespace's Services (a label change can move a pod
between Services). Only differences are written; slices are matched to the existing ones of
the Service by position and carry an ownerReference to it, so the garbage collector removes
them with the Service. Endpoints are deleted with their Service.
"""

from __future__ import annotations

from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.decisions.endpoints import endpoint_slices, endpoints

__all__ = ["EndpointsController"]


class EndpointsController(Controller):
    name = "endpoint-controller"
    workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informer("Service")
        self.pods = ctx.informer("Pod")
        self.endpoints = ctx.informer("Endpoints")
        self.slices = ctx.informer("EndpointSlice")
        self.nodes = ctx.informer("Node")
        self.services.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        prefix = pod["metadata"]["namespace"] + "/"
        for key in list(self.services.cache):
            if key.startswith(prefix):
                self.queue.add(key)

    def _pods_of(self, namespace: str) -> list[dict]:
        prefix = namespace + "/"
        return [p for k, p in self.pods.cache.items() if k.startswith(prefix)]

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        ns, name = key.split("/", 1)
        if svc is None:
            try:
                await self.api.delete("Endpoints", ns, name)
            except ControllerApiError as exc:
                if exc.code != 404:
                    raise
            return
        if not (svc.get("spec") or {}).get("selector") or svc["metadata"].get("deletionTimestamp"):
            return
        pods = self._pods_of(ns)
        await self._sync_endpoints(svc, pods)
        await self._sync_slices(svc, pods)

    async def _sync_endpoints(self, svc: dict, pods: list[dict]) -> None:
        want = endpoints(svc, pods)
        key = key_of(svc)
        have = self.endpoints.get(key)
        if have is not None and (have.get("subsets") or []) == want["subsets"]:
            return
        ns = svc["metadata"]["namespace"]
        if have is None:
            try:
                created = await self.api.create("Endpoints", ns, want)
                self.endpoints.remember(created)
                return
            except ControllerApiError as exc:
                if exc.code != 409:
                    raise
                have = await self.api.get("Endpoints", ns, svc["metadata"]["name"])
        body = {**want, "metadata": {**have["metadata"]}}
        updated = await self.api.replace("Endpoints", body)
        self.endpoints.remember(updated)

    async def _sync_slices(self, svc: dict, pods: list[dict]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        nodes = {n["metadata"]["name"]: n for n in self.nodes.values()}
        want = endpoint_slices(svc, pods, nodes)
        owner = {"apiVersion": "v1", "kind": "Service", "name": name,
                 "uid": svc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        have = sorted(
            (s for k, s in self.slices.cache.items() if k.startswith(ns + "/")
             and (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name") == name),
            key=lambda s: s["metadata"]["name"],
        )
        for index, slice_ in enumerate(want):
            slice_["metadata"]["ownerReferences"] = [owner]
            if index < len(have):
                old = have[index]
                if old.get("endpoints") == slice_["endpoints"] and old.get("ports") == slice_["ports"]:
                    continue
                meta = {**old["metadata"], "labels": slice_["metadata"]["labels"]}
                updated = await self.api.replace("EndpointSlice", {**slice_, "metadata": meta})
                self.slices.remember(updated)
            else:
                created = await self.api.create("EndpointSlice", ns, slice_)
                self.slices.remember(created)
        for old in have[len(want):]:
            try:
                await self.api.delete("EndpointSlice", ns, old["metadata"]["name"])
            except ControllerApiError as exc:
                if exc.code != 404:
                    raise
