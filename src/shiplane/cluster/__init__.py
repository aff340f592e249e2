"""The embedded Kubernetes-API-compatible cluster.

Sub-packages: ``store`` (versioned object store), ``apiserver`` (HTTP API: REST, watch, patch,
discovery), ``resources`` (per-kind defaulting and validation), ``decisions`` (pure cores of the
controllers, scheduler and kubelet: rollout math, scheduling, backoff, probes), and the
controllers/nodes that drive them through the API like upstream components do.

The names below are loaded lazily, so importing a pure sub-package such as
``shiplane.cluster.decisions`` does not pull in the HTTP server.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "REGISTRY",
    "ApiBackend",
    "ApiError",
    "ApiServerRunner",
    "MemoryObjectStore",
    "ObjectStore",
    "ResourceType",
    "SqliteObjectStore",
    "build_app",
    "cluster_down",
    "cluster_status",
    "cluster_up",
]

_HOMES = {
    "REGISTRY": "shiplane.cluster.resources",
    "ResourceType": "shiplane.cluster.resources",
    "ApiError": "shiplane.cluster.store",
    "MemoryObjectStore": "shiplane.cluster.store",
    "ObjectStore": "shiplane.cluster.store",
    "SqliteObjectStore": "shiplane.cluster.store",
    "ApiBackend": "shiplane.cluster.apiserver",
    "ApiServerRunner": "shiplane.cluster.apiserver",
    "build_app": "shiplane.cluster.apiserver",
    "cluster_down": "shiplane.cluster.apiserver",
    "cluster_status": "shiplane.cluster.apiserver",
    "cluster_up": "shiplane.cluster.apiserver",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'shiplane.cluster' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
