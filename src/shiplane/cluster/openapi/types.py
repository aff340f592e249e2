"""Walking an OpenAPI v3 schema as a *type*: what server-side apply and field validation ask.

A :class:`TypeNode` is one schema node plus the table its ``$ref``\\ s resolve against. It
answers the structured-merge-diff questions (sigs.k8s.io/structured-merge-diff
``schema/elements.go``): is this a struct (named fields), a map (``additionalProperties``), a
list (and is it ``atomic``, a ``set`` or an associative ``map`` keyed by which fields), a scalar,
or untyped (``x-kubernetes-preserve-unknown-fields`` or no structure: fields are *deduced*).

List semantics follow upstream's OpenAPI → SMD conversion (k8s.io/kube-openapi
``pkg/schemaconv/smd.go``): ``x-kubernetes-list-type`` wins; otherwise a
``x-kubernetes-patch-strategy: merge`` list with a ``x-kubernetes-patch-merge-key`` is an
associative list keyed by that field, ``merge`` without a key is a set; anything else atomic.
Maps are granular unless ``x-kubernetes-map-type: atomic``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

__all__ = ["NodeKind", "TypeNode"]

NodeKind = Literal["struct", "map", "list", "scalar", "untyped"]

_REF_PREFIX = "#/components/schemas/"
_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True, eq=False)
class TypeNode:
    """A resolved schema node. ``schemas`` maps definition names to schemas (``$ref`` targets)."""

    schema: Mapping[str, Any]
    schemas: Mapping[str, Mapping[str, Any]]
    # children already resolved (field name, or None for a list's element): every write walks
    # the same few paths of its kind's schema, for managedFields and field validation
    _children: dict[str | None, TypeNode | None] = dataclass_field(
        default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> TypeNode:
        return cls(_resolve(schema, schemas), schemas)

    @classmethod
    def untyped(cls) -> TypeNode:
        return cls({"x-kubernetes-preserve-unknown-fields": True}, {})

    # -- what kind of node --------------------------------------------------------------
    @property
    def kind(self) -> NodeKind:
        s = self.schema
        t = s.get("type")
        if t == "array":
            return "list"
        if s.get("properties"):
            return "struct"
        if t == "object" or "additionalProperties" in s:
            add = s.get("additionalProperties")
            if isinstance(add, Mapping) and add:
                return "map"
            return "untyped"
        if t is None and not s.get("format"):
            return "untyped"  # e.g. apiextensions JSON, RawExtension: any value
        return "scalar"

    @property
    def preserves_unknown_fields(self) -> bool:
        return bool(self.schema.get("x-kubernetes-preserve-unknown-fields"))

    @property
    def embedded_resource(self) -> bool:
        return bool(self.schema.get("x-kubernetes-embedded-resource"))

    # -- descending ---------------------------------------------------------------------
    def field(self, name: str) -> TypeNode | None:
        """The type of field ``name``; None if this node does not know that field."""
        children = self._children
        if name in children:
            return children[name]
        child = children[name] = self._field(name)
        return child

    def _field(self, name: str) -> TypeNode | None:
        props = self.schema.get("properties") or _EMPTY
        if name in props:
            return TypeNode.of(props[name], self.schemas)
        add = self.schema.get("additionalProperties")
        if isinstance(add, Mapping) and add:
            return TypeNode.of(add, self.schemas)
        if self.kind == "untyped" or self.preserves_unknown_fields or add is True:
            return TypeNode.untyped()
        if self.embedded_resource and name in ("apiVersion", "kind", "metadata"):
            return TypeNode.untyped()
        return None

    def element(self) -> TypeNode:
        children = self._children
        if None in children:
            return children[None]  # type: ignore[return-value]
        items = self.schema.get("items")
        if isinstance(items, Mapping) and items:
            child = TypeNode.of(items, self.schemas)
        else:
            child = TypeNode.untyped()
        children[None] = child
        return child

    # -- list and map semantics ---------------------------------------------------------
    @property
    def list_type(self) -> Literal["atomic", "set", "map"]:
        s = self.schema
        declared = s.get("x-kubernetes-list-type")
        if declared in ("atomic", "set", "map"):
            return declared
        strategy = str(s.get("x-kubernetes-patch-strategy", ""))
        if "merge" in strategy.split(","):
            return "map" if s.get("x-kubernetes-patch-merge-key") else "set"
        return "atomic"

    @property
    def list_keys(self) -> tuple[str, ...]:
        keys = self.schema.get("x-kubernetes-list-map-keys")
        if keys:
            return tuple(keys)
        key = self.schema.get("x-kubernetes-patch-merge-key")
        return (key,) if key and self.list_type == "map" else ()

    @property
    def map_atomic(self) -> bool:
        return self.schema.get("x-kubernetes-map-type") == "atomic"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.schema.get("required") or ())

    def default_of(self, name: str) -> Any:
        props = self.schema.get("properties") or _EMPTY
        node = props.get(name)
        if node is None:
            return None
        return _resolve(node, self.schemas).get("default")


def _resolve(schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """Follow ``$ref`` and single-``allOf`` wrappers; the wrapper's own keys win."""
    seen = 0
    while True:
        ref = schema.get("$ref")
        all_of = schema.get("allOf")
        if ref is None and all_of and len(all_of) == 1 and "$ref" in all_of[0]:
            ref = all_of[0]["$ref"]
        if ref is None:
            return schema
        target = schemas.get(ref.removeprefix(_REF_PREFIX).removeprefix("#/definitions/"))
        if target is None:
            return {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
        extra = {k: v for k, v in schema.items() if k not in ("$ref", "allOf", "description", "default")}
        schema = {**target, **extra} if extra else target
        seen += 1
        if seen > 64:  # a cycle of plain refs; real schemas never do this
            return schema
