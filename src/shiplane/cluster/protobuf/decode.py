"""Protobuf wire decoding for the few Kubernetes kinds typed clients send (see package doc).

Field numbers are k8s.io/api's ``generated.proto`` (core/v1 Secret, ConfigMap) and
k8s.io/apimachinery ``pkg/apis/meta/v1/generated.proto`` (ObjectMeta, OwnerReference, Time,
DeleteOptions, Preconditions). Go's JSON encoding is reproduced for the result: empty strings,
zero numbers and unset timestamps are omitted (``omitempty``), ``[]byte`` values become
base64 strings, timestamps RFC 3339 in UTC.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

from shiplane.errors import ClusterError

__all__ = ["MAGIC", "UnsupportedProtobuf", "decode_object"]

MAGIC = b"k8s\x00"


class UnsupportedProtobuf(ClusterError):
    """The body is not Kubernetes protobuf, or of a kind this decoder does not know."""


Fields = dict[int, list[Any]]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise UnsupportedProtobuf("truncated protobuf varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise UnsupportedProtobuf("protobuf varint too long")


def _fields(data: bytes) -> Fields:
    out: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise UnsupportedProtobuf("truncated protobuf field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise UnsupportedProtobuf(f"unsupported protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _str(fields: Fields, number: int) -> str:
    values = fields.get(number)
    return values[-1].decode("utf-8") if values else ""


def _int(fields: Fields, number: int) -> int:
    values = fields.get(number)
    if not values:
        return 0
    value = values[-1]
    return value - (1 << 64) if value >= 1 << 63 else value


def _bool(fields: Fields, number: int) -> bool | None:
    values = fields.get(number)
    return bool(values[-1]) if values else None


def _map(fields: Fields, number: int, value: Callable[[bytes], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in fields.get(number, []):
        pair = _fields(entry)
        key = pair.get(1, [b""])[-1].decode("utf-8")
        out[key] = value(pair.get(2, [b""])[-1])
    return out


def _text(raw: bytes) -> str:
    return raw.decode("utf-8")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _time(raw: bytes) -> str | None:
    fields = _fields(raw)
    seconds = _int(fields, 1)
    if not seconds and not _int(fields, 2):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", 0, {}, []):
        out[key] = value


def _owner_reference(raw: bytes) -> dict[str, Any]:
    f = _fields(raw)
    out = {"apiVersion": _str(f, 5), "kind": _str(f, 1), "name": _str(f, 3), "uid": _str(f, 4)}
    for key, number in (("controller", 6), ("blockOwnerDeletion", 7)):
        flag = _bool(f, number)
        if flag is not None:
            out[key] = flag
    return out


def _object_meta(raw: bytes) -> dict[str, Any]:
    f = _fields(raw)
    out: dict[str, Any] = {}
    for key, number in (("name", 1), ("generateName", 2), ("namespace", 3), ("selfLink", 4),
                        ("uid", 5), ("resourceVersion", 6)):
        _put(out, key, _str(f, number))
    _put(out, "generation", _int(f, 7))
    for key, number in (("creationTimestamp", 8), ("deletionTimestamp", 9)):
        if f.get(number):
            _put(out, key, _time(f[number][-1]))
    _put(out, "deletionGracePeriodSeconds", _int(f, 10) if f.get(10) else None)
    _put(out, "labels", _map(f, 11, _text))
    _put(out, "annotations", _map(f, 12, _text))
    _put(out, "ownerReferences", [_owner_reference(r) for r in f.get(13, [])])
    _put(out, "finalizers", [r.decode("utf-8") for r in f.get(14, [])])
    return out


def _secret(f: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": _object_meta(f[1][-1]) if f.get(1) else {}}
    _put(out, "data", _map(f, 2, _b64))
    _put(out, "type", _str(f, 3))
    _put(out, "stringData", _map(f, 4, _text))
    immutable = _bool(f, 5)
    if immutable is not None:
        out["immutable"] = immutable
    return out


def _config_map(f: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": _object_meta(f[1][-1]) if f.get(1) else {}}
    _put(out, "data", _map(f, 2, _text))
    _put(out, "binaryData", _map(f, 3, _b64))
    immutable = _bool(f, 4)
    if immutable is not None:
        out["immutable"] = immutable
    return out


def _delete_options(f: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.get(1):
        out["gracePeriodSeconds"] = _int(f, 1)
    if f.get(2):
        pre = _fields(f[2][-1])
        preconditions: dict[str, Any] = {}
        _put(preconditions, "uid", _str(pre, 1))
        _put(preconditions, "resourceVersion", _str(pre, 2))
        out["preconditions"] = preconditions
    orphan = _bool(f, 3)
    if orphan is not None:
        out["orphanDependents"] = orphan
    _put(out, "propagationPolicy", _str(f, 4))
    _put(out, "dryRun", [r.decode("utf-8") for r in f.get(5, [])])
    return out


def _resource_attributes(raw: bytes) -> dict[str, Any]:
    f = _fields(raw)
    out: dict[str, Any] = {}
    for key, number in (("namespace", 1), ("verb", 2), ("group", 3), ("version", 4),
                        ("resource", 5), ("subresource", 6), ("name", 7)):
        _put(out, key, _str(f, number))
    return out


def _non_resource_attributes(raw: bytes) -> dict[str, Any]:
    f = _fields(raw)
    out: dict[str, Any] = {}
    _put(out, "path", _str(f, 1))
    _put(out, "verb", _str(f, 2))
    return out


def _review_spec(raw: bytes, *, subject: bool) -> dict[str, Any]:
    f = _fields(raw)
    spec: dict[str, Any] = {}
    if f.get(1):
        spec["resourceAttributes"] = _resource_attributes(f[1][-1])
    if f.get(2):
        spec["nonResourceAttributes"] = _non_resource_attributes(f[2][-1])
    if subject:
        _put(spec, "user", _str(f, 3))
        _put(spec, "groups", [g.decode("utf-8") for g in f.get(4, [])])
        _put(spec, "uid", _str(f, 6))
    return spec


def _self_subject_access_review(f: Fields) -> dict[str, Any]:
    return {"metadata": _object_meta(f[1][-1]) if f.get(1) else {},
            "spec": _review_spec(f[2][-1], subject=False) if f.get(2) else {}}


def _subject_access_review(f: Fields) -> dict[str, Any]:
    return {"metadata": _object_meta(f[1][-1]) if f.get(1) else {},
            "spec": _review_spec(f[2][-1], subject=True) if f.get(2) else {}}


_KINDS: dict[str, Callable[[Fields], dict[str, Any]]] = {
    "SelfSubjectAccessReview": _self_subject_access_review,
    "SubjectAccessReview": _subject_access_review,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "DeleteOptions": _delete_options,
}


def decode_object(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise UnsupportedProtobuf("the body is not Kubernetes protobuf (no k8s\\x00 prefix)")
    unknown = _fields(body[len(MAGIC):])
    type_meta = _fields(unknown[1][-1]) if unknown.get(1) else {}
    api_version, kind = _str(type_meta, 1), _str(type_meta, 2)
    if _str(unknown, 3):
        raise UnsupportedProtobuf(f"unsupported protobuf content encoding {_str(unknown, 3)!r}")
    decoder = _KINDS.get(kind)
    if decoder is None:
        raise UnsupportedProtobuf(f"protobuf bodies of kind {kind or '(none)'} are not supported")
    obj = decoder(_fields(unknown[2][-1]) if unknown.get(2) else {})
    out: dict[str, Any] = {}
    _put(out, "apiVersion", api_version)
    _put(out, "kind", kind)
    out.update(obj)
    return out
