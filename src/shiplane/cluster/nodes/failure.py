"""``shiplane cluster node fail/recover``: cut a simulated node off, or bring it back.

Works against any running embedded cluster through its API only: the Node gets (or loses) the
``sim.shiplane.dev/node-failed: "true"`` annotation, which its simulated kubelet watches. A
failed kubelet stops renewing its Lease and posting node and pod status, and ignores its pods;
the node lifecycle controller then marks the node Ready=Unknown after the monitor grace period
(50 s), taints it ``node.kubernetes.io/unreachable`` (NoSchedule, NoExecute), sets its pods
not Ready and evicts them after their tolerationSeconds (300 s by default), so their
controllers recreate them elsewhere. Recovering posts Ready again; the taints go and the
kubelet finishes terminating the pods deleted meanwhile.
"""

from __future__ import annotations

from shiplane.cluster.nodes.kubelet import FAILED_ANNOTATION
from shiplane.errors import ClusterError
from shiplane.kube import KubeClient
from shiplane.kube.errors import ApiError

__all__ = ["NodeNotFound", "set_node_failed"]


class NodeNotFound(ClusterError):
    """The node to fail or recover does not exist."""


def set_node_failed(client: KubeClient, node: str, failed: bool) -> dict:
    """Mark ``node`` failed (or recovered); returns the updated Node."""
    patch = {"metadata": {"annotations": {FAILED_ANNOTATION: "true" if failed else None}}}
    try:
        return client.patch("v1", "Node", node, patch)
    except ApiError as error:
        if error.code == 404:
            names = [n["metadata"]["name"] for n in client.list("v1", "Node")]
            raise NodeNotFound(f"node {node!r} not found",
                               hint=f"nodes: {', '.join(names) or '(none)'}") from None
        raise
