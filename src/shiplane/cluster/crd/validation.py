"""Validating a custom resource against its structural schema.

Messages are upstream's: apiextensions-apiserver ``pkg/apiserver/validation`` converts
kube-openapi's validation errors into ``field.Error``\\ s — required → ``Required value``,
enum → ``Unsupported value``, maxLength → ``Too long``, maxItems → ``Too many``, everything
else ``Invalid value: <v>: <path> in body <rule>`` (kube-openapi ``validate/errors.go``:
"must be of type integer", "should match '<re>'", "should be greater than or equal to 0",
"should be at least 1 chars long", "should have at least 1 items", ...).
"""

from __future__ import annotations

import re
from typing import Any

from shiplane.cluster.crd.errors import FieldError

__all__ = ["validate_custom_resource", "validate_value"]


def validate_custom_resource(obj: dict[str, Any], schema: dict[str, Any]) -> list[FieldError]:
    """Errors of ``obj`` (apiVersion/kind/metadata are the API server's business)."""
    errors: list[FieldError] = []
    props = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in obj and name != "metadata":
            errors.append(FieldError(name, "Required"))
    for name, value in obj.items():
        if name in ("apiVersion", "kind", "metadata"):
            continue
        if name in props:
            errors.extend(validate_value(value, props[name], name))
    return errors


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, expected: str) -> bool:
    actual = _type_of(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return actual == expected


def validate_value(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    _validate(value, schema, path, errors)
    return errors


def _validate(value: Any, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    expected = schema.get("type")
    if value is None:
        if schema.get("nullable"):
            return
        if expected:
            errors.append(FieldError(path, "Invalid", f'{path} in body must be of type {expected}: "null"',
                                     value="null"))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if _type_of(value) not in ("integer", "string"):
            errors.append(FieldError(path, "Invalid",
                                     f'{path} in body must be of type integer,string: "{_type_of(value)}"',
                                     value=_type_of(value)))
            return
    elif expected and not _type_ok(value, expected):
        actual = _type_of(value)
        errors.append(FieldError(path, "Invalid", f'{path} in body must be of type {expected}: "{actual}"',
                                 value=actual))
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        errors.append(FieldError(path, "Unsupported", value=value,
                                 supported=tuple(str(e) for e in enum)))
    if isinstance(value, str):
        _string(value, schema, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(value, schema, path, errors)
    elif isinstance(value, list):
        _array(value, schema, path, errors)
    elif isinstance(value, dict):
        _object(value, schema, path, errors)


def _string(value: str, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > max_length:
        errors.append(FieldError(path, "TooLong", f"may not be more than {max_length} bytes", value=value))
    min_length = schema.get("minLength")
    if min_length is not None and len(value) < min_length:
        errors.append(FieldError(path, "Invalid", f"{path} in body should be at least {min_length} chars long",
                                 value=value))
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # the CRD validator refuses bad patterns; never fail a CR on ours
        if not matched:
            errors.append(FieldError(path, "Invalid", f"{path} in body should match '{pattern}'", value=value))


def _number(value: float, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    minimum = schema.get("minimum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            errors.append(FieldError(path, "Invalid", f"{path} in body should be greater than {minimum}", value=value))
        elif value < minimum:
            errors.append(FieldError(path, "Invalid",
                                     f"{path} in body should be greater than or equal to {minimum}", value=value))
    maximum = schema.get("maximum")
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            errors.append(FieldError(path, "Invalid", f"{path} in body should be less than {maximum}", value=value))
        elif value > maximum:
            errors.append(FieldError(path, "Invalid",
                                     f"{path} in body should be less than or equal to {maximum}", value=value))
    multiple = schema.get("multipleOf")
    if multiple and value % multiple:
        errors.append(FieldError(path, "Invalid", f"{path} in body should be a multiple of {multiple}", value=value))


def _array(value: list[Any], schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        errors.append(FieldError(path, "TooMany", f"must have at most {max_items} items", value=len(value)))
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        errors.append(FieldError(path, "Invalid", f"{path} in body should have at least {min_items} items",
                                 value=len(value)))
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", errors)
    if schema.get("x-kubernetes-list-type") in ("set", "map"):
        keys = schema.get("x-kubernetes-list-map-keys") or ()
        seen: set[str] = set()
        for index, item in enumerate(value):
            ident = repr(item) if not keys or not isinstance(item, dict) else repr([item.get(k) for k in keys])
            if ident in seen:
                shown = item if not keys or not isinstance(item, dict) else {k: item.get(k) for k in keys}
                errors.append(FieldError(f"{path}[{index}]", "Duplicate", value=shown))
            seen.add(ident)


def _object(value: dict[str, Any], schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(FieldError(f"{path}.{name}", "Required"))
    props = schema.get("properties") or {}
    add = schema.get("additionalProperties")
    for name, child in value.items():
        if name in props:
            _validate(child, props[name], f"{path}.{name}", errors)
        elif isinstance(add, dict):
            _validate(child, add, f"{path}.{name}", errors)
    max_props = schema.get("maxProperties")
    if max_props is not None and len(value) > max_props:
        errors.append(FieldError(path, "TooMany", f"must have at most {max_props} items", value=len(value)))
    min_props = schema.get("minProperties")
    if min_props is not None and len(value) < min_props:
        errors.append(FieldError(path, "Invalid", f"{path} in body should have at least {min_props} properties",
                                 value=len(value)))
