"""Cluster IP and node port allocation for Services.

Upstream allocates from ``--service-cluster-ip-range`` (default 10.96.0.0/12; the
first address goes to the ``kubernetes`` service) and ``--service-node-port-range``
(30000-32767). Allocation scans the stored Services, so it needs no extra state and
stays right across restarts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from shiplane.cluster.store.errors import FieldError

__all__ = ["DEFAULT_SERVICE_CIDR", "NODE_PORT_RANGE", "allocate_service_addresses"]

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
NODE_PORT_RANGE = (30000, 32767)


def allocate_service_addresses(
    service: dict[str, Any],
    existing: Iterable[dict[str, Any]],
    cidr: str = DEFAULT_SERVICE_CIDR,
) -> list[FieldError]:
    """Fill ``spec.clusterIP(s)`` and node ports in place; errors for taken or foreign values."""
    spec = service.setdefault("spec", {})
    stype = spec.get("type", "ClusterIP")
    network = ipaddress.ip_network(cidr)
    used_ips: set[str] = set()
    used_ports: set[int] = set()
    for other in existing:
        other_spec = other.get("spec") or {}
        if other_spec.get("clusterIP") not in (None, "", "None"):
            used_ips.add(other_spec["clusterIP"])
        for port in other_spec.get("ports") or []:
            if port.get("nodePort"):
                used_ports.add(port["nodePort"])
    errors: list[FieldError] = []
    if stype == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    else:
        wanted = spec.get("clusterIP") or ((spec.get("clusterIPs") or [None])[0])
        if wanted == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
        elif wanted:
            try:
                inside = ipaddress.ip_address(wanted) in network
            except ValueError:
                inside = False
            if not inside:
                errors.append(
                    FieldError(
                        "Invalid",
                        "spec.clusterIPs",
                        [wanted],
                        f"failed to allocate IP {wanted}: the provided IP ({wanted}) is not in the "
                        f"valid range. The range of valid IPs is {cidr}",
                    )
                )
            elif wanted in used_ips:
                errors.append(
                    FieldError(
                        "Invalid",
                        "spec.clusterIPs",
                        [wanted],
                        f"failed to allocate IP {wanted}: provided IP is already allocated",
                    )
                )
            spec["clusterIP"] = wanted
            spec["clusterIPs"] = [wanted]
        else:
            # Offset 1 is the kubernetes service; scan upwards for the first free address.
            for offset in range(1, network.num_addresses - 1):
                candidate = str(network.network_address + offset)
                if candidate not in used_ips:
                    spec["clusterIP"] = candidate
                    spec["clusterIPs"] = [candidate]
                    break
            else:
                errors.append(
                    FieldError(
                        "Invalid", "spec.clusterIPs", None, "failed to allocate IP: range is full"
                    )
                )
    if stype in ("NodePort", "LoadBalancer"):
        low, high = NODE_PORT_RANGE
        for i, port in enumerate(spec.get("ports") or []):
            wanted_port = port.get("nodePort")
            if wanted_port:
                if not low <= wanted_port <= high:
                    errors.append(
                        FieldError(
                            "Invalid",
                            f"spec.ports[{i}].nodePort",
                            wanted_port,
                            f"provided port is not in the valid range. The range of valid ports is "
                            f"{low}-{high}",
                        )
                    )
                elif wanted_port in used_ports:
                    errors.append(
                        FieldError(
                            "Invalid",
                            f"spec.ports[{i}].nodePort",
                            wanted_port,
                            "provided port is already allocated",
                        )
                    )
                used_ports.add(wanted_port)
                continue
            for candidate in range(low, high + 1):
                if candidate not in used_ports:
                    port["nodePort"] = candidate
                    used_ports.add(candidate)
                    break
    return errors


def carry_service_addresses(new: dict[str, Any], old: dict[str, Any]) -> None:
    """On update, an unset clusterIP / nodePort keeps the allocated one."""
    spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
        spec["clusterIPs"] = old_spec["clusterIPs"]
    old_ports = {
        (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
        for p in old_spec.get("ports") or []
    }
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for port in spec.get("ports") or []:
            previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if not port.get("nodePort") and previous:
                port["nodePort"] = previous
