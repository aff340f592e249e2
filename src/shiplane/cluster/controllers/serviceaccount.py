"""The ServiceAccount controller (k8s pkg/controller/serviceaccount/serviceaccounts_controller.go):
every active namespace gets a ``default`` ServiceAccount, re-created if deleted."""

from __future__ import annotations

from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of

__all__ = ["ServiceAccountController"]


class ServiceAccountController(Controller):
    name = "serviceaccount-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informer("Namespace")
        self.accounts = ctx.informer("ServiceAccount")
        self.namespaces.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        self.accounts.add_handler(
            lambda t, o, old: t == "DELETED" and self.queue.add(o["metadata"]["namespace"])
        )

    async def sync(self, namespace: str) -> None:
        ns = self.namespaces.get(namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        if self.accounts.get(f"{namespace}/default") is not None:
            return
        body = {"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": namespace}}
        try:
            await self.api.create("ServiceAccount", namespace, body)
        except ControllerApiError as exc:
            if exc.code != 409:
                raise
