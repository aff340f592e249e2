"""Discovery entries for a CRD's served versions.

Two shapes: the legacy ``APIResourceList`` entries (``/apis/<group>/<version>``) and the
aggregated discovery v2 ``APIResourceDiscovery`` entries (``apidiscovery.k8s.io/v2``), both as
kube-apiserver builds them for custom resources (apiextensions-apiserver
``pkg/apiserver/customresource_discovery_controller.go``): verbs of a full REST resource,
``status`` (get, patch, update) and ``scale`` (autoscaling/v1 Scale) subresources,
``storageVersionHash`` = base64 of the first 8 bytes of SHA-256 over
``<group>/<storage version>/<kind>`` (apiserver ``discovery.StorageVersionHash``).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from shiplane.cluster.crd.definition import CRDInfo

__all__ = ["RESOURCE_VERBS", "aggregated_resources", "api_resources", "storage_version_hash"]

RESOURCE_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
_SUB_VERBS = ["get", "patch", "update"]


def storage_version_hash(group: str, version: str, kind: str) -> str:
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def api_resources(info: CRDInfo, version: str) -> list[dict[str, Any]]:
    """``APIResourceList.resources`` entries for one served version (empty if not served)."""
    served = info.version(version)
    if served is None:
        return []
    storage = info.storage_version.name
    main: dict[str, Any] = {
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": list(RESOURCE_VERBS),
        "storageVersionHash": storage_version_hash(info.group, storage, info.kind),
    }
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.categories:
        main["categories"] = list(info.categories)
    out = [main]
    if served.status_subresource:
        out.append({"name": f"{info.plural}/status", "singularName": "", "namespaced": info.namespaced,
                    "kind": info.kind, "verbs": list(_SUB_VERBS)})
    if served.scale is not None:
        out.append({"name": f"{info.plural}/scale", "singularName": "", "namespaced": info.namespaced,
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": list(_SUB_VERBS)})
    return out


def aggregated_resources(info: CRDInfo, version: str) -> list[dict[str, Any]]:
    """``APIVersionDiscovery.resources`` entries (aggregated discovery v2)."""
    served = info.version(version)
    if served is None:
        return []
    entry: dict[str, Any] = {
        "resource": info.plural,
        "responseKind": {"group": info.group, "version": version, "kind": info.kind},
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular,
        "verbs": list(RESOURCE_VERBS),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    subs = []
    if served.status_subresource:
        subs.append({"subresource": "status",
                     "responseKind": {"group": info.group, "version": version, "kind": info.kind},
                     "verbs": list(_SUB_VERBS)})
    if served.scale is not None:
        subs.append({"subresource": "scale",
                     "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                     "verbs": list(_SUB_VERBS)})
    if subs:
        entry["subresources"] = subs
    return [entry]
