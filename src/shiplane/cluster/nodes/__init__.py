"""Embedded nodes (KWOK-style): Node registration, Lease heartbeats, a kubelet per node that
pulls images for real through the registry client and runs pods through the kubelet cores, with
a container runtime per node: simulated (default) or process (real processes in bubblewrap);
resource usage for metrics.k8s.io (annotations, a workload load model, or another
``UsageSource``); node failure on demand (``set_node_failed``)."""

from shiplane.cluster.nodes.failure import NodeNotFound, set_node_failed
from shiplane.cluster.nodes.images import ContentStore, ImagePuller, ImagePullFailed, PulledImage
from shiplane.cluster.nodes.kubelet import FAILED_ANNOTATION, NodeFleet, SimulatedNode
from shiplane.cluster.nodes.kubelet_server import KubeletServer
from shiplane.cluster.nodes.node_spec import RUNTIMES, NodeSpec, default_node_specs, load_node_specs
from shiplane.cluster.nodes.runtime import ContainerRuntime, ProcessRuntime, SimulatedRuntime
from shiplane.cluster.nodes.usage import (
    LOAD_ANNOTATION,
    ContainerUsage,
    SimulatedUsage,
    UsageSource,
)

__all__ = [
    "FAILED_ANNOTATION",
    "LOAD_ANNOTATION",
    "RUNTIMES",
    "ContainerRuntime",
    "ContainerUsage",
    "ContentStore",
    "ImagePullFailed",
    "ImagePuller",
    "KubeletServer",
    "NodeFleet",
    "NodeNotFound",
    "NodeSpec",
    "ProcessRuntime",
    "PulledImage",
    "SimulatedNode",
    "SimulatedRuntime",
    "SimulatedUsage",
    "UsageSource",
    "default_node_specs",
    "load_node_specs",
    "set_node_failed",
]
