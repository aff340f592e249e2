"""Registry storage: the :class:`Storage` protocol and its in-memory implementation.

Theory of operation. Content is addressed by digest. Bytes arrive through an
*upload session* (start → append … → commit with the expected digest); commit
hashes what was received and, only when it matches, makes the blob visible in
one atomic step. Two sessions carrying the same blob both commit to the same
digest, which is harmless. Repositories hold *links*, not bytes: blob links
(which blobs a repository may serve, used for cross-repo mount), manifest
revisions (digest → media type, push time), tags (name → digest) and referrer
links (subject digest → referrer manifest digests).

``lock`` serialises the few steps that must not interleave with garbage
collection: checking a manifest's blobs and storing it, and GC's final
re-mark and sweep (see ``gc.py``). Everything else is safe without it.

The disk implementation (``disk.py``) keeps the same model in OCI image-layout
form; tests use this one.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from shiplane.registry.errors import DigestMismatch
from shiplane.registry.reference import parse_digest

__all__ = ["BlobStat", "ManifestRecord", "MemoryStorage", "Storage", "UploadInfo"]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class BlobStat:
    size: int
    touched_at: float  # commit time or last time a client was told the blob exists


@dataclass(frozen=True, slots=True)
class UploadInfo:
    id: str
    repository: str
    size: int
    started_at: float


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    digest: str
    media_type: str
    size: int
    pushed_at: float


class Storage(Protocol):
    """What the registry server, GC and lifecycle need from a store."""

    lock: threading.RLock
    clock: Clock

    # blobs (global, content-addressed)
    def blob_stat(self, digest: str) -> BlobStat | None: ...
    def open_blob(self, digest: str) -> BinaryIO: ...
    def read_blob(self, digest: str) -> bytes: ...
    def touch_blob(self, digest: str) -> None: ...
    def delete_blob(self, digest: str) -> None: ...
    def list_blobs(self) -> list[str]: ...
    def put_blob(self, data: bytes, digest: str) -> None: ...

    # upload sessions
    def start_upload(self, repository: str) -> UploadInfo: ...
    def upload_info(self, upload_id: str) -> UploadInfo | None: ...
    def append_upload(self, upload_id: str, chunk: bytes) -> int: ...
    def commit_upload(self, upload_id: str, digest: str) -> int: ...
    def cancel_upload(self, upload_id: str) -> None: ...
    def list_uploads(self) -> list[UploadInfo]: ...

    # repositories
    def repositories(self) -> list[str]: ...
    def link_blob(self, repository: str, digest: str) -> None: ...
    def unlink_blob(self, repository: str, digest: str) -> None: ...
    def repo_has_blob(self, repository: str, digest: str) -> bool: ...
    def put_manifest(self, repository: str, digest: str, media_type: str, data: bytes) -> None: ...
    def manifest(self, repository: str, digest: str) -> ManifestRecord | None: ...
    def manifests(self, repository: str) -> list[ManifestRecord]: ...
    def delete_manifest(self, repository: str, digest: str) -> None: ...
    def set_tag(self, repository: str, tag: str, digest: str) -> None: ...
    def tag(self, repository: str, tag: str) -> str | None: ...
    def tags(self, repository: str) -> dict[str, str]: ...
    def delete_tag(self, repository: str, tag: str) -> None: ...
    def add_referrer(self, repository: str, subject: str, digest: str) -> None: ...
    def referrers(self, repository: str, subject: str) -> list[str]: ...


def verify_digest(digest: str, actual_hex: str) -> None:
    expected = parse_digest(digest)
    if expected.hex != actual_hex:
        raise DigestMismatch(
            f"content hashes to {expected.algorithm}:{actual_hex}, not {digest}"
        )


def hash_chunks(algorithm: str, chunks: Iterable[bytes]) -> str:
    hasher = hashlib.new(algorithm)
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


class _Upload:
    __slots__ = ("info", "buffer", "hasher")

    def __init__(self, info: UploadInfo) -> None:
        self.info = info
        self.buffer = bytearray()
        self.hasher = hashlib.sha256()


class _Repository:
    __slots__ = ("blobs", "manifests", "tags", "referrers")

    def __init__(self) -> None:
        self.blobs: set[str] = set()
        self.manifests: dict[str, ManifestRecord] = {}
        self.tags: dict[str, str] = {}
        self.referrers: dict[str, set[str]] = {}


class MemoryStorage:
    """Everything in dictionaries; same semantics as :class:`DiskStorage`."""

    def __init__(self, *, clock: Clock = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._blobs: dict[str, bytes] = {}
        self._touched: dict[str, float] = {}
        self._uploads: dict[str, _Upload] = {}
        self._repos: dict[str, _Repository] = {}

    # blobs
    def blob_stat(self, digest: str) -> BlobStat | None:
        data = self._blobs.get(digest)
        return None if data is None else BlobStat(len(data), self._touched[digest])

    def open_blob(self, digest: str) -> BinaryIO:
        return io.BytesIO(self._blobs[digest])

    def read_blob(self, digest: str) -> bytes:
        return self._blobs[digest]

    def touch_blob(self, digest: str) -> None:
        if digest in self._blobs:
            self._touched[digest] = self.clock()

    def delete_blob(self, digest: str) -> None:
        self._blobs.pop(digest, None)
        self._touched.pop(digest, None)

    def list_blobs(self) -> list[str]:
        return list(self._blobs)

    def put_blob(self, data: bytes, digest: str) -> None:
        algorithm = parse_digest(digest).algorithm
        verify_digest(digest, hashlib.new(algorithm, data).hexdigest())
        self._blobs[digest] = bytes(data)
        self._touched[digest] = self.clock()

    # uploads
    def start_upload(self, repository: str) -> UploadInfo:
        info = UploadInfo(str(uuid.uuid4()), repository, 0, self.clock())
        self._uploads[info.id] = _Upload(info)
        return info

    def upload_info(self, upload_id: str) -> UploadInfo | None:
        upload = self._uploads.get(upload_id)
        if upload is None:
            return None
        return UploadInfo(upload.info.id, upload.info.repository, len(upload.buffer),
                          upload.info.started_at)

    def append_upload(self, upload_id: str, chunk: bytes) -> int:
        upload = self._uploads[upload_id]
        upload.buffer += chunk
        upload.hasher.update(chunk)
        return len(upload.buffer)

    def commit_upload(self, upload_id: str, digest: str) -> int:
        upload = self._uploads[upload_id]
        parsed = parse_digest(digest)
        actual = (upload.hasher.hexdigest() if parsed.algorithm == "sha256"
                  else hashlib.new(parsed.algorithm, upload.buffer).hexdigest())
        verify_digest(digest, actual)  # on mismatch the session stays, nothing is visible
        del self._uploads[upload_id]
        self._blobs[digest] = bytes(upload.buffer)
        self._touched[digest] = self.clock()
        return len(upload.buffer)

    def cancel_upload(self, upload_id: str) -> None:
        self._uploads.pop(upload_id, None)

    def list_uploads(self) -> list[UploadInfo]:
        return [info for uid in list(self._uploads) if (info := self.upload_info(uid))]

    # repositories
    def _repo(self, repository: str) -> _Repository:
        repo = self._repos.get(repository)
        if repo is None:
            repo = self._repos[repository] = _Repository()
        return repo

    def repositories(self) -> list[str]:
        return sorted(self._repos)

    def link_blob(self, repository: str, digest: str) -> None:
        self._repo(repository).blobs.add(digest)

    def unlink_blob(self, repository: str, digest: str) -> None:
        if repository in self._repos:
            self._repos[repository].blobs.discard(digest)

    def repo_has_blob(self, repository: str, digest: str) -> bool:
        repo = self._repos.get(repository)
        return repo is not None and digest in repo.blobs and digest in self._blobs

    def put_manifest(self, repository: str, digest: str, media_type: str, data: bytes) -> None:
        self.put_blob(data, digest)
        self._repo(repository).manifests[digest] = ManifestRecord(
            digest, media_type, len(data), self.clock())

    def manifest(self, repository: str, digest: str) -> ManifestRecord | None:
        repo = self._repos.get(repository)
        if repo is None or digest not in self._blobs:
            return None
        return repo.manifests.get(digest)

    def manifests(self, repository: str) -> list[ManifestRecord]:
        repo = self._repos.get(repository)
        return [] if repo is None else list(repo.manifests.values())

    def delete_manifest(self, repository: str, digest: str) -> None:
        repo = self._repos.get(repository)
        if repo is None:
            return
        repo.manifests.pop(digest, None)
        for tag in [t for t, d in repo.tags.items() if d == digest]:
            del repo.tags[tag]
        for subject in list(repo.referrers):
            repo.referrers[subject].discard(digest)

    def set_tag(self, repository: str, tag: str, digest: str) -> None:
        self._repo(repository).tags[tag] = digest

    def tag(self, repository: str, tag: str) -> str | None:
        repo = self._repos.get(repository)
        return None if repo is None else repo.tags.get(tag)

    def tags(self, repository: str) -> dict[str, str]:
        repo = self._repos.get(repository)
        return {} if repo is None else dict(repo.tags)

    def delete_tag(self, repository: str, tag: str) -> None:
        if repository in self._repos:
            self._repos[repository].tags.pop(tag, None)

    def add_referrer(self, repository: str, subject: str, digest: str) -> None:
        self._repo(repository).referrers.setdefault(subject, set()).add(digest)

    def referrers(self, repository: str, subject: str) -> list[str]:
        repo = self._repos.get(repository)
        return [] if repo is None else sorted(repo.referrers.get(subject, ()))
