"""Which endpoints a Service port sends traffic to, and in which order (pure).

kube-proxy reads EndpointSlices, not Endpoints (k8s pkg/proxy/endpointslicecache.go): the
endpoints of a Service port are the addresses of every slice labelled
``kubernetes.io/service-name`` whose ``ports`` list a port with the same *name*, at that
slice's port number. Conditions follow discovery/v1: an unset ``ready`` means ready, an unset
``serving`` means the same as ``ready``, an unset ``terminating`` means false.

Cluster traffic goes to ready endpoints; only when none is ready does it fall back to endpoints
that are serving *and* terminating (pkg/proxy/topology.go CategorizeEndpoints, the
ProxyTerminatingEndpoints behaviour, GA in 1.28), so a Service whose last pods are shutting
down still answers. Not-ready, non-terminating endpoints never get traffic.

Balancing is round-robin over the sorted endpoint list (IPVS's default ``rr`` scheduler;
iptables mode picks at random with the same long-run share). A connection that cannot reach
its endpoint is retried on the next ones (userspace kube-proxy's ``tryConnect`` did the same,
pkg/proxy/userspace/proxysocket.go), at most :data:`CONNECT_ATTEMPTS` times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CONNECT_ATTEMPTS", "Backend", "RoundRobin", "backends_for_port", "slices_of"]

CONNECT_ATTEMPTS = 4
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, order=True)
class Backend:
    address: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    pod: str = ""  # targetRef name, for logs and tests


def slices_of(service_key: str, slices: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The EndpointSlices of the Service ``namespace/name``."""
    namespace, name = service_key.split("/", 1)
    return [
        s for s in slices
        if (s.get("metadata") or {}).get("namespace", "default") == namespace
        and ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) == name
    ]


def _conditions(endpoint: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    conditions = endpoint.get("conditions") or {}
    ready = conditions.get("ready")
    ready = True if ready is None else bool(ready)
    serving = conditions.get("serving")
    serving = ready if serving is None else bool(serving)
    return ready, serving, bool(conditions.get("terminating") or False)


def _all_endpoints(port_name: str, slices: Iterable[Mapping[str, Any]]) -> list[Backend]:
    seen: dict[tuple[str, int], Backend] = {}
    for slice_ in slices:
        if slice_.get("addressType", "IPv4") != "IPv4":
            continue
        numbers = [
            p.get("port") for p in slice_.get("ports") or []
            if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == "TCP"
        ]
        if not numbers or numbers[0] is None:
            continue
        for endpoint in slice_.get("endpoints") or []:
            addresses = endpoint.get("addresses") or []
            if not addresses:
                continue
            ready, serving, terminating = _conditions(endpoint)
            backend = Backend(addresses[0], int(numbers[0]), ready, serving, terminating,
                              (endpoint.get("targetRef") or {}).get("name", ""))
            key = (backend.address, backend.port)
            # the same address in two slices (a pod moving between slices): ready wins
            if key not in seen or (backend.ready and not seen[key].ready):
                seen[key] = backend
    return sorted(seen.values())


def backends_for_port(port_name: str, slices: Iterable[Mapping[str, Any]]) -> list[Backend]:
    """The endpoints that get traffic for the Service port named ``port_name``."""
    endpoints = _all_endpoints(port_name, slices)
    ready = [e for e in endpoints if e.ready]
    if ready:
        return ready
    return [e for e in endpoints if e.serving and e.terminating]


class RoundRobin:
    """Round-robin order over a changing backend list, with fail-over order for one connection."""

    def __init__(self) -> None:
        self._next = 0

    def order(self, backends: Sequence[Backend]) -> list[Backend]:
        """The backends to try for one new connection: the next in turn first, then the
        following ones, at most :data:`CONNECT_ATTEMPTS`."""
        if not backends:
            return []
        start = self._next % len(backends)
        self._next = start + 1
        rotated = [*backends[start:], *backends[:start]]
        return rotated[:CONNECT_ATTEMPTS]
