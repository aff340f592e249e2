"""List paging: ``limit`` + ``continue`` tokens and the list result.

A continue token records the list's resourceVersion and the last key returned; a
token older than the store's retained window is refused with 410 Expired, as
kube-apiserver does once etcd compacted the revision.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from shiplane.cluster.store.errors import BadRequest
from shiplane.cluster.store.model import StoredObject

__all__ = ["ListResult", "decode_continue", "encode_continue"]


@dataclass(frozen=True)
class ListResult:
    items: list[StoredObject]
    resource_version: int
    continue_token: str | None = None
    remaining: int | None = None


def encode_continue(rv: int, start_after: tuple[str, str]) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(start_after)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, TypeError, IndexError):
        raise BadRequest("continue key is not valid: invalid continue token") from None
