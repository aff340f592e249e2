"""Where the builder keeps blobs, cached steps and local image references.

Two stores, each a Protocol with a memory and a disk implementation:

* :class:`BlobStore` — content-addressed blobs (layers, configs, manifests), verified on write;
* :class:`RecordStore` — small JSON records by key: the layer cache (step key → layer) and
  the local image references (``python:3.11-slim`` → manifest digest).

The disk layout under the build state folder is ``blobs/sha256/<hex>``, ``cache/<key>.json``
and ``refs/<sha256 of reference>.json``; writes go through a temp file and a rename, so a
crash never leaves a half-written blob or record behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "BlobStore",
    "DiskBlobStore",
    "DiskRecordStore",
    "MemoryBlobStore",
    "MemoryRecordStore",
    "RecordStore",
    "sha256_digest",
]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _hex(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64 or not all(c in "0123456789abcdef" for c in value):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return value


class BlobStore(Protocol):
    def has(self, digest: str) -> bool: ...
    def get(self, digest: str) -> bytes: ...
    def put(self, data: bytes) -> str: ...
    def put_file(self, path: Path, digest: str) -> None:
        """Move ``path`` (whose sha256 is ``digest``) into the store."""
    def export(self, digest: str, destination: Path) -> None:
        """Place the blob at ``destination`` (hard link when possible)."""
    def open(self, digest: str) -> Any: ...


class MemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def has(self, digest: str) -> bool:
        return digest in self.blobs

    def get(self, digest: str) -> bytes:
        return self.blobs[digest]

    def put(self, data: bytes) -> str:
        digest = sha256_digest(data)
        self.blobs[digest] = data
        return digest

    def put_file(self, path: Path, digest: str) -> None:
        data = Path(path).read_bytes()
        if sha256_digest(data) != digest:
            raise ValueError(f"{path} does not match {digest}")
        self.blobs[digest] = data
        Path(path).unlink()

    def export(self, digest: str, destination: Path) -> None:
        destination.write_bytes(self.blobs[digest])

    def open(self, digest: str) -> Any:
        import io

        return io.BytesIO(self.blobs[digest])


class DiskBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / "sha256" / _hex(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def put(self, data: bytes) -> str:
        digest = sha256_digest(data)
        target = self.path(digest)
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return digest

    def put_file(self, path: Path, digest: str) -> None:
        target = self.path(digest)
        if target.exists():
            Path(path).unlink()
            return
        os.replace(path, target)

    def export(self, digest: str, destination: Path) -> None:
        source = self.path(digest)
        if destination.exists():
            return
        try:
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)

    def open(self, digest: str) -> Any:
        return open(self.path(digest), "rb")


class RecordStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, record: dict[str, Any]) -> None: ...


class MemoryRecordStore:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        record = self.records.get(key)
        return dict(record) if record is not None else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.records[key] = dict(record)


class DiskRecordStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / (hashlib.sha256(key.encode()).hexdigest() + ".json")

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle, sort_keys=True)
        os.replace(tmp, self._path(key))
