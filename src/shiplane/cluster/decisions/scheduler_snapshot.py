"""The scheduler's view of the cluster for one scheduling cycle (k8s pkg/scheduler/framework
types.go NodeInfo, CycleState): per-node pods and summed requests, kept up to date by the caller
between cycles, plus a per-cycle memo for PreFilter/PreScore state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shiplane.cluster.decisions.pod_resources import node_allocatable, pod_requests

__all__ = ["ClusterView", "NodeInfo", "incoming_requests", "required_terms"]

Obj = Mapping[str, Any]


@dataclass
class NodeInfo:
    """A node and the pods assigned to it, with their summed requests (framework.NodeInfo)."""

    node: Obj
    pods: list = field(default_factory=list)
    requested: dict = field(default_factory=dict)
    non_zero_requested: dict = field(default_factory=dict)
    images: Mapping[str, int] = field(default_factory=dict)  # normalised image name -> bytes
    # pods here with required anti-affinity (lets InterPodAffinity skip when there are none)
    anti_affinity_pods: int = 0

    # node-local plugin results per (pod spec, plugin), valid until the node's pods change
    # (add_pod clears it; any other change to a node builds a new NodeInfo)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    name: str = field(init=False)
    labels: Mapping[str, str] = field(init=False)
    allocatable: dict = field(init=False)
    taints: list = field(init=False)
    unschedulable: bool = field(init=False)

    def __post_init__(self) -> None:
        # read once: the filters and scores look these up for every node of every cycle
        self.name = self.node["metadata"]["name"]
        self.labels = (self.node.get("metadata") or {}).get("labels") or {}
        self.allocatable = node_allocatable(self.node)
        spec = self.node.get("spec") or {}
        self.taints = list(spec.get("taints") or [])
        self.unschedulable = bool(spec.get("unschedulable"))

    def add_pod(self, pod: Obj) -> None:
        self.memo.clear()
        self.pods.append(pod)
        if required_terms(pod, "podAntiAffinity"):
            self.anti_affinity_pods += 1
        for name, amount in pod_requests(pod).items():
            self.requested[name] = self.requested.get(name, 0) + amount
        for name, amount in pod_requests(pod, non_zero=True).items():
            if name in ("cpu", "memory"):
                self.non_zero_requested[name] = self.non_zero_requested.get(name, 0) + amount


@dataclass
class ClusterView:
    """Everything the filters need beyond one node: all nodes (for topology domains)."""

    nodes: list  # list[NodeInfo]
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # per-scheduling-cycle memo (upstream's PreFilter state), keyed by plugin
    cycle_state: dict = field(default_factory=dict)
    # selector of the Services/ReplicaSets selecting the pod (helper.DefaultSelector), used by
    # the system default topology spread constraints; None: no default spreading
    default_spread_selector: Mapping[str, Any] | None = None


def incoming_requests(pod: Obj, view: ClusterView, *, non_zero: bool = False) -> dict:
    """The scheduled pod's requests, computed once per cycle (PreFilter/PreScore state)."""
    key = ("requests", non_zero)
    if key not in view.cycle_state:
        view.cycle_state[key] = pod_requests(pod, non_zero=non_zero)
    return view.cycle_state[key]


def required_terms(pod: Obj, kind: str) -> list:
    section = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return list(section.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
