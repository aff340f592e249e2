"""Embedded nodes (KWOK-style): Node registration, Lease heartbeats, a kubelet per node that
pulls images for real through the registry client and runs pods through the kubelet cores, with
a container runtime per node: simulated (default) or process (real processes in bubblewrap)."""

from shiplane.cluster.nodes.images import ContentStore, ImagePuller, ImagePullFailed, PulledImage
from shiplane.cluster.nodes.kubelet import NodeFleet, SimulatedNode
from shiplane.cluster.nodes.kubelet_server import KubeletServer
from shiplane.cluster.nodes.node_spec import RUNTIMES, NodeSpec, default_node_specs, load_node_specs
from shiplane.cluster.nodes.runtime import ContainerRuntime, ProcessRuntime, SimulatedRuntime

__all__ = [
    "RUNTIMES",
    "ContainerRuntime",
    "ContentStore",
    "ImagePullFailed",
    "ImagePuller",
    "KubeletServer",
    "NodeFleet",
    "NodeSpec",
    "ProcessRuntime",
    "PulledImage",
    "SimulatedNode",
    "SimulatedRuntime",
    "default_node_specs",
    "load_node_specs",
]
