"""Defaulting and pruning of custom resources (apiextensions-apiserver
``pkg/apiserver/schema/defaulting`` and ``pkg/apiserver/schema/pruning``).

* Defaulting: a property absent from an object gets a deep copy of its ``default``; so does a
  ``null`` property that is not ``nullable``; a non-nullable ``null`` without a default is
  dropped (``PruneNonNullableNullsWithoutDefaults``). Defaults apply top-down, so a defaulted
  object is itself defaulted further; array items and additionalProperties values too.
* Pruning: fields the schema does not know are dropped, except under
  ``x-kubernetes-preserve-unknown-fields: true``. The root ``metadata`` is ObjectMeta, the API
  server's business, and is never pruned by the schema. At the root, and in
  ``x-kubernetes-embedded-resource`` objects, ``apiVersion``, ``kind`` and ``metadata`` are kept.
  The pruned paths are returned: with ``fieldValidation`` Warn/Strict they become upstream's
  ``unknown field "spec.foo"`` problems.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["apply_defaults", "prune"]

_OBJECT_ROOT = ("apiVersion", "kind", "metadata")


def apply_defaults(obj: Any, schema: dict[str, Any]) -> Any:
    """Defaulted copy of ``obj``."""
    out = copy.deepcopy(obj)
    _default(out, schema)
    return out


def _default(value: Any, schema: dict[str, Any]) -> None:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name, child in props.items():
            if "default" in child and (name not in value or (value[name] is None and not child.get("nullable"))):
                value[name] = copy.deepcopy(child["default"])
            elif name in value and value[name] is None and not child.get("nullable"):
                del value[name]  # PruneNonNullableNullsWithoutDefaults
        for name, item in value.items():
            if name in props:
                _default(item, props[name])
            elif isinstance(schema.get("additionalProperties"), dict):
                _default(item, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(item, schema["items"])


def prune(obj: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(pruned copy, dotted paths of the dropped fields)."""
    out = copy.deepcopy(obj)
    dropped: list[str] = []
    for name in list(out):
        if name == "metadata" or name in ("apiVersion", "kind"):
            continue
        props = schema.get("properties") or {}
        if name in props:
            _prune(out[name], props[name], name, dropped)
        elif schema.get("x-kubernetes-preserve-unknown-fields") is not True:
            del out[name]
            dropped.append(name)
    return out, dropped


def _prune(value: Any, schema: dict[str, Any], path: str, dropped: list[str]) -> None:
    if isinstance(value, dict):
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        props = schema.get("properties") or {}
        add = schema.get("additionalProperties")
        embedded = schema.get("x-kubernetes-embedded-resource") is True
        kept = _OBJECT_ROOT if embedded else ()
        for name in list(value):
            child_path = f"{path}.{name}" if path else name
            if name in props:
                _prune(value[name], props[name], child_path, dropped)
            elif isinstance(add, dict):
                _prune(value[name], add, child_path, dropped)
            elif add is True or preserve or name in kept:
                continue
            else:
                del value[name]
                dropped.append(child_path)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _prune(item, schema["items"], f"{path}[{index}]", dropped)
