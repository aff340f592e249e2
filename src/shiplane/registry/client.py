"""The registry client: blobs, manifests, tags, referrers over the transport seam.

:class:`RegistryClient` adds the Distribution API to :class:`RegistryTransport`
(``transport.py``: credentials, token flow, retries, error mapping). Uploads
check existence with ``HEAD`` first, try cross-repo mounts, then upload
monolithically (POST + PUT) or in chunks (PATCH with ``Content-Range``, at
least the server's ``OCI-Chunk-Min-Length``, ECR's 201 tolerated, 416
recovered through the session status). Downloads are verified against their
digest and resumed with ``Range`` after a dropped connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shiplane.registry.credentials import Credentials
from shiplane.registry.errors import (
    DigestMismatch,
    ManifestParseError,
    RegistryApiError,
    RegistryError,
    RegistryUnreachable,
)
from shiplane.registry.manifest import MANIFEST_MEDIA_TYPES, OCI_INDEX, Manifest, parse_manifest
from shiplane.registry.reference import parse_digest, validate_name
from shiplane.registry.transport import RegistryTransport

__all__ = ["BlobSource", "ManifestResponse", "ProgressEvent", "RegistryClient"]

MiB = 1 << 20
_IO_CHUNK = MiB
MANIFEST_ACCEPT = ", ".join(sorted(MANIFEST_MEDIA_TYPES))


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One progress report: ``action`` is push, pull, exists or mount."""

    action: str
    digest: str
    done: int
    total: int


ProgressCallback = Callable[[ProgressEvent], None]
BlobSource = bytes | Path


@dataclass(frozen=True, slots=True)
class ManifestResponse:
    data: bytes
    media_type: str
    digest: str


def _source_size(source: BlobSource) -> int:
    return len(source) if isinstance(source, bytes | bytearray) else os.path.getsize(source)


def _source_digest(source: BlobSource) -> str:
    if isinstance(source, bytes | bytearray):
        return "sha256:" + hashlib.sha256(source).hexdigest()
    hasher = hashlib.sha256()
    with open(source, "rb") as handle:
        while block := handle.read(_IO_CHUNK):
            hasher.update(block)
    return "sha256:" + hasher.hexdigest()


def _read_range(source: BlobSource, start: int, length: int) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source[start:start + length])
    with open(source, "rb") as handle:
        handle.seek(start)
        return handle.read(length)


class RegistryClient(RegistryTransport):
    """A client for one registry host (embedded, ECR, or any OCI registry).

    Connection and auth options are :class:`RegistryTransport`'s; ``chunk_size``
    forces chunked uploads, ``monolithic_limit`` is the largest single PUT,
    ``progress`` receives :class:`ProgressEvent`.
    """

    def __init__(self, registry: str, *, credentials: Credentials | None = None,
                 chunk_size: int | None = None, monolithic_limit: int = 256 * MiB,
                 progress: ProgressCallback | None = None, **transport_options: Any) -> None:
        super().__init__(registry, credentials=credentials, **transport_options)
        self.chunk_size = chunk_size
        self.monolithic_limit = monolithic_limit
        self.progress = progress

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _report(self, action: str, digest: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(action, digest, done, total))


    # ---- API ----------------------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/ (end-1), authenticating if the registry asks."""
        self._send("GET", "/v2/", ok=(200,))

    def catalog(self) -> list[str]:
        names: list[str] = []
        url: str | None = "/v2/_catalog?n=1000"
        while url:
            response = self._send("GET", url, scope="registry:catalog:*")
            names += response.json().get("repositories") or []
            url = _next_link(response)
        return names

    def blob_exists(self, repository: str, digest: str) -> int | None:
        """Size of the blob if the repository has it (HEAD, end-2), else None."""
        response = self._send("HEAD", f"/v2/{validate_name(repository)}/blobs/{digest}",
                              scope=_scope(repository, "pull"), allow=(404,))
        return int(response.headers.get("content-length", 0)) if response.status_code == 200 else None

    def push_blob(self, repository: str, source: BlobSource, digest: str | None = None,
                  *, mount_from: str | list[str] | None = None) -> tuple[str, int]:
        """Upload a blob unless the registry has it; returns (digest, size).

        Order: HEAD check → cross-repo mount from each ``mount_from`` → upload
        (monolithic POST+PUT up to ``monolithic_limit`` unless ``chunk_size`` is
        set, else chunked PATCHes of at least the server's OCI-Chunk-Min-Length).
        """
        validate_name(repository)
        digest = digest or _source_digest(source)
        parse_digest(digest)
        size = _source_size(source)
        scope = _scope(repository, "pull,push")
        if self.blob_exists(repository, digest) is not None:
            self._report("exists", digest, size, size)
            return digest, size
        location = None
        sources = [mount_from] if isinstance(mount_from, str) else list(mount_from or [])
        for source_repo in sources:
            if source_repo == repository:
                continue
            response = self._send("POST", f"/v2/{repository}/blobs/uploads/",
                                  scope=f"{scope} {_scope(source_repo, 'pull')}",
                                  params={"mount": digest, "from": source_repo}, ok=(201, 202))
            if response.status_code == 201:
                self._report("mount", digest, size, size)
                return digest, size
            location = response.headers["location"]
            min_chunk = int(response.headers.get("oci-chunk-min-length", 0) or 0)
            break
        if location is None:
            response = self._send("POST", f"/v2/{repository}/blobs/uploads/", scope=scope,
                                  headers={"Content-Length": "0"}, ok=(202,), allow=(201,))
            location = response.headers["location"]
            min_chunk = int(response.headers.get("oci-chunk-min-length", 0) or 0)
        if self.chunk_size is None and size <= self.monolithic_limit and not min_chunk:
            self._put_monolithic(location, source, digest, size, scope)
        else:
            chunk = max(self.chunk_size or 16 * MiB, min_chunk)
            self._put_chunked(location, source, digest, size, chunk, scope)
        return digest, size

    def _put_monolithic(self, location: str, source: BlobSource, digest: str, size: int,
                        scope: str) -> None:
        def body() -> Iterator[bytes] | bytes:
            if isinstance(source, bytes | bytearray):
                return bytes(source)
            return self._file_chunks(source, digest, size)
        url = _with_digest(location, digest)
        self._send("PUT", url, scope=scope, content=body,  # type: ignore[arg-type]
                   headers={"Content-Type": "application/octet-stream",
                            "Content-Length": str(size)}, ok=(201,), allow=(200, 204))
        if isinstance(source, bytes | bytearray):
            self._report("push", digest, size, size)

    def _file_chunks(self, path: Path, digest: str, size: int) -> Iterator[bytes]:
        done = 0
        with open(path, "rb") as handle:
            while block := handle.read(_IO_CHUNK):
                done += len(block)
                self._report("push", digest, done, size)
                yield block

    def _put_chunked(self, location: str, source: BlobSource, digest: str, size: int,
                     chunk: int, scope: str) -> None:
        offset = 0
        while offset < size:
            length = min(chunk, size - offset)
            data = _read_range(source, offset, length)
            response = self._send(
                "PATCH", location, scope=scope, content=data, ok=(202,),
                allow=(201, 204, 416),  # ECR answers 201 to PATCH
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + length - 1}",
                         "Content-Length": str(length)})
            location = response.headers.get("location", location)
            if response.status_code == 416:  # out of order: ask where the session is (end-13)
                status = self._send("GET", location, scope=scope, ok=(204,), allow=(200,))
                location = status.headers.get("location", location)
                offset = _range_end(status.headers.get("range")) + 1
                continue
            offset += length
            self._report("push", digest, offset, size)
        self._send("PUT", _with_digest(location, digest), scope=scope,
                   headers={"Content-Length": "0"}, ok=(201,), allow=(200, 204))

    def pull_blob(self, repository: str, digest: str, dest: Path | None = None) -> bytes | Path:
        """Download a blob (end-2), verifying its digest; to ``dest`` atomically, or as bytes.

        A connection dropped mid-body is resumed with ``Range: bytes=<done>-``
        (up to ``retries`` times) when the registry answers 206.
        """
        parsed = parse_digest(digest)
        path = f"/v2/{validate_name(repository)}/blobs/{digest}"
        hasher = hashlib.new(parsed.algorithm)
        parts: list[bytes] = []
        handle = None
        tmp_path = None
        if dest is not None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
            tmp_path = Path(name)
            handle = os.fdopen(fd, "wb")
        done, total, interruptions = 0, 0, 0
        try:
            while True:
                headers = {"Range": f"bytes={done}-"} if done else None
                response = self._send("GET", path, scope=_scope(repository, "pull"), stream=True,
                                      headers=headers, ok=(200, 206))
                if done and response.status_code != 206:
                    response.close()
                    raise RegistryUnreachable(f"download of {digest} was interrupted and "
                                              f"{self.host} cannot resume it (no Range support)")
                if not done:
                    total = int(response.headers.get("content-length", 0) or 0)
                try:
                    for block in response.iter_bytes():  # as received: resume loses nothing
                        hasher.update(block)
                        if handle is not None:
                            handle.write(block)
                        else:
                            parts.append(block)
                        done += len(block)
                        self._report("pull", digest, done, total)
                    break
                except httpx.TransportError as error:
                    interruptions += 1
                    if interruptions > self._retries:
                        raise RegistryUnreachable(f"download of {digest} interrupted: {error}") from None
                    self._sleep(interruptions - 1, None)
                finally:
                    response.close()
            if handle is not None:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                handle = None
            if hasher.hexdigest() != parsed.hex:
                raise DigestMismatch(f"blob from {self.host}/{repository} does not match {digest}")
        except BaseException:
            if handle is not None:
                handle.close()
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
            raise
        if dest is None:
            return b"".join(parts)
        assert tmp_path is not None
        os.replace(tmp_path, dest)
        return dest

    def push_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT a manifest or index (end-7) by tag or digest; returns its digest.

        A manifest with a ``subject`` pushed to a registry that does not answer
        ``OCI-Subject`` (no referrers API, e.g. distribution 2.8) is also added
        to the fallback index tagged ``sha256-<subject hex>`` (distribution-spec
        "Pushing Manifests with Subject").
        """
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        response = self._send("PUT", f"/v2/{validate_name(repository)}/manifests/{reference}",
                              scope=_scope(repository, "pull,push"), content=data,
                              headers={"Content-Type": media_type}, ok=(201,), allow=(200, 202))
        returned = response.headers.get("docker-content-digest")
        if returned and returned != digest:
            raise DigestMismatch(f"registry stored the manifest as {returned}, expected {digest}")
        if "oci-subject" not in response.headers:
            try:
                manifest = parse_manifest(data, media_type)
            except ManifestParseError:
                manifest = None
            if manifest is not None and manifest.subject is not None:
                self._add_to_fallback_index(repository, manifest.subject.digest, _referrer_descriptor(
                    manifest, digest, media_type, len(data)))
        return digest

    def _add_to_fallback_index(self, repository: str, subject: str, entry: dict[str, Any]) -> None:
        tag = _fallback_tag(subject)
        try:
            index = json.loads(self.get_manifest(repository, tag).data)
        except RegistryApiError as error:
            if error.status != 404:
                raise
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        if any(m.get("digest") == entry["digest"] for m in index.get("manifests", [])):
            return
        index["manifests"] = index.get("manifests", []) + [entry]
        self.push_manifest(repository, tag, json.dumps(index).encode(), OCI_INDEX)

    def get_manifest(self, repository: str, reference: str) -> ManifestResponse:
        """GET a manifest (end-3) exactly as stored, verified against a digest reference."""
        response = self._send("GET", f"/v2/{validate_name(repository)}/manifests/{reference}",
                              scope=_scope(repository, "pull"), headers={"Accept": MANIFEST_ACCEPT})
        data = response.content
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise DigestMismatch(f"manifest {reference} from {self.host} hashes to {digest}")
        media_type = response.headers.get("content-type", "").split(";")[0]
        return ManifestResponse(data, media_type, digest)

    def manifest_exists(self, repository: str, reference: str) -> str | None:
        """Digest of the manifest if it exists (HEAD end-3), else None."""
        response = self._send("HEAD", f"/v2/{validate_name(repository)}/manifests/{reference}",
                              scope=_scope(repository, "pull"), headers={"Accept": MANIFEST_ACCEPT},
                              allow=(404,))
        if response.status_code == 404:
            return None
        return response.headers.get("docker-content-digest") or reference

    def delete_manifest(self, repository: str, reference: str) -> None:
        self._send("DELETE", f"/v2/{validate_name(repository)}/manifests/{reference}",
                   scope=_scope(repository, "delete"), ok=(202,), allow=(200, 204))

    def delete_blob(self, repository: str, digest: str) -> None:
        self._send("DELETE", f"/v2/{validate_name(repository)}/blobs/{digest}",
                   scope=_scope(repository, "delete"), ok=(202,), allow=(200, 204))

    def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        """All tags (end-8), following ``Link: rel="next"`` pages."""
        tags: set[str] = set()
        url: str | None = f"/v2/{validate_name(repository)}/tags/list"
        if page_size:
            url += f"?n={page_size}"
        while url:
            response = self._send("GET", url, scope=_scope(repository, "pull"))
            page = set(response.json().get("tags") or [])
            if not page - tags:  # a server that ignores `last` would loop forever
                break
            tags |= page
            url = _next_link(response)
        # distribution 2.8 pages in storage order, not lexically: sort here.
        return sorted(tags)

    def referrers(self, repository: str, digest: str,
                  artifact_type: str | None = None) -> list[dict[str, Any]]:
        """Descriptors of manifests whose subject is ``digest`` (end-12).

        Registries without the referrers API (404) are read through the
        fallback tag ``sha256-<hex>``; the artifactType filter is applied here
        when the registry did not apply it (no ``OCI-Filters-Applied``).
        """
        params = {"artifactType": artifact_type} if artifact_type else None
        try:
            response = self._send("GET", f"/v2/{validate_name(repository)}/referrers/{digest}",
                                  scope=_scope(repository, "pull"), params=params)
            manifests = response.json().get("manifests") or []
            filtered = "artifactType" in response.headers.get("oci-filters-applied", "")
        except RegistryApiError as error:
            if error.status != 404:
                raise
            try:
                manifests = json.loads(self.get_manifest(repository, _fallback_tag(digest)).data).get("manifests") or []
            except RegistryApiError as fallback_error:
                if fallback_error.status != 404:
                    raise
                manifests = []
            filtered = False
        if artifact_type and not filtered:
            manifests = [m for m in manifests if m.get("artifactType") == artifact_type]
        return manifests


def _fallback_tag(digest: str) -> str:
    parsed = parse_digest(digest)
    return f"{parsed.algorithm}-{parsed.hex}"


def _referrer_descriptor(manifest: Manifest, digest: str, media_type: str, size: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if manifest.effective_artifact_type:
        entry["artifactType"] = manifest.effective_artifact_type
    if manifest.annotations:
        entry["annotations"] = manifest.annotations
    return entry


def _scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


def _with_digest(location: str, digest: str) -> str:
    url = httpx.URL(location)
    return str(url.copy_merge_params({"digest": digest}))


def _range_end(header: str | None) -> int:
    if not header:
        return -1
    match = re.match(r"^(?:bytes=)?[0-9]+-([0-9]+)$", header.strip())
    if not match:
        raise RegistryError(f"registry sent a malformed Range header {header!r}")
    return int(match.group(1))


def _next_link(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    if not link:
        return None
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    return match.group(1) if match else None
