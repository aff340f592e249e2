"""The live endpoint list of every Service port, shared by the Service proxy and the Ingress
controller (kube-proxy's and an ingress controller's endpoint caches).

Two informers feed it. A slice or Service event recomputes that Service's ports at once
(:func:`backends_for_port`), so a connection opened after the event already avoids an
endpoint that went not-ready or terminating. :meth:`EndpointTable.order` hands out the backends
of one port in round-robin order for one new connection.
"""

from __future__ import annotations

from shiplane.cluster.controllers.base import Context
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.network.endpoint_selection import (
    SERVICE_NAME_LABEL,
    Backend,
    RoundRobin,
    backends_for_port,
    slices_of,
)

__all__ = ["EndpointTable"]


class EndpointTable:
    def __init__(self, ctx: Context) -> None:
        self.services = ctx.informer("Service")
        self.slices = ctx.informer("EndpointSlice")
        self.backends: dict[tuple[str, str], list[Backend]] = {}
        self.balancers: dict[tuple[str, str], RoundRobin] = {}
        self.services.add_handler(lambda t, svc, old: self.refresh(key_of(svc)))
        self.slices.add_handler(self._on_slice)

    def _on_slice(self, etype: str, slice_: dict, old: dict | None) -> None:
        meta = slice_.get("metadata") or {}
        name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if name:
            self.refresh(f"{meta.get('namespace', 'default')}/{name}")

    def refresh(self, service_key: str) -> None:
        # new lists first, then one assignment per port and only then the removals: the Service
        # proxy reads this table from its own thread and never sees a port without its backends
        fresh: dict[tuple[str, str], list[Backend]] = {}
        svc = self.services.get(service_key)
        if svc is not None:
            slices = slices_of(service_key, self.slices.values())
            for port in (svc.get("spec") or {}).get("ports") or []:
                name = port.get("name") or ""
                fresh[(service_key, name)] = backends_for_port(name, slices)
        for key, backends in fresh.items():
            self.backends[key] = backends
        for key in [k for k in list(self.backends) if k[0] == service_key and k not in fresh]:
            self.backends.pop(key, None)

    def of(self, service_key: str, port_name: str = "") -> list[Backend]:
        return list(self.backends.get((service_key, port_name), []))

    def order(self, service_key: str, port_name: str = "") -> list[Backend]:
        """The backends to try, in order, for one new connection to this Service port."""
        key = (service_key, port_name)
        balancer = self.balancers.setdefault(key, RoundRobin())
        return balancer.order(self.backends.get(key, []))
