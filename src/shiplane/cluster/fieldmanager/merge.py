"""Merging an applied configuration into a live object, and removing owned paths.

Merge rules (structured-merge-diff ``typed/merge.go``, rule "the applied config wins"):

* granular maps and structs: the union of both sides' keys, merged key by key;
* atomic lists and maps (``x-kubernetes-list-type: atomic``, ``x-kubernetes-map-type:
  atomic``) and scalars: the applied value replaces the live one;
* associative lists (``map`` keyed by ``x-kubernetes-list-map-keys``, ``set`` by value): items
  matched by key and merged; the order keeps applied items in applied order and live-only
  items where they were (the interleaving of ``visitListItems``).

A field applied as ``null`` ends up absent, as it does once upstream converts to the typed
object. :func:`remove_path` deletes one owned path (a field, or a list item by key/value).
"""

from __future__ import annotations

import copy
from typing import Any

from shiplane.cluster.fieldmanager.fieldpath import Path, PathElement
from shiplane.cluster.fieldmanager.typed import item_element
from shiplane.cluster.openapi.types import TypeNode

__all__ = ["merge", "remove_path"]


def merge(live: Any, applied: Any, node: TypeNode, path: Path = ()) -> Any:
    if applied is None:
        return None
    if live is None:
        return _drop_nulls(copy.deepcopy(applied))
    kind = node.kind
    if isinstance(live, dict) and isinstance(applied, dict):
        if kind in ("list", "scalar") or node.map_atomic:
            return _drop_nulls(copy.deepcopy(applied))
        out: dict[str, Any] = {}
        for key, value in live.items():
            if key in applied:
                merged = merge(value, applied[key], node.field(key) or TypeNode.untyped(), path + (("f", key),))
                if merged is not None:
                    out[key] = merged
            else:
                out[key] = copy.deepcopy(value)
        for key, value in applied.items():
            if key not in live and value is not None:
                out[key] = _drop_nulls(copy.deepcopy(value))
        return out
    if isinstance(live, list) and isinstance(applied, list):
        if kind != "list" or node.list_type == "atomic":
            return _drop_nulls(copy.deepcopy(applied))
        return _merge_list(live, applied, node, path)
    return _drop_nulls(copy.deepcopy(applied))


def _merge_list(live: list[Any], applied: list[Any], node: TypeNode, path: Path) -> list[Any]:
    element = node.element()
    live_pes = [item_element(node, item, path) for item in live]
    applied_pes = [item_element(node, item, path) for item in applied]
    live_by = dict(zip(live_pes, live, strict=True))
    applied_by = dict(zip(applied_pes, applied, strict=True))
    shared = [pe for pe in applied_pes if pe in live_by]
    out: list[Any] = []
    emitted: set[PathElement] = set()

    def emit(pe: PathElement) -> None:
        emitted.add(pe)
        if pe in applied_by:
            merged = merge(live_by.get(pe), applied_by[pe], element, path + (pe,))
        else:
            merged = copy.deepcopy(live_by[pe])
        if merged is not None:
            out.append(merged)

    li = ri = 0
    shared_at = 0
    while li < len(live_pes) or ri < len(applied_pes):
        if li < len(live_pes) and live_pes[li] in emitted:
            li += 1
            continue
        if ri < len(applied_pes) and applied_pes[ri] in emitted:
            ri += 1
            continue
        if li < len(live_pes) and ri < len(applied_pes) and live_pes[li] == applied_pes[ri]:
            emit(live_pes[li])
            shared_at += 1
            li += 1
            ri += 1
            continue
        if li < len(live_pes) and live_pes[li] not in applied_by:
            emit(live_pes[li])  # live-only items stay where they were
            li += 1
            continue
        if li < len(live_pes) and shared_at < len(shared) and live_pes[li] != shared[shared_at]:
            li += 1  # shared item out of applied order: it is emitted in applied order
            continue
        if ri < len(applied_pes):
            pe = applied_pes[ri]
            emit(pe)
            if shared_at < len(shared) and shared[shared_at] == pe:
                shared_at += 1
            ri += 1
        else:
            li += 1
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def remove_path(obj: Any, path: Path, node: TypeNode) -> bool:
    """Delete ``path`` from ``obj`` in place; False if it was not there."""
    parent: Any = obj
    current = node
    for depth, pe in enumerate(path):
        last = depth == len(path) - 1
        if pe[0] == "f":
            if not isinstance(parent, dict) or pe[1] not in parent:
                return False
            if last:
                del parent[pe[1]]
                return True
            current = current.field(pe[1]) or TypeNode.untyped()
            parent = parent[pe[1]]
            continue
        if not isinstance(parent, list):
            return False
        index = _find_item(parent, pe, current, path[:depth])
        if index is None:
            return False
        if last:
            del parent[index]
            return True
        parent = parent[index]
        current = current.element()
    return False


def _find_item(items: list[Any], pe: PathElement, node: TypeNode, path: Path) -> int | None:
    if pe[0] == "i":
        return pe[1] if 0 <= pe[1] < len(items) else None
    if node.kind != "list" or node.list_type == "atomic":
        return None
    for index, item in enumerate(items):
        if item_element(node, item, path) == pe:
            return index
    return None
