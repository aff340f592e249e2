"""Turn a resource URL into what it addresses (k8s.io/apiserver RequestInfoResolver).

``/api/v1/namespaces/NS/pods/NAME/status`` → group "", version v1, resource pods,
namespace NS, name NAME, subresource status; a leading ``watch/`` segment (the
legacy watch path) sets ``watch``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shiplane.cluster.resources.registry import ResourceRegistry, ResourceType
from shiplane.cluster.store.errors import NotFound

__all__ = ["RequestInfo", "resolve"]


@dataclass(frozen=True)
class RequestInfo:
    resource: ResourceType
    namespace: str | None  # None: every namespace (or cluster-scoped)
    name: str | None
    subresource: str | None
    watch_path: bool = False


class PathNotFound(NotFound):
    """404 for a URL that names no resource: upstream's generic message."""

    def __init__(self) -> None:
        super().__init__("", "", "")
        self.message = "the server could not find the requested resource"
        self.details = {}
        self.args = (self.message,)


def resolve(registry: ResourceRegistry, group: str, version: str, path: str) -> RequestInfo:
    parts = [p for p in path.split("/") if p]
    watch = False
    if parts and parts[0] == "watch":
        watch, parts = True, parts[1:]
    namespace: str | None = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        candidate = registry.lookup(group, version, parts[2])
        if candidate is not None and candidate.namespaced:
            namespace, parts = parts[1], parts[2:]
    if not parts or len(parts) > 3:
        raise PathNotFound()
    rt = registry.lookup(group, version, parts[0])
    if rt is None:
        raise PathNotFound()
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else None
    if subresource is not None and subresource not in rt.subresources:
        raise PathNotFound()
    if rt.namespaced and name is not None and namespace is None:
        raise PathNotFound()
    return RequestInfo(rt, namespace, name, subresource, watch)
