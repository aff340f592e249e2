"""``fieldValidation``: unknown and duplicate fields in request bodies, as pure functions.

Modes (KEP-2885, apiserver ``handlers/rest.go``): ``Strict`` refuses the request with 400
``strict decoding error: <problems>``; ``Warn`` (the default when the parameter is absent)
accepts it and returns each problem as a ``Warning`` header; ``Ignore`` does neither.

Problems have upstream's wording:

* ``unknown field "spec.template.spec.containers[0].imagee"`` — the JSON path sigs.k8s.io/json
  reports (dots for fields, ``[i]`` for list items), from walking the object against its type;
  ``x-kubernetes-preserve-unknown-fields`` and untyped values accept anything;
* ``duplicate field "spec.replicas"`` for a JSON body with a repeated key; for YAML bodies the
  YAML→JSON converter's ``line 7: key "replicas" already set in map``.

Duplicates can only be seen while decoding, so :func:`decode_json` / :func:`decode_yaml`
return them next to the object (the last value wins, as in Go's decoder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from shiplane.cluster.openapi.errors import FieldValidationFailed, OpenAPIError
from shiplane.cluster.openapi.types import TypeNode

__all__ = [
    "Decoded",
    "FieldValidationMode",
    "check_fields",
    "decode_json",
    "decode_yaml",
    "drop_unknown_fields",
    "parse_field_validation",
    "unknown_fields",
    "validate_fields",
    "warning_header",
]

FieldValidationMode = Literal["Strict", "Warn", "Ignore"]
_MODES = ("Ignore", "Strict", "Warn")


def parse_field_validation(value: str | None) -> FieldValidationMode:
    """The query parameter's value; absent or empty means ``Warn``."""
    if not value:
        return "Warn"
    if value not in _MODES:
        raise OpenAPIError(
            f'fieldValidation: Unsupported value: "{value}": supported values: '
            '"", "Ignore", "Strict", "Warn"'
        )
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Decoded:
    value: Any
    duplicates: tuple[str, ...] = ()


# -- decoding with duplicate detection -----------------------------------------------------


class _Pairs(dict):  # type: ignore[type-arg]
    """A JSON object that remembers which keys it saw twice."""

    __slots__ = ("repeated",)


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = _Pairs()
    repeated: list[str] = []
    for key, value in pairs:
        if key in out and key not in repeated:
            repeated.append(key)
        out[key] = value
    out.repeated = repeated
    return out


class _Repeated(Exception):
    """A JSON object repeats a key: decode again, noting where."""


def _plain_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Repeated
    return out


def decode_json(data: bytes | str) -> Decoded:
    # Fast path: nearly every body has no repeated key; plain dicts, no second walk.
    try:
        return Decoded(json.loads(data, object_pairs_hook=_plain_hook), ())
    except _Repeated:
        pass
    except ValueError as exc:
        raise OpenAPIError(f"invalid JSON: {exc}") from None
    try:
        raw = json.loads(data, object_pairs_hook=_pairs_hook)
    except ValueError as exc:
        raise OpenAPIError(f"invalid JSON: {exc}") from None
    duplicates: list[str] = []
    value = _plain(raw, "", duplicates)
    return Decoded(value, tuple(duplicates))


def _plain(value: Any, path: str, duplicates: list[str]) -> Any:
    if isinstance(value, dict):
        for key in getattr(value, "repeated", ()):
            duplicates.append(f'duplicate field "{_join(path, key)}"')
        return {k: _plain(v, _join(path, k), duplicates) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", duplicates) for i, v in enumerate(value)]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _DuplicateTrackingLoader(yaml.SafeLoader):
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_scalar(key_node)
                if key in seen:
                    self.duplicates.append(
                        f'line {key_node.start_mark.line + 1}: key "{key}" already set in map'
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Timestamps stay strings: YAML→JSON conversion yields JSON strings, never dates.
_DuplicateTrackingLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def decode_yaml(data: bytes | str) -> Decoded:
    """One YAML document (an apply patch body)."""
    loader = _DuplicateTrackingLoader(data)
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise OpenAPIError(f"error converting YAML to JSON: {exc}") from None
    finally:
        loader.dispose()
    return Decoded(value, tuple(loader.duplicates))


# -- unknown fields ---------------------------------------------------------------------------


def unknown_fields(obj: Any, node: TypeNode | None, *, directives: bool = False) -> list[str]:
    """``unknown field "<path>"`` for every field ``node`` does not declare. With
    ``directives``, strategic-merge-patch keys (``$patch``, ``$setElementOrder/x``, ...) are
    not fields."""
    if node is None:
        return []
    out: list[str] = []
    _walk(obj, node, "", out, directives)
    return out


def _walk(value: Any, node: TypeNode, path: str, out: list[str], directives: bool) -> None:
    kind = node.kind
    if kind == "untyped" or node.preserves_unknown_fields and kind != "struct":
        return
    if isinstance(value, dict) and kind in ("struct", "map"):
        for key, child_value in value.items():
            if directives and key.startswith("$"):
                continue
            child = node.field(key)
            child_path = _join(path, key)
            if child is None:
                out.append(f'unknown field "{child_path}"')
                continue
            _walk(child_value, child, child_path, out, directives)
    elif isinstance(value, list) and kind == "list":
        element = node.element()
        for index, item in enumerate(value):
            _walk(item, element, f"{path}[{index}]", out, directives)


def drop_unknown_fields(obj: Any, node: TypeNode | None, *, directives: bool = False) -> Any:
    """A copy of ``obj`` without the fields :func:`unknown_fields` reports — what decoding into
    the typed object does upstream when validation is Warn or Ignore."""
    if node is None:
        return obj
    return _drop(obj, node, directives)


def _drop(value: Any, node: TypeNode, directives: bool) -> Any:
    kind = node.kind
    if kind == "untyped" or node.preserves_unknown_fields and kind != "struct":
        return value
    if isinstance(value, dict) and kind in ("struct", "map"):
        out = {}
        for key, child_value in value.items():
            if directives and key.startswith("$"):
                out[key] = child_value
                continue
            child = node.field(key)
            if child is not None:
                out[key] = _drop(child_value, child, directives)
        return out
    if isinstance(value, list) and kind == "list":
        element = node.element()
        return [_drop(item, element, directives) for item in value]
    return value


def check_fields(
    obj: Any,
    node: TypeNode | None,
    mode: FieldValidationMode,
    duplicates: tuple[str, ...] | list[str] = (),
) -> list[str]:
    """Apply ``mode``: raise :class:`FieldValidationFailed` (Strict) or return the warnings."""
    if mode == "Ignore":
        return []
    problems = list(duplicates) + unknown_fields(obj, node)
    if problems and mode == "Strict":
        raise FieldValidationFailed(problems)
    return problems


validate_fields = check_fields


def warning_header(text: str) -> str:
    """A ``Warning`` header value as kube-apiserver writes it (RFC 7234 code 299, agent
    ``-``, quoted text with quotes and backslashes escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
