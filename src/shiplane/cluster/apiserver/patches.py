"""The three PATCH flavours: JSON Patch, JSON Merge Patch and strategic merge patch.

* ``application/json-patch+json``: RFC 6902 through the ``jsonpatch`` package.
* ``application/merge-patch+json``: RFC 7386 (null deletes, maps merge, lists replace).
* ``application/strategic-merge-patch+json``: k8s.io/apimachinery/pkg/util/strategicpatch
  semantics driven by the per-kind schema in :mod:`shiplane.cluster.resources.patch_strategies`:
  lists merged by their patch merge key, ``$patch: delete|replace|merge``,
  ``$deleteFromPrimitiveList/<f>``, ``$setElementOrder/<f>`` and ``$retainKeys``.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from shiplane.cluster.resources.patch_strategies import ListOf, Struct
from shiplane.cluster.store.errors import ApiError, BadRequest

__all__ = [
    "JSON_PATCH",
    "PatchFailed",
    "MERGE_PATCH",
    "PATCH_TYPES",
    "STRATEGIC_MERGE_PATCH",
    "apply_patch",
    "json_merge_patch",
    "strategic_merge_patch",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _clean(value: Any, schema: Struct | None) -> Any:
    """A patch fragment for a field that did not exist: drop directives and nulls."""
    if isinstance(value, dict):
        return _merge_map({}, value, schema or Struct())
    if isinstance(value, list):
        return [
            _clean(v, schema)
            for v in value
            if not (isinstance(v, dict) and v.get(_DIRECTIVE) == "delete")
        ]
    return value


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: Struct) -> dict[str, Any]:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {
            k: _clean(v, _struct(schema.child(k)))
            for k, v in patch.items()
            if k != _DIRECTIVE and v is not None
        }
    if directive not in (None, "merge", "delete"):
        raise BadRequest(f"Unknown patch type: {directive}")
    result = dict(original)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = value or []
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            result[field] = [x for x in result.get(field) or [] if x not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
            continue
        child = schema.child(key)
        current = result.get(key)
        if isinstance(value, dict):
            if value.get(_DIRECTIVE) == "delete":
                result.pop(key, None)
                continue
            result[key] = _merge_map(
                current if isinstance(current, dict) else {}, value, _struct(child)
            )
        elif isinstance(value, list) and isinstance(child, ListOf) and child.strategy == "merge":
            result[key] = _merge_list(current if isinstance(current, list) else [], value, child)
        else:
            result[key] = _clean(
                value, _struct(child) if not isinstance(child, ListOf) else child.item
            )
    retain = patch.get(_RETAIN)
    if retain is not None:
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    for field, order in orders.items():
        child = schema.child(field)
        if isinstance(result.get(field), list):
            result[field] = _reorder(
                result[field], order, child.merge_key if isinstance(child, ListOf) else None
            )
    return result


def _struct(node: Any) -> Struct:
    return node if isinstance(node, Struct) else Struct()


def _merge_list(original: list[Any], patch: list[Any], spec: ListOf) -> list[Any]:
    if any(isinstance(p, dict) and p.get(_DIRECTIVE) == "replace" for p in patch):
        return [
            _clean(p, spec.item)
            for p in patch
            if not (isinstance(p, dict) and p.get(_DIRECTIVE) == "replace")
        ]
    if spec.merge_key is None:
        # A set of primitives (e.g. finalizers): union, keeping the original order.
        result = list(original)
        for item in patch:
            if isinstance(item, dict):
                continue
            if item not in result:
                result.append(item)
        return result
    key = spec.merge_key
    result = [copy.deepcopy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict):
            raise BadRequest(f"map: {item!r} does not contain declared merge key: {key}")
        if key not in item:
            raise BadRequest(f"map: {item!r} does not contain declared merge key: {key}")
        index = next(
            (i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            result = [o for o in result if not (isinstance(o, dict) and o.get(key) == item[key])]
            continue
        if index is None:
            result.append(_clean(item, spec.item))
        else:
            result[index] = _merge_map(result[index], item, spec.item)
    return result


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """``$setElementOrder``: listed elements first, in the given order; others keep theirs."""

    def ident(value: Any) -> Any:
        if key is not None and isinstance(value, dict):
            return value.get(key)
        return value

    wanted = [ident(o) for o in order]
    positions = {w: i for i, w in enumerate(wanted) if not isinstance(w, (dict, list))}
    listed = [i for i in items if not isinstance(ident(i), (dict, list)) and ident(i) in positions]
    others = [i for i in items if i not in listed]
    listed.sort(key=lambda i: positions[ident(i)])
    return listed + others


def strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], schema: Struct
) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise BadRequest("strategic merge patch must be a JSON object")
    return _merge_map(original, patch, schema)


def apply_patch(
    original: dict[str, Any], patch_type: str, patch: Any, schema: Struct
) -> dict[str, Any]:
    """Apply ``patch`` of ``patch_type`` to a copy of ``original``."""
    if patch_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            result = jsonpatch.JsonPatch(patch).apply(copy.deepcopy(original))
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise PatchFailed(str(error)) from None
        except (TypeError, KeyError, IndexError, ValueError) as error:
            raise BadRequest(
                f"the server rejected our request due to an error in our request: {error}"
            ) from None
        if not isinstance(result, dict):
            raise BadRequest("the patch turned the object into something that is not an object")
        return result
    if patch_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise BadRequest("merge patch must be a JSON object")
        return json_merge_patch(original, patch)
    return strategic_merge_patch(original, patch, schema)


class PatchFailed(ApiError):
    """A JSON patch whose ``test`` failed or whose path is missing (422, like upstream)."""

    code = 422
    reason = "Invalid"
