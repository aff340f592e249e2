"""Endpoints and EndpointSlices for a Service (k8s pkg/controller/endpoint/endpoints_controller.go,
staging/src/k8s.io/endpointslice/utils.go podToEndpoint / getEndpointPorts,
pkg/api/v1/pod FindPort).

Only pods with an IP and not Succeeded/Failed take part. EndpointSlice conditions: ``serving`` is
the pod's Ready condition, ``terminating`` is a deletionTimestamp, and
``ready`` = serving and not terminating (or publishNotReadyAddresses). Endpoints (v1) leave
terminating pods out unless publishNotReadyAddresses, and list unready ones as
notReadyAddresses. ``targetPort`` by name is resolved per pod, so pods exposing different numbers
end up in different subsets/slices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.cluster.decisions.labels import matches_label_selector
from shiplane.cluster.decisions.pods import is_pod_ready, is_pod_terminating

__all__ = ["MAX_ENDPOINTS_PER_SLICE", "endpoint_slices", "endpoints", "find_port", "selected_pods"]

MAX_ENDPOINTS_PER_SLICE = 100  # --max-endpoints-per-slice default
Obj = Mapping[str, Any]


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """FindPort: a numeric targetPort as is; a named one from the pod's container ports
    (same name and protocol); None when the pod does not expose it."""
    target = service_port.get("targetPort", service_port.get("port"))
    protocol = service_port.get("protocol") or "TCP"
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def _pod_ip(pod: Obj) -> str:
    status = pod.get("status") or {}
    return status.get("podIP") or ((status.get("podIPs") or [{}])[0].get("ip") or "")


def _eligible(pod: Obj, include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    if not _pod_ip(pod):
        return False
    return include_terminating or not is_pod_terminating(pod)


def selected_pods(service: Obj, pods: Sequence[Obj]) -> list[Obj]:
    """Pods in the Service's namespace matching spec.selector (no selector: none)."""
    selector = (service.get("spec") or {}).get("selector")
    if not selector:
        return []
    namespace = (service.get("metadata") or {}).get("namespace", "default")
    return [
        p
        for p in pods
        if (p.get("metadata") or {}).get("namespace", "default") == namespace
        and matches_label_selector(
            {"matchLabels": selector}, (p.get("metadata") or {}).get("labels")
        )
    ]


def _target_ref(pod: Obj) -> dict:
    meta = pod.get("metadata") or {}
    ref = {
        "kind": "Pod",
        "namespace": meta.get("namespace", "default"),
        "name": meta.get("name", ""),
    }
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    return ref


def _hostname(pod: Obj, service: Obj) -> str | None:
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == (service.get("metadata") or {}).get(
        "name"
    ):
        return spec["hostname"]
    return None


def _service_ports(service: Obj, pod: Obj) -> list[tuple[str, int, str]]:
    out = []
    for port in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, port)
        if number is not None:
            out.append((port.get("name") or "", number, port.get("protocol") or "TCP"))
    return out


def endpoint_slices(
    service: Obj, pods: Sequence[Obj], nodes: Mapping[str, Obj] | None = None
) -> list[dict]:
    """The EndpointSlices the controller wants (names left to generateName ``<service>-``)."""
    spec = service.get("spec") or {}
    meta = service.get("metadata") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple, list[dict]] = {}
    for pod in selected_pods(service, pods):
        if not _eligible(pod, include_terminating=True):
            continue
        ports = tuple(_service_ports(service, pod))
        serving = is_pod_ready(pod)
        terminating = is_pod_terminating(pod)
        endpoint: dict[str, Any] = {
            "addresses": [_pod_ip(pod)],
            "conditions": {
                "ready": publish or (serving and not terminating),
                "serving": serving,
                "terminating": terminating,
            },
            "targetRef": _target_ref(pod),
        }
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            endpoint["nodeName"] = node_name
            zone = (
                (((nodes or {}).get(node_name) or {}).get("metadata") or {})
                .get("labels", {})
                .get("topology.kubernetes.io/zone")
            )
            if zone:
                endpoint["zone"] = zone
        hostname = _hostname(pod, service)
        if hostname:
            endpoint["hostname"] = hostname
        groups.setdefault(ports, []).append(endpoint)
    slices = []
    for ports, endpoints_ in sorted(groups.items()):
        endpoints_.sort(key=lambda e: (e["targetRef"]["name"], e["addresses"][0]))
        for start in range(0, len(endpoints_), MAX_ENDPOINTS_PER_SLICE):
            slices.append(
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "generateName": f"{meta.get('name', '')}-",
                        "namespace": meta.get("namespace", "default"),
                        "labels": {
                            "kubernetes.io/service-name": meta.get("name", ""),
                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                        },
                    },
                    "addressType": "IPv4",
                    "endpoints": endpoints_[start : start + MAX_ENDPOINTS_PER_SLICE],
                    "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports],
                }
            )
    return slices


def endpoints(service: Obj, pods: Sequence[Obj]) -> dict:
    """The v1 Endpoints object (subsets repacked: ports sharing the same addresses grouped)."""
    spec = service.get("spec") or {}
    meta = service.get("metadata") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    by_port: dict[tuple[str, int, str], tuple[dict, dict]] = {}
    for pod in selected_pods(service, pods):
        if not _eligible(pod, include_terminating=publish):
            continue
        address: dict[str, Any] = {"ip": _pod_ip(pod), "targetRef": _target_ref(pod)}
        if (pod.get("spec") or {}).get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        hostname = _hostname(pod, service)
        if hostname:
            address["hostname"] = hostname
        ready = publish or is_pod_ready(pod)
        for port in _service_ports(service, pod):
            ready_set, unready_set = by_port.setdefault(port, ({}, {}))
            (ready_set if ready else unready_set)[address["ip"]] = address
    grouped: dict[tuple, list] = {}
    for port, (ready_set, unready_set) in by_port.items():
        key = (tuple(sorted(ready_set)), tuple(sorted(unready_set)))
        grouped.setdefault(key, []).append(port)
    subsets = []
    for (ready_ips, unready_ips), ports in sorted(grouped.items()):
        first = by_port[ports[0]]
        subset: dict[str, Any] = {}
        if ready_ips:
            subset["addresses"] = [first[0][ip] for ip in ready_ips]
        if unready_ips:
            subset["notReadyAddresses"] = [first[1][ip] for ip in unready_ips]
        subset["ports"] = [
            {"name": n, "port": p, "protocol": proto} for n, p, proto in sorted(ports)
        ]
        subsets.append(subset)
    out_meta = {"name": meta.get("name", ""), "namespace": meta.get("namespace", "default")}
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": out_meta, "subsets": subsets}
