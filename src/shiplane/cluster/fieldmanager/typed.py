"""Walks over a JSON value and its type: the field set it sets, and how two values differ.

These mirror structured-merge-diff's ``typed/tofieldset.go`` and ``typed/compare.go``:

* :func:`field_set` — the fields an (applied) object *sets*: scalars, atomic lists and maps,
  list items (``k:``/``v:``) and, inside them, their fields; a struct or map itself only when
  it is empty or null, or when it is a map entry (not a declared field).
* :func:`compare` — paths *added*, *removed* and *modified* between two values; every node of
  an added or removed subtree counts, leaves (scalars, atomic values) are modified when equal
  paths hold different values. Struct-typed interior nodes are left out: a typed Go object
  always holds its (non-pointer) structs and null lists, so upstream never sees them appear
  or vanish; list items and maps do count.

A value whose shape disagrees with its schema is treated by its shape (lists atomic, maps
granular), as upstream does for deduced types, rather than refused: validation is not the
field manager's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.cluster.fieldmanager.errors import InvalidObject
from shiplane.cluster.fieldmanager.fieldpath import Path, PathElement, canonical_json, path_string
from shiplane.cluster.openapi.types import TypeNode

__all__ = [
    "Comparison",
    "compare",
    "field_set",
    "item_element",
    "list_is_associative",
    "typed_patch_error",
    "undeclared_fields",
]

_ABSENT: Any = object()


def list_is_associative(node: TypeNode) -> bool:
    return node.kind == "list" and node.list_type != "atomic"


def item_element(node: TypeNode, item: Any, path: Path = ()) -> PathElement:
    """The path element of a list item: ``k:`` for map lists, ``v:`` for sets."""
    if node.list_type == "map":
        keys = node.list_keys
        if not isinstance(item, dict):
            raise InvalidObject(f"{path_string(path) or '.'}: associative list item is not an object")
        element = node.element()
        found: dict[str, Any] = {}
        for key in keys:
            if key in item and item[key] is not None:
                found[key] = item[key]
            else:
                default = element.default_of(key)
                if default is not None:
                    found[key] = default
        if not found:
            raise InvalidObject(
                f"{path_string(path) or '.'}: associative list with keys has an element that "
                f"omits key field {keys[0]!r}"
            )
        return ("k", canonical_json(found))
    return ("v", canonical_json(item))


def field_set(value: Any, node: TypeNode) -> frozenset[Path]:
    out: set[Path] = set()
    _to_set(value, node, (), out)
    return frozenset(out)


def _to_set(value: Any, node: TypeNode, path: Path, out: set[Path]) -> None:
    kind = node.kind
    if isinstance(value, list):
        if kind != "list" or node.list_type == "atomic":
            out.add(path)
            return
        element = node.element()
        seen: dict[PathElement, int] = {}
        pes = [item_element(node, item, path) for item in value]
        for pe in pes:
            seen[pe] = seen.get(pe, 0) + 1
        for pe, item in zip(pes, value, strict=True):
            child = path + (pe,)
            if seen[pe] > 1:
                out.add(child)  # duplicates are owned as a whole (tofieldset.go)
                continue
            _to_set(item, element, child, out)
            out.add(child)
        return
    if isinstance(value, dict):
        if kind in ("list", "scalar") or node.map_atomic:
            out.add(path)
            return
        declared = node.schema.get("properties") or {}
        for key, child_value in value.items():
            child_path = path + (("f", key),)
            child = node.field(key) or TypeNode.untyped()
            _to_set(child_value, child, child_path, out)
            if child_value is None or child_value == {} or key not in declared:
                out.add(child_path)
        return
    out.add(path)


@dataclass(frozen=True)
class Comparison:
    added: frozenset[Path]
    removed: frozenset[Path]
    modified: frozenset[Path]

    @property
    def changed(self) -> frozenset[Path]:
        return self.added | self.modified

    def is_same(self) -> bool:
        return not (self.added or self.removed or self.modified)


def compare(lhs: Any, rhs: Any, node: TypeNode) -> Comparison:
    """How ``rhs`` differs from ``lhs`` (either may be None for "no object")."""
    added: set[Path] = set()
    removed: set[Path] = set()
    modified: set[Path] = set()
    _compare(
        _ABSENT if lhs is None else lhs,
        _ABSENT if rhs is None else rhs,
        node,
        (),
        added,
        removed,
        modified,
    )
    added.discard(())
    removed.discard(())
    return Comparison(frozenset(added), frozenset(removed), frozenset(modified))


def _compare(  # type: ignore[no-untyped-def]
    lhs: Any, rhs: Any, node: TypeNode, path: Path, added, removed, modified, is_item: bool = False
) -> None:
    if lhs is not _ABSENT and rhs is not _ABSENT and lhs == rhs:
        return
    both_dicts = isinstance(lhs if lhs is not _ABSENT else {}, dict) and isinstance(
        rhs if rhs is not _ABSENT else {}, dict
    )
    both_lists = isinstance(lhs if lhs is not _ABSENT else [], list) and isinstance(
        rhs if rhs is not _ABSENT else [], list
    )
    kind = node.kind
    granular_map = both_dicts and kind not in ("list", "scalar") and not node.map_atomic
    granular_list = both_lists and kind == "list" and node.list_type != "atomic"
    if granular_list and not (lhs if lhs is not _ABSENT else []) and not (
        rhs if rhs is not _ABSENT else []
    ):
        granular_list = False  # empty lists compare as leaves (compare.go emptyPromoteToLeaf)
    if not (granular_map or granular_list):
        if lhs is _ABSENT:
            added.add(path)
        elif rhs is _ABSENT:
            removed.add(path)
        elif lhs != rhs:
            modified.add(path)
        return
    if granular_map:
        left = lhs if lhs is not _ABSENT else {}
        right = rhs if rhs is not _ABSENT else {}
        for key in {**left, **right}:
            child = node.field(key) or TypeNode.untyped()
            _compare(
                left.get(key, _ABSENT), right.get(key, _ABSENT), child, path + (("f", key),),
                added, removed, modified,
            )
    else:
        element = node.element()
        left_items = _index_items(node, lhs if lhs is not _ABSENT else [], path)
        right_items = _index_items(node, rhs if rhs is not _ABSENT else [], path)
        for pe in {**left_items, **right_items}:
            lvals = left_items.get(pe, [])
            rvals = right_items.get(pe, [])
            child = path + (pe,)
            if len(lvals) <= 1 and len(rvals) <= 1:
                _compare(
                    lvals[0] if lvals else _ABSENT, rvals[0] if rvals else _ABSENT, element, child,
                    added, removed, modified, True,
                )
            elif len(lvals) >= 2 and len(rvals) >= 2:
                if lvals != rvals:
                    modified.add(child)
            elif len(lvals) >= 2:
                removed.add(child)
            else:
                added.add(child)
    # Interior nodes count as added/removed only where a typed Go object would not already
    # hold them: list items, maps (omitempty) and untyped values — not structs, not lists
    # (nil slices convert to null, so upstream never sees a list field appear).
    if is_item or kind in ("map", "untyped"):
        if lhs is _ABSENT:
            added.add(path)
        elif rhs is _ABSENT:
            removed.add(path)


def _index_items(node: TypeNode, items: list[Any], path: Path) -> dict[PathElement, list[Any]]:
    out: dict[PathElement, list[Any]] = {}
    for item in items:
        out.setdefault(item_element(node, item, path), []).append(item)
    return out


def undeclared_fields(value: Any, node: TypeNode, path: Path = ()) -> list[str]:
    """Fields the schema does not declare, as structured-merge-diff paths
    (``.spec.template.spec.containers[name="c"].imagee``): what server-side apply reports as
    ``field not declared in schema`` when it converts an applied configuration."""
    out: list[str] = []
    _undeclared(value, node, path, out)
    return out


def _undeclared(value: Any, node: TypeNode, path: Path, out: list[str]) -> None:
    kind = node.kind
    if kind == "untyped":
        return
    if isinstance(value, dict) and kind in ("struct", "map"):
        for key, child_value in value.items():
            child = node.field(key)
            child_path = path + (("f", key),)
            if child is None:
                out.append(path_string(child_path))
            else:
                _undeclared(child_value, child, child_path, out)
    elif isinstance(value, list) and kind == "list":
        element = node.element()
        for index, item in enumerate(value):
            if node.list_type == "atomic":
                pe: PathElement = ("i", index)
            else:
                try:
                    pe = item_element(node, item, path)
                except InvalidObject:
                    pe = ("i", index)
            _undeclared(item, element, path + (pe,), out)


def typed_patch_error(api_version: str, kind: str, problems: list[str]) -> str:
    """Upstream's 400 text for an applied configuration that does not fit its type."""
    group, _, version = api_version.rpartition("/")
    detail = "\n".join(f"{p}: field not declared in schema" for p in problems)
    return f"failed to create typed patch object ({group}/{version}, Kind={kind}): {detail}"
