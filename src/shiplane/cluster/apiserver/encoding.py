"""Request bodies in, JSON / Table responses out.

Bodies: JSON, YAML or Kubernetes protobuf (decoded by shiplane.cluster.protobuf) up to 3 MiB
(kube-apiserver's limit, 413 beyond); CBOR
refused with 415. Responses: objects and lists reuse the stored JSON; a
``meta.k8s.io/v1`` Table is produced when the Accept header asks for
``as=Table;v=v1;g=meta.k8s.io`` (with ``includeObject`` None / Metadata / Object).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import orjson
import yaml

from shiplane.cluster.protobuf import UnsupportedProtobuf, decode_object
from shiplane.cluster.resources.registry import ResourceType
from shiplane.cluster.store.errors import BadRequest, RequestEntityTooLarge, UnsupportedMediaType
from shiplane.cluster.store.model import StoredObject, encode

__all__ = [
    "MAX_BODY_BYTES",
    "decode_body",
    "encode_list",
    "encode_table",
    "table_row_object",
    "wants_table",
]

MAX_BODY_BYTES = 3 * 1024 * 1024


def check_body_size(size: int) -> None:
    if size > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY_BYTES}")


def decode_body(raw: bytes, content_type: str, *, allowed: Sequence[str] = ()) -> Any:
    """Parse a request body by its media type (JSON or YAML, or one of ``allowed``)."""
    check_body_size(len(raw))
    media = content_type.split(";", 1)[0].strip().lower() or "application/json"
    if media == "application/vnd.kubernetes.protobuf":
        # typed clients (Helm's release Secrets, kubectl create, auth can-i) write protobuf
        try:
            return decode_object(raw)
        except UnsupportedProtobuf as error:
            raise UnsupportedMediaType(str(error)) from None
    if media == "application/cbor":
        raise UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json, application/yaml"
        )
    if allowed and media not in allowed:
        raise UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(allowed)
        )
    if not raw.strip():
        raise BadRequest("the body of the request is empty")
    if media in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            return yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise BadRequest(f"error converting YAML to JSON: yaml: {error}") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # the json module's message (and its tolerance of huge integers)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"couldn't get version/kind; json parse error: {error}") from None


def wants_table(accept: str) -> bool:
    for clause in accept.split(","):
        params = {
            p.strip().partition("=")[0]: p.strip().partition("=")[2] for p in clause.split(";")[1:]
        }
        if (
            params.get("as") == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in ("v1", "v1beta1")
        ):
            return True
    return False


def encode_list(
    rt: ResourceType, items: Sequence[StoredObject], rv: int, continue_token: str | None
) -> str:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if continue_token:
        meta["continue"] = continue_token
    return (
        '{"kind":"'
        + rt.kind
        + 'List","apiVersion":"'
        + rt.api_version
        + '","metadata":'
        + encode(meta)
        + ',"items":['
        + ",".join(i.raw for i in items)
        + "]}"
    )


def table_row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def encode_table(
    rt: ResourceType,
    objects: Sequence[dict[str, Any]],
    *,
    include: str,
    rv: int | None,
    continue_token: str | None = None,
    with_columns: bool = True,
    now: datetime | None = None,
) -> str:
    spec = rt.table
    now = now or datetime.now(timezone.utc)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": spec.cells(obj, now)[: len(spec.columns)]}
        row_object = table_row_object(obj, include)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    meta: dict[str, Any] = {}
    if rv is not None:
        meta["resourceVersion"] = str(rv)
    if continue_token:
        meta["continue"] = continue_token
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [c.definition() for c in spec.columns] if with_columns else None,
        "rows": rows,
    }
    return encode(table)
