"""Strategic-merge-patch metadata for the kinds the server serves, as data.

Upstream reads ``patchStrategy`` / ``patchMergeKey`` struct tags from the Go types
(k8s.io/api/core/v1/types.go, apps/v1/types.go, ...). Here the same facts are a
tree: a :class:`Struct` names its fields with special lists; a :class:`ListOf`
says how a list merges — by a merge key (containers by ``name``, ports by
``containerPort``), as a set of primitives (finalizers), or replaced whole
(the default, like tolerations). Fields not named here are plain maps/values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

__all__ = ["ListOf", "PATCH_SCHEMAS", "Struct", "Node"]


@dataclass(frozen=True)
class Struct:
    fields: dict[str, Node] = field(default_factory=dict)
    retain_keys: bool = False  # patchStrategy "retainKeys" (union types like volume sources)

    def child(self, name: str) -> Node | None:
        return self.fields.get(name)


@dataclass(frozen=True)
class ListOf:
    merge_key: str | None = None
    item: Struct = field(default_factory=Struct)
    strategy: str = "merge"  # "merge" (by key, or as a set when no key) or "replace"


Node = Union[Struct, ListOf]

_CONDITIONS = ListOf("type")
_META = Struct({"finalizers": ListOf(None), "ownerReferences": ListOf("uid")})
_CONTAINER = Struct(
    {
        "ports": ListOf("containerPort"),
        "env": ListOf("name"),
        "volumeMounts": ListOf("mountPath"),
        "volumeDevices": ListOf("devicePath"),
    }
)
_POD_SPEC = Struct(
    {
        "containers": ListOf("name", _CONTAINER),
        "initContainers": ListOf("name", _CONTAINER),
        "ephemeralContainers": ListOf("name", _CONTAINER),
        "volumes": ListOf("name", Struct(retain_keys=True)),
        "imagePullSecrets": ListOf("name"),
        "hostAliases": ListOf("ip"),
        "topologySpreadConstraints": ListOf("topologyKey"),
        "schedulingGates": ListOf("name"),
        "resourceClaims": ListOf("name"),
    }
)
_POD_STATUS = Struct(
    {
        "conditions": _CONDITIONS,
        "podIPs": ListOf("ip"),
        "hostIPs": ListOf("ip"),
        "resourceClaimStatuses": ListOf("name"),
    }
)
_POD_TEMPLATE = Struct({"metadata": _META, "spec": _POD_SPEC})
_WORKLOAD_STATUS = Struct({"conditions": _CONDITIONS})


def _kind(
    spec: dict[str, Node] | None = None, status: Struct = _WORKLOAD_STATUS, **top: Node
) -> Struct:
    return Struct({"metadata": _META, "spec": Struct(spec or {}), "status": status, **top})


# plural.group → schema of the whole object
PATCH_SCHEMAS: dict[str, Struct] = {
    "pods": _kind(dict(_POD_SPEC.fields), _POD_STATUS),
    "deployments.apps": _kind({"template": _POD_TEMPLATE, "strategy": Struct(retain_keys=True)}),
    "replicasets.apps": _kind({"template": _POD_TEMPLATE}),
    "statefulsets.apps": _kind({"template": _POD_TEMPLATE}),
    "daemonsets.apps": _kind({"template": _POD_TEMPLATE}),
    "jobs.batch": _kind({"template": _POD_TEMPLATE}),
    "cronjobs.batch": _kind(
        {"jobTemplate": Struct({"metadata": _META, "spec": Struct({"template": _POD_TEMPLATE})})}
    ),
    "services": _kind({"ports": ListOf("port")}, Struct({"conditions": _CONDITIONS})),
    "nodes": _kind(
        {"podCIDRs": ListOf(None)}, Struct({"conditions": _CONDITIONS, "addresses": ListOf("type")})
    ),
    "namespaces": _kind({}, Struct({"conditions": _CONDITIONS})),
    "horizontalpodautoscalers.autoscaling": _kind({}, Struct({"conditions": _CONDITIONS})),
    "poddisruptionbudgets.policy": _kind({}, Struct({"conditions": _CONDITIONS})),
    "serviceaccounts": Struct(
        {"metadata": _META, "secrets": ListOf("name"), "imagePullSecrets": ListOf("name")}
    ),
}
DEFAULT_SCHEMA = Struct({"metadata": _META})
