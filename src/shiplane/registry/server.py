"""The OCI Distribution v1.1 server: an explicit route table over a :class:`Storage`.

``build_app(storage, auth=..., settings=...)`` returns a Starlette app; nothing
global. Each handler validates names first (NAME_INVALID), authorizes the
endpoint's ECR action (``policy.ENDPOINT_ACTIONS``), then talks to storage.
Errors are :class:`RegistryApiError` rendered as the spec's error body.

Endpoint IDs (distribution-spec "Endpoints" table) are noted on each route.
Bodies are streamed: uploads are hashed and written chunk by chunk, blobs are
served in 1 MiB reads, so memory stays flat whatever the blob size.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from shiplane.registry.errors import (
    DigestMismatch,
    ManifestParseError,
    ReferenceInvalid,
    RegistryApiError,
)
from shiplane.registry.manifest import OCI_INDEX, Manifest, parse_manifest
from shiplane.registry.ranges import paginate, parse_byte_range, parse_content_range
from shiplane.registry.reference import is_valid_name, is_valid_tag, parse_digest
from shiplane.registry.storage import Storage

__all__ = ["Authorizer", "ServerSettings", "build_app"]

MiB = 1 << 20
_READ_CHUNK = MiB
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}


class Authorizer(Protocol):
    """The auth seam (``auth.TokenAuth`` and ``auth.BasicAuth`` implement it)."""

    def authorize(self, request: Request, repository: str | None, endpoint: str) -> None:
        """Raise RegistryApiError(UNAUTHORIZED/DENIED) unless the request may do ``endpoint``."""

    def allows(self, request: Request, repository: str, endpoint: str) -> bool:
        """Like authorize, as a yes/no (used for the mount source)."""

    def routes(self) -> list[BaseRoute]:
        """Extra routes (the token endpoint)."""


@dataclass(frozen=True)
class ServerSettings:
    max_manifest_bytes: int = 4 * MiB
    max_blob_bytes: int | None = None
    chunk_min_length: int | None = None
    delete_enabled: bool = True
    # ECR IMMUTABLE: repositories whose tags may never move once set.
    tag_immutable: Callable[[str], bool] = lambda repository: False


def _error(code: str, message: str, *, status: int | None = None, detail: Any = None,
           headers: dict[str, str] | None = None) -> RegistryApiError:
    return RegistryApiError(code, message, status=status, detail=detail, headers=headers)


def _render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryApiError)
    headers = {**API_VERSION, **exc.headers}
    if request.method == "HEAD":
        return Response(status_code=exc.status, headers=headers)
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _name(request: Request) -> str:
    name = request.path_params["name"]
    if not is_valid_name(name):
        raise _error("NAME_INVALID", f"invalid repository name {name!r}", detail={"name": name})
    return name


def _digest_param(text: str | None, what: str = "digest") -> str:
    if not text:
        raise _error("DIGEST_INVALID", f"{what} is missing")
    try:
        parse_digest(text)
    except ReferenceInvalid:
        raise _error("DIGEST_INVALID", f"invalid {what} {text!r}", detail={"digest": text}) from None
    return text


class _Registry:
    """Handlers bound to one storage/auth/settings; ``routes`` is the table."""

    def __init__(self, storage: Storage, auth: Authorizer | None, settings: ServerSettings) -> None:
        self.storage = storage
        self.auth = auth
        self.settings = settings

    def _authorize(self, request: Request, repository: str | None, endpoint: str) -> None:
        if self.auth is not None:
            self.auth.authorize(request, repository, endpoint)

    # ---- end-1 ------------------------------------------------------------------------
    async def base(self, request: Request) -> Response:
        self._authorize(request, None, "base")
        return JSONResponse({}, headers=API_VERSION)

    async def catalog(self, request: Request) -> Response:
        self._authorize(request, None, "catalog")
        names = self.storage.repositories()
        page, link = _paginate(names, request, "/v2/_catalog")
        return JSONResponse({"repositories": page}, headers=link)

    # ---- blobs: end-2, end-10 ---------------------------------------------------------
    def _linked_blob(self, name: str, digest: str) -> int:
        if not self.storage.repo_has_blob(name, digest):
            raise _error("BLOB_UNKNOWN", f"blob {digest} is not in repository {name}",
                         detail={"digest": digest})
        stat = self.storage.blob_stat(digest)
        if stat is None:
            raise _error("BLOB_UNKNOWN", f"blob {digest} is unknown", detail={"digest": digest})
        return stat.size

    async def blob_get(self, request: Request) -> Response:
        name = _name(request)
        digest = _digest_param(request.path_params["digest"])
        head = request.method == "HEAD"
        self._authorize(request, name, "blob.head" if head else "blob.get")
        size = self._linked_blob(name, digest)
        headers = {"Docker-Content-Digest": digest, "Content-Type": "application/octet-stream",
                   "Accept-Ranges": "bytes"}
        if head:
            # A client that sees the blob will skip uploading it: keep it out of GC's reach.
            self.storage.touch_blob(digest)
            return Response(status_code=200, headers={**headers, "Content-Length": str(size)})
        start, end, status = 0, size - 1, 200
        range_header = request.headers.get("range")
        if range_header:
            satisfiable = parse_byte_range(range_header, size)
            if satisfiable is None:
                raise _error("BLOB_UNKNOWN", f"unsatisfiable Range {range_header!r}", status=416,
                             headers={"Content-Range": f"bytes */{size}"})
            start, end = satisfiable
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        return StreamingResponse(self._blob_stream(digest, start, end), status_code=status,
                                 headers=headers)

    async def _blob_stream(self, digest: str, start: int, end: int) -> AsyncIterator[bytes]:
        handle = self.storage.open_blob(digest)
        try:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                block = handle.read(min(_READ_CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block
        finally:
            handle.close()

    async def blob_delete(self, request: Request) -> Response:
        name = _name(request)
        digest = _digest_param(request.path_params["digest"])
        self._authorize(request, name, "blob.delete")
        if not self.settings.delete_enabled:
            raise _error("UNSUPPORTED", "deletion is disabled on this registry")
        self._linked_blob(name, digest)
        self.storage.unlink_blob(name, digest)  # bytes go when GC finds them unreferenced
        return Response(status_code=202, headers={"Docker-Content-Digest": digest})

    # ---- uploads: end-4a/b, end-5, end-6, end-11, end-13 ------------------------------
    def _upload_headers(self, name: str, upload_id: str, size: int) -> dict[str, str]:
        return {"Location": f"/v2/{name}/blobs/uploads/{upload_id}",
                "Range": f"0-{max(size - 1, 0)}", "Docker-Upload-UUID": upload_id}

    async def upload_start(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "upload.start")
        params = request.query_params
        mount, source = params.get("mount"), params.get("from")
        if mount:
            digest = _digest_param(mount, "mount digest")
            if (source and is_valid_name(source) and self.storage.repo_has_blob(source, digest)
                    and (self.auth is None or self.auth.allows(request, source, "blob.get"))):
                self.storage.link_blob(name, digest)
                self.storage.touch_blob(digest)
                return Response(status_code=201, headers={
                    "Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest,
                    "Content-Length": "0"})
            # Not mountable: open an ordinary session (202), as the spec allows.
        info = self.storage.start_upload(name)
        digest_param = params.get("digest")
        if digest_param is not None:  # end-4b single-POST monolithic upload
            try:
                digest = _digest_param(digest_param)
                await self._receive(request, info.id, 0)
                return await self._complete(name, info.id, digest)
            except RegistryApiError:
                self.storage.cancel_upload(info.id)  # a refused single-POST leaves nothing behind
                raise
        headers = self._upload_headers(name, info.id, 0)
        if self.settings.chunk_min_length:
            headers["OCI-Chunk-Min-Length"] = str(self.settings.chunk_min_length)
        return Response(status_code=202, headers=headers)

    def _session(self, request: Request, name: str) -> str:
        upload_id = request.path_params["uuid"]
        info = self.storage.upload_info(upload_id)
        if info is None or info.repository != name:
            raise _error("BLOB_UPLOAD_UNKNOWN", f"upload {upload_id} is unknown",
                         detail={"uuid": upload_id})
        return upload_id

    async def _receive(self, request: Request, upload_id: str, offset: int) -> int:
        """Stream the request body into the session; returns the session size."""
        expected = request.headers.get("content-length")
        received = 0
        size = offset
        limit = self.settings.max_blob_bytes
        append = self.storage.append_upload
        try:
            async for chunk in request.stream():
                if chunk:
                    received += len(chunk)
                    if limit is not None and size + len(chunk) > limit:
                        self.storage.cancel_upload(upload_id)
                        raise _error("SIZE_INVALID", f"blob exceeds the {limit}-byte limit", status=413)
                    size = append(upload_id, chunk)
        except ClientDisconnect:
            # What arrived stays in the session: the client resumes from end-13's Range.
            raise _error("BLOB_UPLOAD_INVALID", "client disconnected during the upload") from None
        if expected is not None and expected.isdigit() and int(expected) != received:
            raise _error("SIZE_INVALID",
                         f"received {received} bytes but Content-Length said {expected}")
        return size

    async def upload_patch(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "upload.patch")
        upload_id = self._session(request, name)
        info = self.storage.upload_info(upload_id)
        assert info is not None
        content_range = request.headers.get("content-range")
        if content_range:
            parsed = parse_content_range(content_range)
            if parsed is None:
                raise _error("BLOB_UPLOAD_INVALID", f"malformed Content-Range {content_range!r}")
            start, end = parsed
            if start != info.size:
                # Out of order: the client recovers through the status endpoint (end-13).
                raise _error("BLOB_UPLOAD_INVALID",
                             f"chunk {start}-{end} does not follow the {info.size} bytes received",
                             status=416, headers=self._upload_headers(name, upload_id, info.size))
            size = await self._receive(request, upload_id, info.size)
            if size != end + 1:
                raise _error("BLOB_UPLOAD_INVALID",
                             f"Content-Range {content_range} but {size - start} bytes received",
                             status=416, headers=self._upload_headers(name, upload_id, size))
        else:  # streamed PATCH (go-containerregistry, docker)
            size = await self._receive(request, upload_id, info.size)
        return Response(status_code=202, headers=self._upload_headers(name, upload_id, size))

    async def upload_put(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "upload.complete")
        upload_id = self._session(request, name)
        digest = _digest_param(request.query_params.get("digest"))
        info = self.storage.upload_info(upload_id)
        assert info is not None
        content_range = request.headers.get("content-range")
        if content_range:
            parsed = parse_content_range(content_range)
            if parsed is None or parsed[0] != info.size:
                raise _error("BLOB_UPLOAD_INVALID", f"Content-Range {content_range!r} out of order",
                             status=416, headers=self._upload_headers(name, upload_id, info.size))
        await self._receive(request, upload_id, info.size)
        return await self._complete(name, upload_id, digest)

    async def _complete(self, name: str, upload_id: str, digest: str) -> Response:
        try:
            await anyio.to_thread.run_sync(self.storage.commit_upload, upload_id, digest)
        except DigestMismatch as error:
            self.storage.cancel_upload(upload_id)  # nothing of a bad upload is kept
            raise _error("DIGEST_INVALID", error.message, detail={"digest": digest}) from None
        self.storage.link_blob(name, digest)
        return Response(status_code=201, headers={
            "Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest,
            "Content-Length": "0"})

    async def upload_status(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "upload.status")
        upload_id = self._session(request, name)
        info = self.storage.upload_info(upload_id)
        assert info is not None
        return Response(status_code=204, headers=self._upload_headers(name, upload_id, info.size))

    async def upload_cancel(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "upload.cancel")
        upload_id = self._session(request, name)
        self.storage.cancel_upload(upload_id)
        return Response(status_code=204)

    # ---- manifests: end-3, end-7, end-9 -----------------------------------------------
    def _resolve(self, name: str, reference: str) -> str:
        if ":" in reference:
            digest = _digest_param(reference)
        else:
            if not is_valid_tag(reference):
                raise _error("MANIFEST_UNKNOWN", f"invalid tag {reference!r}",
                             detail={"tag": reference})
            tagged = self.storage.tag(name, reference)
            if tagged is None:
                raise _error("MANIFEST_UNKNOWN", f"tag {reference} is unknown in {name}",
                             detail={"tag": reference})
            digest = tagged
        return digest

    async def manifest_get(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "manifest.get")
        digest = self._resolve(name, request.path_params["reference"])
        record = self.storage.manifest(name, digest)
        if record is None:
            raise _error("MANIFEST_UNKNOWN", f"manifest {digest} is unknown in {name}",
                         detail={"digest": digest})
        headers = {"Docker-Content-Digest": digest, "Content-Type": record.media_type,
                   "Content-Length": str(record.size)}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        return Response(self.storage.read_blob(digest), status_code=200, headers=headers)

    async def _read_limited(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        too_big = _error("SIZE_INVALID", f"manifest is larger than {limit} bytes", status=413,
                         detail={"limit": limit})
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_big
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_big
        return bytes(body)

    async def manifest_put(self, request: Request) -> Response:
        name = _name(request)
        reference = request.path_params["reference"]
        self._authorize(request, name, "manifest.put")
        tag = None
        if ":" in reference:
            _digest_param(reference)
        elif not is_valid_tag(reference):
            raise _error("MANIFEST_INVALID", f"invalid tag {reference!r}", detail={"tag": reference})
        else:
            tag = reference
        data = await self._read_limited(request, self.settings.max_manifest_bytes)
        content_type = request.headers.get("content-type")
        try:
            manifest = parse_manifest(data, content_type)
        except ManifestParseError as error:
            raise _error("MANIFEST_INVALID", error.message) from None
        algorithm = parse_digest(reference).algorithm if tag is None else "sha256"
        digest = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
        if tag is None and digest != reference:
            raise _error("DIGEST_INVALID", f"manifest hashes to {digest}, not {reference}",
                         detail={"digest": reference})
        with self.storage.lock:  # GC must not sweep between the check and the store
            self._check_references(name, manifest)
            if tag is not None and self.settings.tag_immutable(name):
                current = self.storage.tag(name, tag)
                if current is not None and current != digest:
                    raise _error("DENIED", f"tag {tag} already exists in {name} and the "
                                 "repository's tags are immutable", detail={"tag": tag,
                                                                           "digest": current})
            self.storage.put_manifest(name, digest, manifest.media_type, data)
            if tag is not None:
                self.storage.set_tag(name, tag, digest)
            if manifest.subject is not None:
                self.storage.add_referrer(name, manifest.subject.digest, digest)
        headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest,
                   "Content-Length": "0"}
        if manifest.subject is not None:
            headers["OCI-Subject"] = manifest.subject.digest
        return Response(status_code=201, headers=headers)

    def _check_references(self, name: str, manifest: Manifest) -> None:
        missing = [d.digest for d in manifest.blobs if not self.storage.repo_has_blob(name, d.digest)]
        missing += [d.digest for d in manifest.manifests if self.storage.manifest(name, d.digest) is None]
        if missing:
            raise _error("MANIFEST_BLOB_UNKNOWN",
                         f"manifest references {len(missing)} unknown blob(s): {', '.join(missing)}",
                         detail={"digests": missing})

    async def manifest_delete(self, request: Request) -> Response:
        name = _name(request)
        reference = request.path_params["reference"]
        self._authorize(request, name, "manifest.delete")
        if not self.settings.delete_enabled:
            raise _error("UNSUPPORTED", "deletion is disabled on this registry")
        with self.storage.lock:
            if ":" not in reference:  # v1.1: DELETE by tag removes the tag only
                self._resolve(name, reference)
                self.storage.delete_tag(name, reference)
                return Response(status_code=202)
            digest = _digest_param(reference)
            if self.storage.manifest(name, digest) is None:
                raise _error("MANIFEST_UNKNOWN", f"manifest {digest} is unknown in {name}",
                             detail={"digest": digest})
            self.storage.delete_manifest(name, digest)
        return Response(status_code=202)

    # ---- discovery: end-8a/b, end-12a/b -----------------------------------------------
    def _repository_exists(self, name: str) -> bool:
        return bool(self.storage.manifests(name) or self.storage.tags(name))

    async def tags_list(self, request: Request) -> Response:
        name = _name(request)
        self._authorize(request, name, "tags.list")
        if not self._repository_exists(name):
            raise _error("NAME_UNKNOWN", f"repository {name} is unknown", detail={"name": name})
        tags = sorted(self.storage.tags(name))
        page, link = _paginate(tags, request, f"/v2/{name}/tags/list")
        return JSONResponse({"name": name, "tags": page}, headers=link)

    async def referrers_list(self, request: Request) -> Response:
        name = _name(request)
        subject = _digest_param(request.path_params["digest"])
        self._authorize(request, name, "referrers.list")
        wanted = request.query_params.get("artifactType")
        descriptors = []
        for digest in self.storage.referrers(name, subject):
            record = self.storage.manifest(name, digest)
            if record is None:
                continue
            try:
                manifest = parse_manifest(self.storage.read_blob(digest), record.media_type)
            except (ManifestParseError, KeyError):
                continue
            artifact_type = manifest.effective_artifact_type
            if wanted and artifact_type != wanted:
                continue
            entry: dict[str, Any] = {"mediaType": record.media_type, "digest": digest,
                                     "size": record.size}
            if artifact_type:
                entry["artifactType"] = artifact_type
            if manifest.annotations:
                entry["annotations"] = manifest.annotations
            descriptors.append(entry)
        headers = {"Content-Type": OCI_INDEX}
        if wanted:
            headers["OCI-Filters-Applied"] = "artifactType"
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
        return JSONResponse(body, headers=headers, media_type=OCI_INDEX)

    def routes(self) -> list[BaseRoute]:
        """The route table; order matters (uploads before blobs)."""
        return [
            Route("/v2/", self.base, methods=["GET"]),                                  # end-1
            Route("/v2/_catalog", self.catalog, methods=["GET"]),
            Route("/v2/{name:path}/blobs/uploads/", self.upload_start, methods=["POST"]),  # end-4a/b, end-11
            Route("/v2/{name:path}/blobs/uploads", self.upload_start, methods=["POST"]),
            Route("/v2/{name:path}/blobs/uploads/{uuid}", self.upload_patch, methods=["PATCH"]),  # end-5
            Route("/v2/{name:path}/blobs/uploads/{uuid}", self.upload_put, methods=["PUT"]),      # end-6
            Route("/v2/{name:path}/blobs/uploads/{uuid}", self.upload_status, methods=["GET"]),   # end-13
            Route("/v2/{name:path}/blobs/uploads/{uuid}", self.upload_cancel, methods=["DELETE"]),
            Route("/v2/{name:path}/blobs/{digest}", self.blob_get, methods=["GET", "HEAD"]),     # end-2
            Route("/v2/{name:path}/blobs/{digest}", self.blob_delete, methods=["DELETE"]),       # end-10
            Route("/v2/{name:path}/manifests/{reference}", self.manifest_get, methods=["GET", "HEAD"]),  # end-3
            Route("/v2/{name:path}/manifests/{reference}", self.manifest_put, methods=["PUT"]),          # end-7
            Route("/v2/{name:path}/manifests/{reference}", self.manifest_delete, methods=["DELETE"]),    # end-9
            Route("/v2/{name:path}/tags/list", self.tags_list, methods=["GET"]),                 # end-8a/b
            Route("/v2/{name:path}/referrers/{digest}", self.referrers_list, methods=["GET"]),   # end-12a/b
        ]


def _paginate(items: list[str], request: Request, path: str) -> tuple[list[str], dict[str, str]]:
    """``n``/``last`` pagination with a ``Link: <…>; rel="next"`` header (end-8b)."""
    n_text = request.query_params.get("n")
    if n_text is not None and not n_text.isdigit():
        raise _error("UNSUPPORTED", f"n must be a non-negative integer, not {n_text!r}", status=400)
    page, next_last = paginate(items, n=int(n_text) if n_text is not None else None,
                               last=request.query_params.get("last"))
    if next_last is None:
        return page, {}
    return page, {"Link": f'<{path}?n={n_text}&last={next_last}>; rel="next"'}


def build_app(storage: Storage, *, auth: Authorizer | None = None,
              settings: ServerSettings | None = None) -> Starlette:
    """The registry as an ASGI app; ``auth=None`` means an open registry."""
    registry = _Registry(storage, auth, settings or ServerSettings())
    routes = registry.routes() + (auth.routes() if auth is not None else [])
    app = Starlette(routes=routes, exception_handlers={RegistryApiError: _render_error})
    app.router.redirect_slashes = False
    app.state.registry = registry
    return app

