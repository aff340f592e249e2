"""Discovery documents: /version, legacy /api and /apis, aggregated discovery v2.

Shapes follow k8s.io/apimachinery/pkg/apis/meta/v1 (APIVersions, APIGroupList,
APIResourceList) and k8s.io/api/apidiscovery/v2 (APIGroupDiscoveryList). client-go
asks for the aggregated form first and only trusts it when the response
Content-Type names ``g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from shiplane.cluster.resources.registry import ResourceRegistry, ResourceType

__all__ = [
    "AGGREGATED_CONTENT_TYPE",
    "KUBERNETES_VERSION",
    "aggregated_discovery",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "version_info",
    "wants_aggregated",
]

KUBERNETES_VERSION = (1, 37, 0)
AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "binding": ("create",),
    "eviction": ("create",),
    "finalize": ("update",),
    "exec": ("create", "get"),
    "attach": ("create", "get"),
}


def wants_aggregated(accept: str) -> bool:
    for clause in accept.split(","):
        params = {
            p.strip().partition("=")[0]: p.strip().partition("=")[2] for p in clause.split(";")[1:]
        }
        if (
            params.get("g") == "apidiscovery.k8s.io"
            and params.get("v") == "v2"
            and params.get("as") == "APIGroupDiscoveryList"
        ):
            return True
    return False


def version_info() -> dict[str, Any]:
    major, minor, patch = KUBERNETES_VERSION
    return {
        "major": str(major),
        "minor": str(minor),
        "emulationMajor": str(major),
        "emulationMinor": str(minor),
        "minCompatibilityMajor": str(major),
        "minCompatibilityMinor": str(minor - 1),
        "gitVersion": f"v{major}.{minor}.{patch}+shiplane",
        "gitCommit": "shiplane",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list(registry: ResourceRegistry) -> dict[str, Any]:
    groups = []
    for group, versions in registry.groups().items():
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _storage_hash(rt: ResourceType) -> str:
    """Of the storage version: every served version of a kind reports the same hash
    (apiserver endpoints/discovery StorageVersionHash)."""
    group, _, version = (rt.extra.get("storage_version") or rt.api_version).rpartition("/")
    digest = hashlib.sha256(f"{group}/{version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def api_resource_list(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for rt in registry.in_group_version(group, version):
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
            "storageVersionHash": _storage_hash(rt),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            if sub == "binding":
                sub_entry["kind"] = "Binding"
            if sub in ("exec", "attach"):
                sub_entry["kind"] = f"Pod{sub.capitalize()}Options"
            if sub == "eviction":
                sub_entry.update(group="policy", version="v1", kind="Eviction")
            resources.append(sub_entry)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _discovery_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        if sub == "scale":
            kind = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
        elif sub == "binding":
            kind = {"group": "", "version": "v1", "kind": "Binding"}
        elif sub == "eviction":
            kind = {"group": "policy", "version": "v1", "kind": "Eviction"}
        elif sub in ("exec", "attach"):
            kind = {"group": "", "version": "v1", "kind": f"Pod{sub.capitalize()}Options"}
        subs.append(
            {
                "subresource": sub,
                "responseKind": kind,
                "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
        )
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated_discovery(registry: ResourceRegistry, *, core: bool) -> dict[str, Any]:
    """``/api`` (core=True) or ``/apis`` as an APIGroupDiscoveryList."""
    items = []
    for group, versions in registry.groups().items():
        if bool(group) == core:
            continue
        items.append(
            {
                "metadata": {"name": group, "creationTimestamp": None},
                "versions": [
                    {
                        "version": version,
                        "resources": [
                            _discovery_resource(rt)
                            for rt in registry.in_group_version(group, version)
                        ],
                        "freshness": "Current",
                    }
                    for version in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
