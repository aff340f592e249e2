"""Field paths and the FieldsV1 wire format (sigs.k8s.io/structured-merge-diff ``fieldpath``).

A path element is a small tuple, hashable and ordered:

* ``("f", name)`` — a struct field or map key, FieldsV1 ``f:<name>``
* ``("k", '{"name":"x"}')`` — an associative-list item by its key fields, ``k:<json>``
* ``("v", '"x"')`` — a set-list item by its value, ``v:<json>``
* ``("i", 3)`` — a list item by index, ``i:<n>`` (decoded for completeness; apply never
  produces it)

JSON payloads are canonical (sorted keys, no spaces) so equal keys compare equal. A field
*set* is a ``frozenset`` of paths; FieldsV1 is its trie with ``"."`` marking a node that is a
member while also having members below it (``serialize.go``). Elements sort field < key <
value < index, like upstream's ``PathElement.Compare``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from shiplane.cluster.fieldmanager.errors import InvalidFieldsV1

__all__ = [
    "FieldSet",
    "Path",
    "PathElement",
    "canonical_json",
    "decode_fields_v1",
    "encode_fields_v1",
    "path_string",
]

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]

_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def canonical_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _sort_key(pe: PathElement) -> tuple[int, Any]:
    return (_ORDER[pe[0]], pe[1] if pe[0] != "i" else int(pe[1]))


def element_string(pe: PathElement) -> str:
    """Upstream ``PathElement.String``: ``.name``, ``[name="x",port=80]``, ``[="x"]``, ``[3]``."""
    kind, payload = pe
    if kind == "f":
        return "." + payload
    if kind == "k":
        fields = json.loads(payload)
        return "[" + ",".join(f"{k}={canonical_json(v)}" for k, v in sorted(fields.items())) + "]"
    if kind == "v":
        return "[=" + payload + "]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


def encode_element(pe: PathElement) -> str:
    kind, payload = pe
    return f"{kind}:{payload}"


def decode_element(text: str) -> PathElement:
    kind, sep, payload = text.partition(":")
    if not sep or kind not in _ORDER:
        raise InvalidFieldsV1(f"invalid FieldsV1 key {text!r}: expected f:, k:, v: or i:")
    if kind == "f":
        return ("f", payload)
    if kind == "i":
        try:
            return ("i", int(payload))
        except ValueError:
            raise InvalidFieldsV1(f"invalid FieldsV1 index {text!r}") from None
    try:
        value = json.loads(payload)
    except ValueError:
        raise InvalidFieldsV1(f"invalid FieldsV1 JSON in {text!r}") from None
    if kind == "k" and not isinstance(value, dict):
        raise InvalidFieldsV1(f"invalid FieldsV1 key {text!r}: k: takes a JSON object")
    return (kind, canonical_json(value))


# Every write re-decodes the stored object's managedFields and re-encodes the new ones, and
# from one write of a pod's status to the next they are nearly always the same sets: memoise
# both directions (bounded; cleared when full). Encoded tries are kept as JSON and decoded
# afresh for each caller, so no two objects share a mutable dict.
_MEMO_LIMIT = 4096
_decoded: dict[bytes, FieldSet] = {}
_encoded: dict[FieldSet, bytes] = {}


def encode_fields_v1(fields: Iterable[Path]) -> dict[str, Any]:
    """A field set as the FieldsV1 trie (``{"f:spec": {"f:replicas": {}}}``)."""
    if isinstance(fields, frozenset):
        cached = _encoded.get(fields)
        if cached is None:
            if len(_encoded) >= _MEMO_LIMIT:
                _encoded.clear()
            cached = _encoded[fields] = orjson.dumps(_encode_fields(fields))
        return orjson.loads(cached)
    return _encode_fields(fields)


def _encode_fields(fields: Iterable[Path]) -> dict[str, Any]:
    root: dict[PathElement, Any] = {}
    members: set[int] = set()
    for path in fields:
        node = root
        for pe in path:
            node = node.setdefault(pe, {})
        members.add(id(node))
    return _encode_node(root, members)


def _encode_node(node: dict[PathElement, Any], members: set[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node and id(node) in members:
        out["."] = {}
    for pe in sorted(node, key=_sort_key):
        out[encode_element(pe)] = _encode_node(node[pe], members)
    return out


def decode_fields_v1(fields_v1: Any) -> FieldSet:
    """FieldsV1 trie → field set. Raises :class:`InvalidFieldsV1` on malformed input."""
    if not isinstance(fields_v1, dict):
        raise InvalidFieldsV1("FieldsV1 must be a JSON object")
    try:
        key = orjson.dumps(fields_v1)
    except TypeError:
        key = None
    if key is not None and (cached := _decoded.get(key)) is not None:
        return cached
    out: set[Path] = set()
    _decode_node(fields_v1, (), out)
    result = frozenset(out)
    if key is not None:
        if len(_decoded) >= _MEMO_LIMIT:
            _decoded.clear()
        _decoded[key] = result
    return result


def _decode_node(node: dict[str, Any], prefix: Path, out: set[Path]) -> None:
    for key, child in node.items():
        if key == ".":
            if child != {}:
                raise InvalidFieldsV1('invalid FieldsV1: "." must map to {}')
            if not prefix:
                raise InvalidFieldsV1('invalid FieldsV1: "." at the root')
            out.add(prefix)
            continue
        if not isinstance(child, dict):
            raise InvalidFieldsV1(f"invalid FieldsV1: {key!r} must map to an object")
        path = prefix + (decode_element(key),)
        if child:
            _decode_node(child, path, out)
        else:
            out.add(path)
