"""Disk storage in OCI image-layout form, plus the registry's bookkeeping.

::

    <root>/oci-layout                      {"imageLayoutVersion": "1.0.0"}
    <root>/index.json                      every tag, as org.opencontainers.image.ref.name "<repo>:<tag>"
    <root>/blobs/<alg>/<hex>               content, written once, only after verification
    <root>/uploads/<id>/data, info.json    sessions in progress
    <root>/repositories/<repo>/_layers/<alg>/<hex>                 blob links (empty files)
    <root>/repositories/<repo>/_manifests/revisions/<alg>/<hex>    media type; mtime = push time
    <root>/repositories/<repo>/_manifests/tags/<tag>               digest
    <root>/repositories/<repo>/_referrers/<alg>-<subject>/<alg>-<hex>

Every file that others may read is written atomically: a temporary file in the
same directory, ``fsync``, then ``os.replace`` (the pattern distribution's
filesystem driver lacks, which is why a crash there can leave half blobs).
An upload's bytes are hashed incrementally as they arrive; commit verifies the
digest, fsyncs and renames the data file into ``blobs/`` — the blob is either
absent or complete. Two concurrent uploads of the same blob each rename their
own complete file onto the same name, so readers see one or the other, both
identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from shiplane.registry.reference import parse_digest, validate_name, validate_tag
from shiplane.registry.storage import BlobStat, Clock, ManifestRecord, UploadInfo, verify_digest

__all__ = ["DiskStorage", "atomic_write"]

_COPY_CHUNK = 1 << 20


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class _OpenUpload:
    __slots__ = ("handle", "hasher", "size")

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.hasher: "hashlib._Hash | None" = hashlib.sha256() if size == 0 else None
        self.size = size


class DiskStorage:
    """The product's store: an OCI image layout with repository bookkeeping."""

    def __init__(self, root: Path | str, *, clock: Clock = time.time) -> None:
        self.root = Path(root)
        self.lock = threading.RLock()
        self.clock = clock
        self._open: dict[str, _OpenUpload] = {}
        self._open_lock = threading.Lock()
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "uploads").mkdir(exist_ok=True)
        (self.root / "repositories").mkdir(exist_ok=True)
        if not (self.root / "oci-layout").exists():
            atomic_write(self.root / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        if not (self.root / "index.json").exists():
            self._write_index()

    # paths (names are validated again here: nothing reaches the file system unchecked)
    def _blob_path(self, digest: str) -> Path:
        parsed = parse_digest(digest)
        return self.root / "blobs" / parsed.algorithm / parsed.hex

    def _repo_dir(self, repository: str) -> Path:
        return self.root / "repositories" / validate_name(repository)

    def _upload_dir(self, upload_id: str) -> Path:
        try:
            uuid.UUID(upload_id)
        except ValueError:
            raise KeyError(upload_id) from None
        return self.root / "uploads" / upload_id

    @staticmethod
    def _flat(digest: str) -> str:
        parsed = parse_digest(digest)
        return f"{parsed.algorithm}-{parsed.hex}"

    # blobs
    def blob_stat(self, digest: str) -> BlobStat | None:
        try:
            st = os.stat(self._blob_path(digest))
        except FileNotFoundError:
            return None
        return BlobStat(st.st_size, st.st_mtime)

    def blob_path(self, digest: str) -> Path:
        return self._blob_path(digest)

    def open_blob(self, digest: str) -> BinaryIO:
        try:
            return open(self._blob_path(digest), "rb")
        except FileNotFoundError:
            raise KeyError(digest) from None

    def read_blob(self, digest: str) -> bytes:
        try:
            return self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise KeyError(digest) from None

    def touch_blob(self, digest: str) -> None:
        now = self.clock()
        try:
            os.utime(self._blob_path(digest), (now, now))
        except FileNotFoundError:
            pass

    def delete_blob(self, digest: str) -> None:
        try:
            os.unlink(self._blob_path(digest))
        except FileNotFoundError:
            pass

    def list_blobs(self) -> list[str]:
        out = []
        for alg_dir in (self.root / "blobs").iterdir():
            if alg_dir.is_dir():
                out.extend(f"{alg_dir.name}:{p.name}" for p in alg_dir.iterdir()
                           if not p.name.startswith("."))
        return out

    def put_blob(self, data: bytes, digest: str) -> None:
        parsed = parse_digest(digest)
        verify_digest(digest, hashlib.new(parsed.algorithm, data).hexdigest())
        path = self._blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
        self.touch_blob(digest)

    # uploads
    def start_upload(self, repository: str) -> UploadInfo:
        validate_name(repository)
        upload_id = str(uuid.uuid4())
        folder = self._upload_dir(upload_id)
        folder.mkdir()
        now = self.clock()
        (folder / "info.json").write_text(json.dumps({"repository": repository, "started_at": now}))
        handle = open(folder / "data", "wb")
        with self._open_lock:
            self._open[upload_id] = _OpenUpload(handle, 0)
        return UploadInfo(upload_id, repository, 0, now)

    def upload_info(self, upload_id: str) -> UploadInfo | None:
        try:
            folder = self._upload_dir(upload_id)
            meta = json.loads((folder / "info.json").read_text())
        except (KeyError, FileNotFoundError, ValueError):
            return None
        opened = self._open.get(upload_id)
        if opened is not None:
            size = opened.size
        else:
            try:
                size = (folder / "data").stat().st_size
            except FileNotFoundError:
                return None
        return UploadInfo(upload_id, meta["repository"], size, meta["started_at"])

    def _opened(self, upload_id: str) -> _OpenUpload:
        opened = self._open.get(upload_id)
        if opened is None:  # e.g. after a restart: reopen for appending, hash at commit
            path = self._upload_dir(upload_id) / "data"
            if not path.exists():
                raise KeyError(upload_id)
            with self._open_lock:
                opened = self._open.get(upload_id)
                if opened is None:
                    size = path.stat().st_size
                    opened = self._open[upload_id] = _OpenUpload(open(path, "ab"), size)
                    opened.hasher = None
        return opened

    def append_upload(self, upload_id: str, chunk: bytes) -> int:
        opened = self._opened(upload_id)
        opened.handle.write(chunk)
        if opened.hasher is not None:
            opened.hasher.update(chunk)
        opened.size += len(chunk)
        return opened.size

    def commit_upload(self, upload_id: str, digest: str) -> int:
        parsed = parse_digest(digest)
        opened = self._opened(upload_id)
        opened.handle.flush()
        os.fsync(opened.handle.fileno())
        data_path = self._upload_dir(upload_id) / "data"
        if opened.hasher is not None and parsed.algorithm == "sha256":
            actual = opened.hasher.hexdigest()
        else:
            hasher = hashlib.new(parsed.algorithm)
            with open(data_path, "rb") as handle:
                while block := handle.read(_COPY_CHUNK):
                    hasher.update(block)
            actual = hasher.hexdigest()
        verify_digest(digest, actual)  # raises DigestMismatch; the session stays usable
        size = opened.size
        with self._open_lock:
            self._open.pop(upload_id, None)
        opened.handle.close()
        target = self._blob_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(data_path, target)
        now = self.clock()
        os.utime(target, (now, now))
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)
        return size

    def cancel_upload(self, upload_id: str) -> None:
        with self._open_lock:
            opened = self._open.pop(upload_id, None)
        if opened is not None:
            opened.handle.close()
        try:
            shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)
        except KeyError:
            pass

    def list_uploads(self) -> list[UploadInfo]:
        return [info for p in (self.root / "uploads").iterdir()
                if (info := self.upload_info(p.name)) is not None]

    # repositories
    def repositories(self) -> list[str]:
        base = self.root / "repositories"
        names = []
        for dirpath, dirnames, _ in os.walk(base):
            if any(d in ("_layers", "_manifests", "_referrers") for d in dirnames):
                names.append(Path(dirpath).relative_to(base).as_posix())
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(names)

    def link_blob(self, repository: str, digest: str) -> None:
        parsed = parse_digest(digest)
        path = self._repo_dir(repository) / "_layers" / parsed.algorithm / parsed.hex
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def unlink_blob(self, repository: str, digest: str) -> None:
        parsed = parse_digest(digest)
        (self._repo_dir(repository) / "_layers" / parsed.algorithm / parsed.hex).unlink(missing_ok=True)

    def repo_has_blob(self, repository: str, digest: str) -> bool:
        parsed = parse_digest(digest)
        link = self._repo_dir(repository) / "_layers" / parsed.algorithm / parsed.hex
        return link.exists() and self._blob_path(digest).exists()

    def _revision(self, repository: str, digest: str) -> Path:
        parsed = parse_digest(digest)
        return self._repo_dir(repository) / "_manifests" / "revisions" / parsed.algorithm / parsed.hex

    def put_manifest(self, repository: str, digest: str, media_type: str, data: bytes) -> None:
        self.put_blob(data, digest)
        atomic_write(self._revision(repository, digest), media_type.encode())

    def manifest(self, repository: str, digest: str) -> ManifestRecord | None:
        path = self._revision(repository, digest)
        try:
            media_type = path.read_text()
            pushed_at = path.stat().st_mtime
        except FileNotFoundError:
            return None
        stat = self.blob_stat(digest)
        return None if stat is None else ManifestRecord(digest, media_type, stat.size, pushed_at)

    def manifests(self, repository: str) -> list[ManifestRecord]:
        base = self._repo_dir(repository) / "_manifests" / "revisions"
        if not base.exists():
            return []
        out = []
        for alg_dir in base.iterdir():
            for p in alg_dir.iterdir():
                if not p.name.startswith("."):
                    record = self.manifest(repository, f"{alg_dir.name}:{p.name}")
                    if record:
                        out.append(record)
        return out

    def delete_manifest(self, repository: str, digest: str) -> None:
        self._revision(repository, digest).unlink(missing_ok=True)
        changed = False
        for tag, tagged in self.tags(repository).items():
            if tagged == digest:
                (self._repo_dir(repository) / "_manifests" / "tags" / tag).unlink(missing_ok=True)
                changed = True
        referrers = self._repo_dir(repository) / "_referrers"
        if referrers.exists():
            for subject_dir in referrers.iterdir():
                (subject_dir / self._flat(digest)).unlink(missing_ok=True)
        if changed:
            self._write_index()

    def set_tag(self, repository: str, tag: str, digest: str) -> None:
        parse_digest(digest)
        atomic_write(self._repo_dir(repository) / "_manifests" / "tags" / validate_tag(tag),
                     digest.encode())
        self._write_index()

    def tag(self, repository: str, tag: str) -> str | None:
        try:
            return (self._repo_dir(repository) / "_manifests" / "tags" / validate_tag(tag)).read_text()
        except FileNotFoundError:
            return None

    def tags(self, repository: str) -> dict[str, str]:
        base = self._repo_dir(repository) / "_manifests" / "tags"
        if not base.exists():
            return {}
        return {p.name: p.read_text() for p in base.iterdir() if not p.name.startswith(".")}

    def delete_tag(self, repository: str, tag: str) -> None:
        (self._repo_dir(repository) / "_manifests" / "tags" / validate_tag(tag)).unlink(missing_ok=True)
        self._write_index()

    def add_referrer(self, repository: str, subject: str, digest: str) -> None:
        path = self._repo_dir(repository) / "_referrers" / self._flat(subject) / self._flat(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def referrers(self, repository: str, subject: str) -> list[str]:
        base = self._repo_dir(repository) / "_referrers" / self._flat(subject)
        if not base.exists():
            return []
        return sorted(p.name.replace("-", ":", 1) for p in base.iterdir())

    def _write_index(self) -> None:
        """Keep ``index.json`` a valid image-layout index of every tag."""
        with self.lock:
            manifests = []
            for repository in self.repositories():
                for tag, digest in sorted(self.tags(repository).items()):
                    record = self.manifest(repository, digest)
                    if record is None:
                        continue
                    manifests.append({
                        "mediaType": record.media_type, "digest": digest, "size": record.size,
                        "annotations": {"org.opencontainers.image.ref.name": f"{repository}:{tag}"},
                    })
            index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": manifests}
            atomic_write(self.root / "index.json", json.dumps(index, indent=2).encode())

