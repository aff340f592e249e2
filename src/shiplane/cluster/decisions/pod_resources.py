"""Pod resource requests as the scheduler counts them (k8s component-helpers resource
``PodRequests``): containers summed, restartable init containers (sidecars) added, the largest
init container as a floor, plus pod overhead. Values are ints: cpu in millicores, everything else
in base units (bytes, counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shiplane.cluster.decisions.quantity import milli_value, value

__all__ = [
    "DEFAULT_MILLI_CPU_REQUEST",
    "DEFAULT_MEMORY_REQUEST",
    "node_allocatable",
    "pod_requests",
]

# pkg/scheduler/util/pod_resources.go: requests assumed for scoring when a container sets none
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

Resources = dict[str, int]


def _amount(name: str, raw: Any) -> int:
    return milli_value(raw) if name == "cpu" else value(raw)


def _container_requests(container: Mapping[str, Any], non_zero: bool) -> Resources:
    requests = ((container.get("resources") or {}).get("requests")) or {}
    out = {name: _amount(name, raw) for name, raw in requests.items()}
    if non_zero:
        out.setdefault("cpu", DEFAULT_MILLI_CPU_REQUEST)
        out.setdefault("memory", DEFAULT_MEMORY_REQUEST)
    return out


def _add(into: Resources, more: Mapping[str, int]) -> None:
    for name, amount in more.items():
        into[name] = into.get(name, 0) + amount


def _max(into: Resources, other: Mapping[str, int]) -> None:
    for name, amount in other.items():
        into[name] = max(into.get(name, 0), amount)


def pod_requests(pod: Mapping[str, Any], *, non_zero: bool = False) -> Resources:
    """Effective requests; ``non_zero`` fills in 100m cpu / 200Mi memory per container (scoring)."""
    spec = pod.get("spec") or {}
    total: Resources = {}
    for container in spec.get("containers") or []:
        _add(total, _container_requests(container, non_zero))
    sidecars: Resources = {}
    init_floor: Resources = {}
    for container in spec.get("initContainers") or []:
        requests = _container_requests(container, non_zero)
        if container.get("restartPolicy") == "Always":
            # a sidecar keeps running: it adds to the pod and to every later init container
            _add(sidecars, requests)
            step = dict(sidecars)
        else:
            step = dict(requests)
            _add(step, sidecars)
        _max(init_floor, step)
    _add(total, sidecars)
    _max(total, init_floor)
    for name, raw in (spec.get("overhead") or {}).items():
        _add(total, {name: _amount(name, raw)})
    return total


def node_allocatable(node: Mapping[str, Any]) -> Resources:
    """status.allocatable (falling back to capacity); ``pods`` defaults to the kubelet's 110."""
    status = node.get("status") or {}
    raw = status.get("allocatable") or status.get("capacity") or {}
    out = {name: _amount(name, q) for name, q in raw.items()}
    out.setdefault("pods", 110)
    return out
