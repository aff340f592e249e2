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
load from the next report on.

The load model: a Deployment, ReplicaSet or StatefulSet annotated
``sim.shiplane.dev/load-cpu-millicores: "900"`` receives that much cpu in total, shared evenly
by its Ready pods (in their first container; a pod's own ``cpu-millicores`` wins), so more
replicas mean less each, as behind a load-balanced Service. Annotating the workload's metadata
(not its pod template) does not start a rollout:
``kubectl annotate deployment web sim.shiplane.dev/load-cpu-millicores=900 --overwrite``. A real runtime (the process runtime's measured cgroup / ``/proc``
accounting) plugs in by giving the node another source, e.g.
``node.usage_source = runtime_adapter`` whose ``usage`` returns the same mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.pods import is_pod_ready
from shiplane.cluster.decisions.sim_behaviour import InvalidBehaviour, behaviour_for

__all__ = [
    "LOAD_ANNOTATION",
    "NODE_OVERHEAD",
    "RESOLUTION",
    "ContainerUsage",
    "PodTotalUsage",
    "SimulatedUsage",
    "UsageSource",
    "load_shares",
    "metrics_report",
]

RESOLUTION = 15.0  # metrics-server --metric-resolution (cluster seconds)
# what the node's system daemons use besides the pods (cpu millicores, memory bytes)
NODE_OVERHEAD = (50, 256 * 1024 * 1024)
LOAD_ANNOTATION = "sim.shiplane.dev/load-cpu-millicores"
_CPU_KEY = "sim.shiplane.dev/cpu-millicores"


@dataclass(frozen=True)
class ContainerUsage:
    cpu_millicores: int
    memory_bytes: int


class UsageSource(Protocol):
    def usage(self, pod: Mapping[str, Any]) -> Mapping[str, ContainerUsage] | None:
        """Current usage of each container of ``pod`` (None: unknown pod)."""


def _controller(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def load_shares(
    pods: Sequence[Mapping[str, Any]],
    workload: Callable[[str, str, str], Mapping[str, Any] | None],
) -> dict[str, int]:
    """The load model: pod uid → its share (millicores) of its workload's
    ``load-cpu-millicores``. ``workload(kind, namespace, name)`` looks a ReplicaSet,
    Deployment or StatefulSet up; a ReplicaSet owned by a Deployment carries the Deployment's
    load."""
    groups: dict[tuple, tuple[int, list[str]]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp") or not is_pod_ready(pod):
            continue
        ns, ref = meta.get("namespace", "default"), _controller(pod)
        chain = []
        while ref is not None and ref.get("kind") in ("ReplicaSet", "Deployment", "StatefulSet"):
            owner = workload(ref["kind"], ns, ref["name"])
            if owner is None:
                break
            chain.append(owner)
            ref = _controller(owner)
        for owner in reversed(chain):  # the outermost annotated workload wins
            raw = ((owner.get("metadata") or {}).get("annotations") or {}).get(LOAD_ANNOTATION)
            try:
                total = int(raw) if raw is not None else None
            except ValueError:
                total = None
            if total is not None:
                key = (ns, owner["metadata"].get("uid") or owner["metadata"]["name"])
                members = groups.setdefault(key, (max(total, 0), []))[1]
                members.append(meta.get("uid", ""))
                break
    shares: dict[str, int] = {}
    for total, members in groups.values():
        each, extra = divmod(total, len(members))
        for index, uid in enumerate(sorted(members)):
            shares[uid] = each + (1 if index < extra else 0)
    return shares


class SimulatedUsage:
    """Usage declared on simulated pods (``sim.shiplane.dev/cpu-millicores`` ...), plus their
    share of their workload's load (``load_share(pod)``, see :func:`load_shares`)."""

    def __init__(self, load_share: Callable[[Mapping[str, Any]], int | None] | None = None):
        self.load_share = load_share

    def usage(self, pod: Mapping[str, Any]) -> Mapping[str, ContainerUsage] | None:
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        share = None
        if self.load_share is not None and not any(k.startswith(_CPU_KEY) for k in annotations):
            share = self.load_share(pod)
        result = {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            try:
                behaviour = behaviour_for(pod, container)
            except InvalidBehaviour:
                behaviour = None
            cpu = behaviour.cpu_millicores if behaviour else 0
            if share is not None and not result:
                cpu = share
            result[container["name"]] = ContainerUsage(
                cpu, behaviour.memory_bytes if behaviour else 0
            )
        return result


class PodTotalUsage:
    """A :class:`UsageSource` over a runtime that measures whole pods (the process runtime's
    ``usage(pod) -> {"cpu_millicores", "memory_bytes"}`` from ``/proc``): the pod's total is
    reported on its first container, as the measurement cannot tell containers apart."""

    def __init__(self, measure: Callable[[Mapping[str, Any]], Mapping[str, int]]) -> None:
        self.measure = measure

    def usage(self, pod: Mapping[str, Any]) -> Mapping[str, ContainerUsage] | None:
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return None
        measured = self.measure(pod)
        result = {c["name"]: ContainerUsage(0, 0) for c in containers}
        result[containers[0]["name"]] = ContainerUsage(int(measured.get("cpu_millicores", 0)),
                                                       int(measured.get("memory_bytes", 0)))
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
