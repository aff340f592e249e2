"""Structural-schema rules for a CRD version's ``openAPIV3Schema``.

A structural schema (apiextensions-apiserver ``pkg/apiserver/schema``, KEP-1002; validation in
``pkg/apis/apiextensions/validation/validation.go``) gives every node a ``type`` (unless it is
``x-kubernetes-int-or-string`` or preserves unknown fields), never uses ``$ref``, never mixes
``properties`` with ``additionalProperties``, gives arrays ``items``, and lets the root
``metadata`` restrict only ``name`` and ``generateName``. Paths in messages use upstream's
``properties[spec].items.additionalProperties`` form.
"""

from __future__ import annotations

from typing import Any

from shiplane.cluster.crd.errors import FieldError

__all__ = ["SCHEMA_TYPES", "structural_errors"]

SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")
_LIST_TYPES = ("atomic", "map", "set")
_MAP_TYPES = ("atomic", "granular")
_INT_OR_STRING_BRANCHES = ({"type": "integer"}, {"type": "string"})


def structural_errors(schema: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(schema, dict):
        return [FieldError(path, "Invalid", "must be an object", value=schema)]
    root_type = schema.get("type")
    if not root_type:
        errors.append(FieldError(path + ".type", "Required", "must not be empty at the root"))
    elif root_type != "object":
        errors.append(FieldError(path + ".type", "Invalid", "must be object at the root", value=root_type))
    meta = (schema.get("properties") or {}).get("metadata")
    if isinstance(meta, dict):
        allowed = {"type", "description", "properties"}
        props = meta.get("properties") or {}
        if set(meta) - allowed or set(props) - {"name", "generateName"} or meta.get("type", "object") != "object":
            errors.append(FieldError(
                path + ".properties[metadata]", "Forbidden",
                "must not specify anything other than name and generateName, but metadata is "
                "implicitly specified",
            ))
    _node(schema, path, errors, root=True)
    return errors


def _node(schema: dict[str, Any], path: str, errors: list[FieldError], *, root: bool = False) -> None:
    t = schema.get("type")
    int_or_string = schema.get("x-kubernetes-int-or-string") is True
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if "$ref" in schema:
        errors.append(FieldError(path + ".$ref", "Forbidden", "$ref is not supported"))
    if preserve is not None and preserve is not True:
        errors.append(FieldError(path + ".x-kubernetes-preserve-unknown-fields", "Invalid",
                                 "must be true or undefined", value=preserve))
    if t is not None and t not in SCHEMA_TYPES:
        errors.append(FieldError(path + ".type", "Unsupported", value=t, supported=SCHEMA_TYPES))
    if int_or_string and t:
        errors.append(FieldError(path + ".type", "Forbidden",
                                 "must be empty if x-kubernetes-int-or-string is true"))
    if not t and not root and not int_or_string and not preserve:
        what = (
            "object" if "properties" in schema or "additionalProperties" in schema
            else "array" if "items" in schema else "specified"
        )
        detail = "must not be empty for specified " + (f"{what} fields" if what != "specified" else "fields")
        errors.append(FieldError(path + ".type", "Required", detail))
    if "properties" in schema and "additionalProperties" in schema:
        errors.append(FieldError(path + ".additionalProperties", "Forbidden",
                                 "additionalProperties and properties are mutual exclusive"))
    if t == "array" and not isinstance(schema.get("items"), dict):
        errors.append(FieldError(path + ".items", "Required", "must be specified"))
    if schema.get("uniqueItems") is True:
        errors.append(FieldError(path + ".uniqueItems", "Forbidden",
                                 "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    list_type = schema.get("x-kubernetes-list-type")
    if list_type is not None:
        if list_type not in _LIST_TYPES:
            errors.append(FieldError(path + ".x-kubernetes-list-type", "Unsupported",
                                     value=list_type, supported=_LIST_TYPES))
        if t != "array":
            errors.append(FieldError(path + ".x-kubernetes-list-type", "Invalid",
                                     "must only be used on type array", value=list_type))
        if list_type == "map" and not schema.get("x-kubernetes-list-map-keys"):
            errors.append(FieldError(path + ".x-kubernetes-list-map-keys", "Required",
                                     "must not be empty if x-kubernetes-list-type is map"))
    if schema.get("x-kubernetes-list-map-keys") and list_type != "map":
        errors.append(FieldError(path + ".x-kubernetes-list-type", "Required",
                                 "must be map if x-kubernetes-list-map-keys is non-empty"))
    map_type = schema.get("x-kubernetes-map-type")
    if map_type is not None and map_type not in _MAP_TYPES:
        errors.append(FieldError(path + ".x-kubernetes-map-type", "Unsupported",
                                 value=map_type, supported=_MAP_TYPES))
    for name, child in (schema.get("properties") or {}).items():
        if isinstance(child, dict):
            _node(child, f"{path}.properties[{name}]", errors)
    items = schema.get("items")
    if isinstance(items, dict):
        _node(items, path + ".items", errors)
    add = schema.get("additionalProperties")
    if isinstance(add, dict):
        _node(add, path + ".additionalProperties", errors)
    for key in ("allOf", "anyOf", "oneOf"):
        for index, child in enumerate(schema.get(key) or ()):
            if int_or_string and key in ("allOf", "anyOf") and child in _INT_OR_STRING_BRANCHES:
                continue  # the canonical int-or-string shape (structural.go IntOrString)
            if isinstance(child, dict) and ("type" in child or "additionalProperties" in child
                                            or "default" in child or "nullable" in child):
                errors.append(FieldError(f"{path}.{key}[{index}]", "Forbidden",
                                         "must not specify type, additionalProperties, default or nullable in value validations"))
