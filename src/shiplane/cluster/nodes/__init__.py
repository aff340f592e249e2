"""Simulated nodes (KWOK-style): Node registration, Lease heartbeats, a kubelet per node that
pulls images for real through the registry client and runs pods through the kubelet cores."""

from shiplane.cluster.nodes.images import ContentStore, ImagePuller, ImagePullFailed, PulledImage
from shiplane.cluster.nodes.kubelet import NodeFleet, SimulatedNode
from shiplane.cluster.nodes.node_spec import NodeSpec, default_node_specs, load_node_specs

__all__ = [
    "ContentStore",
    "ImagePullFailed",
    "ImagePuller",
    "NodeFleet",
    "NodeSpec",
    "PulledImage",
    "SimulatedNode",
    "default_node_specs",
    "load_node_specs",
]
