"""Which cluster an Application's ``destination`` means (pure), and clients for them.

Argo CD resolves ``destination.name`` against its registered clusters and
``destination.server`` against their API URLs; ``https://kubernetes.default.svc`` is
the cluster Argo CD itself runs in. Here the registered clusters are kubeconfig
contexts (embedded clusters from ``shiplane cluster up --name``, EKS contexts...):
a name is a context name, a server is matched against each context's cluster
server, and the in-cluster URL means the default (current) context.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shiplane.gitops.application import Destination
from shiplane.gitops.errors import GitOpsError
from shiplane.kube import KubeClient, load_kubeconfig

__all__ = ["IN_CLUSTER", "ClusterClients", "resolve_destination"]

IN_CLUSTER = "https://kubernetes.default.svc"


def resolve_destination(destination: Destination, clusters: Mapping[str, str],
                        default: str) -> str:
    """The registered cluster (context name) for ``destination``; ``clusters``: name → server."""
    if destination.name:
        if destination.name == "in-cluster":
            return default
        if destination.name not in clusters:
            raise GitOpsError(f"destination cluster {destination.name!r} is not registered",
                              hint=f"registered: {', '.join(sorted(clusters)) or 'none'}")
        return destination.name
    server = (destination.server or "").rstrip("/")
    if server == IN_CLUSTER:
        return default
    matches = sorted(name for name, url in clusters.items() if url.rstrip("/") == server)
    if not matches:
        raise GitOpsError(f"no registered cluster has the API server {server}",
                          hint="add a kubeconfig context for it, or use destination.name")
    return default if default in matches else matches[0]


class ClusterClients:
    """One :class:`KubeClient` per kubeconfig context, opened on first use."""

    def __init__(self, kubeconfig: Path | None = None, default: str | None = None) -> None:
        self.config = load_kubeconfig(kubeconfig)
        self.default = default or self.config.current_context or ""
        self.servers = {name: self.config.settings(name).server
                        for name in self.config.context_names()}
        self._clients: dict[str, KubeClient] = {}

    def for_destination(self, destination: Destination) -> KubeClient:
        name = resolve_destination(destination, self.servers, self.default)
        if name not in self._clients:
            self._clients[name] = KubeClient(self.config.settings(name))
        return self._clients[name]

    @property
    def control(self) -> KubeClient:
        """The default context's cluster: where Application objects (status) live."""
        return self.for_destination(Destination("", name="in-cluster"))

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> ClusterClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
