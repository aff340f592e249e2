"""Resource usage the kubelet reports for ``metrics.k8s.io`` (what metrics-server would scrape
from the kubelet's ``/metrics/resource``).

The seam is :class:`UsageSource`: ``usage(pod) -> {container name: ContainerUsage}`` (None when
the source knows nothing of the pod). A node asks its source for each of its running pods every
:data:`RESOLUTION` cluster seconds (metrics-server's ``--metric-resolution``); the fleet pushes
all its nodes' reports (:func:`metrics_report`) to the API server in one request.

:class:`SimulatedUsage` serves simulated pods from their annotations (see
:mod:`shiplane.cluster.decisions.sim_behaviour`)::

    sim.shiplane.dev/cpu-millicores: "250"      every container uses 250m cpu
    sim.shiplane.dev/memory-bytes: "67108864"   and 64 MiB
    sim.shiplane.dev/cpu-millicores.web: "400"  only container "web"

Changing the annotation on a running pod (``kubectl annotate pod ... --overwrite``) changes the
load from the next report on. A real runtime (the process runtime's measured cgroup / ``/proc``
accounting) plugs in by giving the node another source, e.g.
``node.usage_source = runtime_adapter`` whose ``usage`` returns the same mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.sim_behaviour import InvalidBehaviour, behaviour_for

__all__ = [
    "NODE_OVERHEAD",
    "RESOLUTION",
    "ContainerUsage",
    "SimulatedUsage",
    "UsageSource",
    "metrics_report",
]

RESOLUTION = 15.0  # metrics-server --metric-resolution (cluster seconds)
# what the node's system daemons use besides the pods (cpu millicores, memory bytes)
NODE_OVERHEAD = (50, 256 * 1024 * 1024)


@dataclass(frozen=True)
class ContainerUsage:
    cpu_millicores: int
    memory_bytes: int


class UsageSource(Protocol):
    def usage(self, pod: Mapping[str, Any]) -> Mapping[str, ContainerUsage] | None:
        """Current usage of each container of ``pod`` (None: unknown pod)."""


class SimulatedUsage:
    """Usage declared on simulated pods (``sim.shiplane.dev/cpu-millicores`` ...)."""

    def usage(self, pod: Mapping[str, Any]) -> Mapping[str, ContainerUsage] | None:
        result = {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            try:
                behaviour = behaviour_for(pod, container)
            except InvalidBehaviour:
                behaviour = None
            result[container["name"]] = ContainerUsage(
                behaviour.cpu_millicores if behaviour else 0,
                behaviour.memory_bytes if behaviour else 0,
            )
        return result


def _quantities(cpu_millicores: int, memory_bytes: int) -> dict[str, str]:
    # metrics-server reports nanocores and KiB
    return {"cpu": f"{cpu_millicores * 1_000_000}n", "memory": f"{memory_bytes // 1024}Ki"}


def metrics_report(
    node: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    source: UsageSource,
    now: datetime,
    window: float = RESOLUTION,
    ttl_seconds: float = 60.0,
) -> dict[str, Any]:
    """One node's report for ``/apis/metrics.k8s.io/v1beta1/reports`` (or
    ``.../nodes/NAME/report``): its NodeMetrics and the PodMetrics of its running pods, shaped
    as metrics-server serves them.
    ``ttl_seconds`` (real time) is how long the API server keeps them without a newer report."""
    stamp = format_time(now)
    window_text = f"{window:g}s"
    pod_metrics = []
    total_cpu, total_memory = NODE_OVERHEAD
    for pod in pods:
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        usage = source.usage(pod)
        if usage is None:
            continue
        meta = pod.get("metadata") or {}
        containers = []
        for name, used in usage.items():
            total_cpu += used.cpu_millicores
            total_memory += used.memory_bytes
            containers.append(
                {"name": name, "usage": _quantities(used.cpu_millicores, used.memory_bytes)}
            )
        pod_metrics.append({
            "kind": "PodMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                         "uid": meta.get("uid"), "labels": dict(meta.get("labels") or {}),
                         "creationTimestamp": stamp},
            "timestamp": stamp,
            "window": window_text,
            "containers": containers,
        })
    node_meta = node.get("metadata") or {}
    node_metrics = {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": node_meta.get("name"), "labels": dict(node_meta.get("labels") or {}),
                     "creationTimestamp": stamp},
        "timestamp": stamp,
        "window": window_text,
        "usage": _quantities(total_cpu, total_memory),
    }
    return {"kind": "MetricsReport", "apiVersion": "shiplane.dev/v1", "node": node_metrics,
            "pods": pod_metrics, "ttlSeconds": ttl_seconds}
