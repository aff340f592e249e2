"""Where each Service port is served on this host (pure).

The API server allocates ClusterIPs from ``10.96.0.0/12`` like upstream
(``--service-cluster-ip-range``), and nothing on the host routes that range. The Service proxy
therefore serves a Service at the *loopback twin* of its ClusterIP: the same last three octets
under ``127.`` (``10.96.0.10:80`` → ``127.96.0.10:80``). Linux routes all of ``127.0.0.0/8`` to
the loopback interface, so every Service keeps its own port space, as ClusterIPs do, without
an address being configured. The twins cover ``127.96.0.0/12``; pod IPs of the process runtime
must come from elsewhere in ``127/8``.

NodePort Services are also served on ``127.0.0.1:<nodePort>`` (every node is this host).
Headless Services (``clusterIP: None``) and ExternalName Services get no listener, like
kube-proxy. Only TCP ports are proxied (UDP/SCTP are skipped).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Listener", "loopback_twin", "service_listeners"]

NODE_ADDRESS = "127.0.0.1"


@dataclass(frozen=True, order=True)
class Listener:
    """One address:port the proxy listens on for one port of one Service."""

    address: str
    port: int
    service: str  # namespace/name
    port_name: str  # the Service port's name ("" for a single unnamed port)


def loopback_twin(cluster_ip: str) -> str | None:
    """``10.a.b.c`` → ``127.a.b.c``; None for a missing, headless or non-IPv4 address."""
    try:
        address = ipaddress.ip_address(cluster_ip)
    except ValueError:
        return None
    if address.version != 4:
        return None
    if address.is_loopback:
        return str(address)
    return "127." + ".".join(str(cluster_ip).split(".")[1:])


def service_listeners(service: Mapping[str, Any]) -> list[Listener]:
    """The listeners a Service wants: its ClusterIP twin per TCP port, plus node ports."""
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    key = f"{meta.get('namespace', 'default')}/{meta.get('name', '')}"
    if spec.get("type") == "ExternalName" or meta.get("deletionTimestamp"):
        return []
    twin = loopback_twin(spec.get("clusterIP") or "")
    out: list[Listener] = []
    for port in spec.get("ports") or []:
        if (port.get("protocol") or "TCP") != "TCP" or not port.get("port"):
            continue
        name = port.get("name") or ""
        if twin is not None:
            out.append(Listener(twin, int(port["port"]), key, name))
        if spec.get("type") in ("NodePort", "LoadBalancer") and port.get("nodePort"):
            out.append(Listener(NODE_ADDRESS, int(port["nodePort"]), key, name))
    return sorted(out)
