"""The OpenAPI documents as a small cached service for the API server's routes.

``/openapi/v2`` → :meth:`OpenAPIService.v2`; ``/openapi/v3`` → :meth:`v3_root`;
``/openapi/v3/<key>`` → :meth:`v3_document`. Documents are rebuilt only when the served
resources (or the catalog's custom schemas) change: the fingerprint is the sorted resource
entries plus the catalog's generation. Bodies are pre-encoded JSON with an ETag (the hash
the root advertises); a request whose ``hash`` matches may be cached forever by clients, as
kube-openapi's handler3 marks it ``Cache-Control: public, immutable``.

kubectl asks ``/openapi/v2`` for protobuf (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``);
we only speak JSON, and :func:`v2_acceptable` lets the route answer 406 so kubectl falls back
(it reads v3 for validation and explain anyway).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shiplane.cluster.openapi.catalog import SchemaCatalog
from shiplane.cluster.openapi.documents import (
    ResourceEntry,
    document_hash,
    group_version_key,
    v2_document,
    v3_group_version_document,
)

__all__ = ["EncodedDocument", "OpenAPIService", "v2_acceptable"]


def v2_acceptable(accept: str) -> bool:
    """True when the client takes JSON (or anything)."""
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ("application/json", "*/*", "application/*"):
            return True
    return False


@dataclass(frozen=True)
class EncodedDocument:
    body: bytes
    etag: str


class OpenAPIService:
    def __init__(self, catalog: SchemaCatalog, resources: Callable[[], Iterable[ResourceEntry]]) -> None:
        self.catalog = catalog
        self._resources = resources
        self._lock = threading.Lock()
        self._fingerprint: tuple[object, ...] | None = None
        self._v3: dict[str, EncodedDocument] = {}
        self._v2: EncodedDocument | None = None
        self._root: bytes = b""

    def _refresh(self) -> None:
        entries = sorted(set(self._resources()), key=lambda r: (r.group, r.version, r.plural))
        fingerprint = (tuple(entries), self.catalog.generation)
        with self._lock:
            if fingerprint == self._fingerprint:
                return
            documents: dict[str, EncodedDocument] = {}
            for group, version in sorted({(r.group, r.version) for r in entries}):
                doc = v3_group_version_document(self.catalog, entries, group, version)
                documents[group_version_key(group, version)] = EncodedDocument(
                    json.dumps(doc, separators=(",", ":")).encode(), document_hash(doc))
            root = {"paths": {key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={doc.etag}"}
                              for key, doc in documents.items()}}
            self._v3 = documents
            self._root = json.dumps(root, separators=(",", ":")).encode()
            self._v2 = None
            self._entries = entries
            self._fingerprint = fingerprint

    def v3_root(self) -> bytes:
        self._refresh()
        return self._root

    def v3_document(self, key: str) -> EncodedDocument | None:
        """``key`` as in the root: ``api/v1``, ``apis/apps/v1``."""
        self._refresh()
        return self._v3.get(key.strip("/"))

    def v2(self) -> EncodedDocument:
        self._refresh()
        with self._lock:
            if self._v2 is None:
                doc = v2_document(self.catalog, self._entries)
                self._v2 = EncodedDocument(json.dumps(doc, separators=(",", ":")).encode(), document_hash(doc))
            return self._v2
