"""The schema catalog: built-in definitions plus the schemas of established CRDs, by GVK.

One catalog backs the ``/openapi`` documents, field validation and server-side apply. Built-in
definitions are shared (loaded once per process); custom resource schemas are added and
removed as CRDs are established and deleted. Definition names for custom resources follow
upstream's reversed-group convention (``argoproj.io`` → ``io.argoproj.v1alpha1.Application``,
k8s.io/apiextensions-apiserver ``pkg/controller/openapi/builder``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.openapi.definitions import KUBERNETES_VERSION, shared_definitions, v3_ref
from shiplane.cluster.openapi.types import TypeNode

__all__ = ["GroupVersionKind", "SchemaCatalog", "custom_definition_name"]

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"


@dataclass(frozen=True, order=True)
class GroupVersionKind:
    group: str
    version: str
    kind: str

    @classmethod
    def from_api_version(cls, api_version: str, kind: str) -> GroupVersionKind:
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def as_extension(self) -> dict[str, str]:
        return {"group": self.group, "version": self.version, "kind": self.kind}


def custom_definition_name(gvk: GroupVersionKind) -> str:
    reversed_group = ".".join(reversed(gvk.group.split(".")))
    return f"{reversed_group}.{gvk.version}.{gvk.kind}"


class SchemaCatalog:
    """Definition name → v3 schema, and GVK → definition name."""

    def __init__(self, version: str = KUBERNETES_VERSION) -> None:
        self.kubernetes_version = version
        self._builtin = shared_definitions(version)
        self._custom: dict[str, dict[str, Any]] = {}
        self._by_gvk: dict[GroupVersionKind, str] = {}
        self._roots: dict[str, TypeNode] = {}
        for name, schema in self._builtin.items():
            for entry in schema.get("x-kubernetes-group-version-kind", ()):
                gvk = GroupVersionKind(entry["group"], entry["version"], entry["kind"])
                # meta types (DeleteOptions, WatchEvent) claim every GV; the kind's own
                # definition (…apps.v1.Deployment) wins
                current = self._by_gvk.get(gvk)
                if current is None or name.endswith(f".{gvk.version}.{gvk.kind}"):
                    self._by_gvk[gvk] = name
        self._schemas = _Layered(self._custom, self._builtin)
        self.generation = 0  # bumped on every custom change (documents cache on it)

    # -- lookups ------------------------------------------------------------------------
    @property
    def schemas(self) -> Mapping[str, Mapping[str, Any]]:
        """Every definition, custom over built-in (read-only view)."""
        return self._schemas

    def definition_name(self, gvk: GroupVersionKind) -> str | None:
        return self._by_gvk.get(gvk)

    def type_for(self, api_version: str, kind: str) -> TypeNode | None:
        """The type of an object of this apiVersion/kind, or None if the kind is unknown."""
        name = self._by_gvk.get(GroupVersionKind.from_api_version(api_version, kind))
        if name is None:
            return None
        root = self._roots.get(name)
        if root is None:
            root = TypeNode(self._schemas[name], self._schemas)
            if not self.is_custom(name):  # built-in schemas never change: keep the resolved tree
                self._roots[name] = root
        return root

    def known_gvks(self) -> list[GroupVersionKind]:
        return sorted(self._by_gvk)

    # -- custom resources ---------------------------------------------------------------
    def add_custom(self, gvk: GroupVersionKind, open_api_v3_schema: Mapping[str, Any]) -> str:
        """Register a CRD version's ``openAPIV3Schema`` (structural) for ``gvk``.

        apiVersion, kind and metadata are filled in like upstream's CRD OpenAPI builder
        (metadata references ObjectMeta); a ``<Kind>List`` definition is added too.
        """
        name = custom_definition_name(gvk)
        schema = dict(open_api_v3_schema)
        props = dict(schema.get("properties") or {})
        props.setdefault("apiVersion", {"type": "string", "description": _API_VERSION_DOC})
        props.setdefault("kind", {"type": "string", "description": _KIND_DOC})
        props["metadata"] = {"allOf": [{"$ref": v3_ref(_OBJECT_META)}], "description": _META_DOC}
        schema["properties"] = props
        schema.setdefault("type", "object")
        schema["x-kubernetes-group-version-kind"] = [gvk.as_extension()]
        list_gvk = GroupVersionKind(gvk.group, gvk.version, gvk.kind + "List")
        list_schema = {
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string", "description": _API_VERSION_DOC},
                "kind": {"type": "string", "description": _KIND_DOC},
                "metadata": {"allOf": [{"$ref": v3_ref(_LIST_META)}]},
                "items": {"type": "array", "items": {"$ref": v3_ref(name)}},
            },
            "x-kubernetes-group-version-kind": [list_gvk.as_extension()],
        }
        self._custom[name] = schema
        self._custom[name + "List"] = list_schema
        self._by_gvk[gvk] = name
        self._by_gvk[list_gvk] = name + "List"
        self.generation += 1
        return name

    def remove_custom(self, gvk: GroupVersionKind) -> None:
        name = custom_definition_name(gvk)
        for key in (name, name + "List"):
            self._custom.pop(key, None)
        self._by_gvk.pop(gvk, None)
        self._by_gvk.pop(GroupVersionKind(gvk.group, gvk.version, gvk.kind + "List"), None)
        self.generation += 1

    def is_custom(self, name: str) -> bool:
        return name in self._custom


class _Layered(Mapping[str, Mapping[str, Any]]):
    def __init__(self, top: dict[str, Any], bottom: dict[str, Any]) -> None:
        self._top, self._bottom = top, bottom

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        if key in self._top:
            return self._top[key]
        return self._bottom[key]

    def get(self, key: str, default: Any = None) -> Any:
        hit = self._top.get(key)
        return hit if hit is not None else self._bottom.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._top or key in self._bottom

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self._top
        yield from (k for k in self._bottom if k not in self._top)

    def __len__(self) -> int:
        return len(self._top) + sum(1 for k in self._bottom if k not in self._top)


_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values."
)
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. In CamelCase."
)
_META_DOC = "Standard object's metadata."
