"""The Kubernetes HTTP API as an explicit Starlette route table over :class:`ApiBackend`.

Routes: ``/version``, health, discovery (legacy and aggregated), and two resource
routes (``/api/v1/...``, ``/apis/{group}/{version}/...``) whose paths
:mod:`.requestinfo` resolves. Handlers only translate HTTP ↔ backend calls;
every ``ApiError`` becomes an upstream ``Status`` body with its code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from shiplane.cluster.apiserver import discovery
from shiplane.cluster.apiserver.backend import ApiBackend, DeleteOptions
from shiplane.cluster.apiserver.crds import served_object
from shiplane.cluster.apiserver.encoding import (
    check_body_size,
    decode_body,
    encode_list,
    encode_table,
    wants_table,
)
from shiplane.cluster.apiserver.authz import StoredRBAC, answer_review
from shiplane.cluster.apiserver.eviction import evict
from shiplane.cluster.apiserver.metrics import METRICS_PREFIX, MetricsStore, metrics_endpoint
from shiplane.cluster.apiserver.patches import PATCH_TYPES
from shiplane.cluster.apiserver.podlogs import pod_log
from shiplane.cluster.apiserver.podstreams import pod_stream_request, serve_pod_stream
from shiplane.cluster.apiserver.requestinfo import PathNotFound, RequestInfo, resolve
from shiplane.cluster.apiserver.selectors import parse_field_selector, parse_label_selector
from shiplane.cluster.apiserver.watch import WatchHub, WatchRequest
from shiplane.cluster.apiserver.writes import (
    APPLY_PATCH,
    Unprocessable,
    checked_body,
    field_manager,
    warned,
)
from shiplane.cluster.auth import AuthMiddleware, Authenticators, ServiceAccountTokens
from shiplane.cluster.network.port_forward import serve_port_forward
from shiplane.cluster.openapi import OpenAPIService, ResourceEntry, openapi_routes
from shiplane.cluster.resources.registry import ResourceType
from shiplane.cluster.store.errors import (
    ApiError,
    BadRequest,
    MethodNotAllowed,
    TooLargeResourceVersion,
    UnsupportedMediaType,
)
from shiplane.cluster.store.model import StoredObject, encode

__all__ = ["build_app"]

log = logging.getLogger("shiplane.cluster.apiserver")
JSON = "application/json"
DEFAULT_WATCH_TIMEOUT = 1800.0
DEFAULT_BOOKMARK_INTERVAL = 30.0


def _json(body: str | dict[str, Any], status: int = 200, media: str = JSON) -> Response:
    text = body if isinstance(body, str) else encode(body)
    return Response(text, status_code=status, media_type=media)


def _status_response(error: ApiError) -> Response:
    return _json(error.status(), error.code)


def _dry_run(request: Request) -> bool:
    return "All" in request.query_params.getlist("dryRun")


def _success(rt: ResourceType, stored: StoredObject) -> dict[str, Any]:
    meta = stored.obj.get("metadata") or {}
    details = {"name": meta.get("name", ""), "kind": rt.plural, "uid": meta.get("uid", "")}
    if rt.group:
        details["group"] = rt.group
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


class _Handlers:
    def __init__(self, backend: ApiBackend, hub: WatchHub, bookmark_interval: float) -> None:
        self.backend = backend
        self.hub = hub
        self.bookmark_interval = bookmark_interval
        self.registry = backend.registry
        self.rbac = StoredRBAC(backend)
        self.auth_enabled = False
        self.service_accounts: ServiceAccountTokens | None = None

    # -- discovery -----------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        return _json(discovery.version_info())

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def api_root(self, request: Request) -> Response:
        if discovery.wants_aggregated(request.headers.get("accept", "")):
            return _json(
                discovery.aggregated_discovery(self.registry, core=True),
                media=discovery.AGGREGATED_CONTENT_TYPE,
            )
        host = request.headers.get("host", "127.0.0.1")
        return _json(discovery.api_versions(host))

    async def apis_root(self, request: Request) -> Response:
        if discovery.wants_aggregated(request.headers.get("accept", "")):
            return _json(
                discovery.aggregated_discovery(self.registry, core=False),
                media=discovery.AGGREGATED_CONTENT_TYPE,
            )
        return _json(discovery.api_group_list(self.registry))

    async def core_resources(self, request: Request) -> Response:
        return _json(discovery.api_resource_list(self.registry, "", "v1"))

    async def group_resources(self, request: Request) -> Response:
        group, version = request.path_params["group"], request.path_params["version"]
        if not self.registry.in_group_version(group, version):
            return _status_response(PathNotFound())
        return _json(discovery.api_resource_list(self.registry, group, version))

    async def group_info(self, request: Request) -> Response:
        group = request.path_params["group"]
        for entry in discovery.api_group_list(self.registry)["groups"]:
            if entry["name"] == group:
                return _json({"kind": "APIGroup", "apiVersion": "v1", **entry})
        return _status_response(PathNotFound())

    # -- resources -----------------------------------------------------------------------

    async def core(self, request: Request) -> Response:
        return await self._resource(request, "", "v1", request.path_params["path"])

    async def grouped(self, request: Request) -> Response:
        params = request.path_params
        return await self._resource(request, params["group"], params["version"], params["path"])

    async def _resource(self, request: Request, group: str, version: str, path: str) -> Response:
        try:
            info = resolve(self.registry, group, version, path)
            return await self._dispatch(request, info)
        except ApiError as error:
            return _status_response(error)

    async def _raw(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length and length.isdigit():
            check_body_size(int(length))
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            check_body_size(len(raw))
        return raw

    async def _body(self, request: Request, *, allowed: tuple[str, ...] = ()) -> Any:
        raw = await self._raw(request)
        return decode_body(raw, request.headers.get("content-type", JSON), allowed=allowed)

    async def _checked(self, request: Request, rt: ResourceType, *, allowed: tuple[str, ...] = (),
                       patch_type: str | None = None) -> tuple[Any, list[str]]:
        raw = await self._raw(request)
        return checked_body(raw, request.headers.get("content-type", JSON), request.query_params,
                            rt, self.backend.type_of(rt), allowed=allowed, patch_type=patch_type)

    async def _dispatch(self, request: Request, info: RequestInfo) -> Response:
        if info.resource.group == "authorization.k8s.io":
            if request.method != "POST":
                raise MethodNotAllowed()
            user = (request.scope.get("state") or {}).get("user")
            review = answer_review(await self._body(request), info.resource.kind, user,
                                   self.rbac() if self.auth_enabled else None)
            return _json(review, 201)
        if info.name is None:
            return await self._collection(request, info)
        handler = {"scale": self._scale, "binding": self._binding, "eviction": self._eviction,
                   "token": self._token, "log": self._log, "finalize": self._finalize,
                   "exec": self._stream, "attach": self._stream}.get(
            info.subresource or "", self._item
        )
        return await handler(request, info)

    async def _collection(self, request: Request, info: RequestInfo) -> Response:
        """list / watch / create / deletecollection on ``.../<plural>``."""
        method, query, rt = request.method, request.query_params, info.resource
        if method == "GET":
            if info.watch_path or query.get("watch") in ("1", "true", "True"):
                return self._watch(request, info)
            return self._list(request, info)
        if method == "POST" and "create" in rt.verbs:
            manager = field_manager(request, apply=False)
            body, warnings = await self._checked(request, rt)
            stored = self.backend.create(
                rt, info.namespace or "", body, dry_run=_dry_run(request), manager=manager
            )
            return warned(_json(stored.raw, 201), warnings)
        if method == "DELETE" and "deletecollection" in rt.verbs:
            options = DeleteOptions.parse(await self._optional_body(request), dict(query))
            deleted = self.backend.delete_collection(
                rt,
                info.namespace,
                options,
                dry_run=_dry_run(request),
                labels=parse_label_selector(query.get("labelSelector")),
                fields=parse_field_selector(query.get("fieldSelector"), rt.selectable_fields),
            )
            return _json(encode_list(rt, deleted, self.backend.store.resource_version, None))
        raise MethodNotAllowed()

    async def _item(self, request: Request, info: RequestInfo) -> Response:
        """get / update / patch / delete of one object or its ``status``."""
        method, query, rt = request.method, request.query_params, info.resource
        namespace, name = info.namespace or "", info.name or ""
        subresource = "status" if info.subresource == "status" else None
        dry_run = _dry_run(request)
        if method == "GET" and info.watch_path and subresource is None:
            return self._watch(request, info)
        if method == "GET":
            stored = self.backend.get(rt, namespace, name)
            if wants_table(request.headers.get("accept", "")):
                include = query.get("includeObject", "Metadata")
                return _json(encode_table(rt, [stored.obj], include=include, rv=None,
                                         now=self.backend.clock()))
            return _json(stored.raw)
        if method == "PUT" and "update" in rt.verbs:
            manager = field_manager(request, apply=False)
            body, warnings = await self._checked(request, rt)
            stored = self.backend.update(
                rt, namespace, name, body, subresource=subresource, dry_run=dry_run,
                manager=manager,
            )
            return warned(_json(stored.raw), warnings)
        if method == "PATCH" and "patch" in rt.verbs:
            patch_type = self._patch_type(request, apply=True)
            force = query.get("force")
            if patch_type == APPLY_PATCH:
                manager = field_manager(request, apply=True)
                body, warnings = await self._checked(request, rt, patch_type=patch_type)
                stored, created = self.backend.apply(
                    rt, namespace, name, body, manager=manager,
                    force=force in ("true", "1", "True"), subresource=subresource,
                    dry_run=dry_run,
                )
                return warned(_json(stored.raw, 201 if created else 200), warnings)
            if force is not None:
                raise Unprocessable('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                                    "may not be specified for non-apply patch")
            manager = field_manager(request, apply=False)
            body, warnings = await self._checked(request, rt, allowed=PATCH_TYPES,
                                                 patch_type=patch_type)
            stored = self.backend.patch(
                rt, namespace, name, patch_type, body, subresource=subresource, dry_run=dry_run,
                manager=manager,
            )
            return warned(_json(stored.raw), warnings)
        if method == "DELETE" and "delete" in rt.verbs and subresource is None:
            options = DeleteOptions.parse(await self._optional_body(request), dict(query))
            stored, gone = self.backend.delete(rt, namespace, name, options, dry_run=dry_run)
            # Pods come back as the object; other kinds as a Success Status once gone.
            if gone and not rt.graceful_delete:
                return _json(_success(rt, stored))
            return _json(stored.raw)
        raise MethodNotAllowed()

    async def _finalize(self, request: Request, info: RequestInfo) -> Response:
        """``PUT namespaces/<name>/finalize``: the namespace controller's finalizer removal."""
        if request.method != "PUT" or info.resource.group_resource != "namespaces":
            raise MethodNotAllowed()
        stored = self.backend.finalize_namespace(
            info.resource, info.name or "", await self._body(request), dry_run=_dry_run(request)
        )
        return _json(stored.raw)

    async def _scale(self, request: Request, info: RequestInfo) -> Response:
        rt, namespace, name = info.resource, info.namespace or "", info.name or ""
        if request.method == "GET":
            return _json(self.backend.get_scale(rt, namespace, name))
        if request.method == "PUT":
            return _json(
                self.backend.update_scale(
                    rt, namespace, name, await self._body(request), dry_run=_dry_run(request)
                )
            )
        if request.method == "PATCH":
            patch_type = self._patch_type(request)
            body = await self._body(request, allowed=PATCH_TYPES)
            return _json(
                self.backend.update_scale(
                    rt, namespace, name, body, patch_type=patch_type, dry_run=_dry_run(request)
                )
            )
        raise MethodNotAllowed()

    async def _binding(self, request: Request, info: RequestInfo) -> Response:
        if request.method != "POST":
            raise MethodNotAllowed()
        binding = await self._body(request)
        target = binding.get("target") if isinstance(binding, dict) else None
        node = target.get("name") if isinstance(target, dict) else None
        if not node:
            raise BadRequest("binding target name is required")
        meta = binding.get("metadata") if isinstance(binding.get("metadata"), dict) else {}
        annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        return _json(
            self.backend.bind(
                info.resource,
                info.namespace or "",
                info.name or "",
                node,
                dry_run=_dry_run(request),
                annotations={str(k): str(v) for k, v in annotations.items()},
                uid=meta.get("uid") or None,
            ),
            201,
        )

    async def _token(self, request: Request, info: RequestInfo) -> Response:
        """``serviceaccounts/token`` (TokenRequest): a signed, bound ServiceAccount JWT."""
        if request.method != "POST":
            raise MethodNotAllowed()
        if self.service_accounts is None:
            raise MethodNotAllowed()
        account = self.backend.get(info.resource, info.namespace or "", info.name or "")
        body = await self._body(request)
        spec = (body.get("spec") if isinstance(body, dict) else None) or {}
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise Unprocessable(f'TokenRequest.authentication.k8s.io "{info.name}" is invalid: '
                                f"spec.expirationSeconds: Invalid value: {seconds}: may not specify "
                                "a duration less than 10 minutes")
        now = self.backend.clock()
        token = self.service_accounts.issue(
            info.namespace or "", info.name or "", account.obj["metadata"].get("uid", ""),
            now=now, expiration_seconds=seconds,
            audiences=tuple(spec.get("audiences") or ()) or None,
        )
        expires = datetime.fromtimestamp(now.timestamp() + seconds, timezone.utc)
        return _json({
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": info.name, "namespace": info.namespace,
                         "creationTimestamp": None},
            "spec": {**spec, "expirationSeconds": seconds},
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }, 201)

    async def port_forward(self, websocket: WebSocket) -> None:
        """``pods/portforward`` over WebSocket (kubectl 1.30+ tunnels SPDY inside it)."""
        namespace, name = websocket.path_params["namespace"], websocket.path_params["name"]
        pods = self.backend.registry.lookup("", "v1", "pods")
        try:
            pod = self.backend.get(pods, namespace, name).copy()
        except ApiError as exc:
            await websocket.send_denial_response(_status_response(exc))
            return
        await serve_port_forward(websocket, pod)

    async def pod_stream(self, websocket: WebSocket) -> None:
        """``pods/exec`` and ``pods/attach`` over WebSocket, relayed to the kubelet
        (:mod:`.podstreams`)."""
        kind = websocket.url.path.rstrip("/").rsplit("/", 1)[-1]
        await serve_pod_stream(websocket, self.backend, kind)

    async def _stream(self, request: Request, info: RequestInfo) -> Response:
        """``pods/exec`` / ``pods/attach`` without a WebSocket (a SPDY upgrade): the
        kubelet's answer (:mod:`.podstreams`)."""
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowed()
        return await pod_stream_request(self.backend, request.method, info.namespace or "",
                                        info.name or "", info.subresource or "",
                                        list(request.query_params.multi_items()))

    async def _log(self, request: Request, info: RequestInfo) -> Response:
        """``pods/log``: proxied to the pod's kubelet (:mod:`.podlogs`)."""
        if request.method != "GET":
            raise MethodNotAllowed()
        return await pod_log(self.backend, info.namespace or "", info.name or "",
                             request.query_params)

    async def _eviction(self, request: Request, info: RequestInfo) -> Response:
        if request.method != "POST":
            raise MethodNotAllowed()
        body = await self._body(request)
        return _json(
            evict(
                self.backend, info.namespace or "", info.name or "", body, dry_run=_dry_run(request)
            ),
            201,
        )

    def _patch_type(self, request: Request, *, apply: bool = False) -> str:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        accepted = (*PATCH_TYPES, APPLY_PATCH) if apply else PATCH_TYPES
        if media not in accepted:
            raise UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types "
                "include: " + ", ".join(accepted)
            )
        return media

    async def _optional_body(self, request: Request) -> Any:
        raw = await request.body()
        check_body_size(len(raw))
        if not raw.strip():
            return None
        return decode_body(raw, request.headers.get("content-type", JSON))

    def _list(self, request: Request, info: RequestInfo) -> Response:
        query = request.query_params
        rt = info.resource
        limit_text = query.get("limit")
        try:
            limit = int(limit_text) if limit_text else None
        except ValueError:
            raise BadRequest(f"invalid limit {limit_text!r}") from None
        result = self.backend.list(
            rt,
            info.namespace,
            labels=parse_label_selector(query.get("labelSelector")),
            fields=parse_field_selector(query.get("fieldSelector"), rt.selectable_fields),
            limit=limit if limit and limit > 0 else None,
            continue_token=query.get("continue") or None,
        )
        if wants_table(request.headers.get("accept", "")):
            include = query.get("includeObject", "Metadata")
            return _json(
                encode_table(
                    rt,
                    [i.obj for i in result.items],
                    include=include,
                    rv=result.resource_version,
                    continue_token=result.continue_token,
                    now=self.backend.clock(),
                )
            )
        return _json(encode_list(rt, result.items, result.resource_version, result.continue_token))

    def _watch(self, request: Request, info: RequestInfo) -> Response:
        query = request.query_params
        rt = info.resource
        timeout_text = query.get("timeoutSeconds")
        try:
            timeout = float(timeout_text) if timeout_text else DEFAULT_WATCH_TIMEOUT
        except ValueError:
            raise BadRequest(f"invalid timeoutSeconds {timeout_text!r}") from None
        rv_text = query.get("resourceVersion")
        if rv_text not in (None, "", "0"):
            try:
                requested = int(rv_text)
            except ValueError:
                raise BadRequest(f'invalid resource version "{rv_text}"') from None
            if requested > self.backend.store.resource_version:
                raise TooLargeResourceVersion(requested, self.backend.store.resource_version)
        encoder = None
        if wants_table(request.headers.get("accept", "")):
            include = query.get("includeObject", "Metadata")
            first = [True]

            def encoder(stored: StoredObject, _type: str) -> str:
                with_columns, first[0] = first[0], False
                return encode_table(
                    rt, [stored.obj], include=include, rv=None, with_columns=with_columns,
                    now=self.backend.clock(),
                )

        fields = parse_field_selector(query.get("fieldSelector"), rt.selectable_fields)
        if info.name is not None:
            # Legacy /watch/.../NAME: the same as fieldSelector=metadata.name=NAME.
            fields = parse_field_selector(
                ",".join(filter(None, [query.get("fieldSelector"), f"metadata.name={info.name}"])),
                rt.selectable_fields,
            )
        watch = WatchRequest(
            resource=rt.group_resource,
            kind=rt.kind,
            api_version=rt.api_version,
            namespace=info.namespace if rt.namespaced else None,
            labels=parse_label_selector(query.get("labelSelector")),
            fields=fields,
            resource_version=query.get("resourceVersion"),
            timeout_seconds=timeout,
            bookmarks=query.get("allowWatchBookmarks") in ("true", "1"),
            send_initial_events=query.get("sendInitialEvents") in ("true", "1"),
            bookmark_interval=self.bookmark_interval,
            encode_object=encoder,
            convert=lambda stored: served_object(rt, stored),
        )
        return StreamingResponse(self.hub.stream(watch), media_type=JSON)


def build_app(
    backend: ApiBackend,
    *,
    hub: WatchHub | None = None,
    bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL,
    authenticators: Authenticators | None = None,
) -> Starlette:
    """The ASGI app for ``backend``; ``hub`` defaults to a new one on the same store.

    With ``authenticators`` every request is authenticated and RBAC-authorized
    (:class:`AuthMiddleware`); without, everything is allowed (plain-HTTP test servers).

    ``bookmark_interval``: seconds between BOOKMARK events on watches that allow them
    (kube-apiserver sends one about every minute; tests use less).
    """
    hub = hub or WatchHub(backend.store)
    h = _Handlers(backend, hub, bookmark_interval)
    h.auth_enabled = authenticators is not None
    h.service_accounts = authenticators.service_accounts if authenticators else None
    all_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    metrics = MetricsStore()  # kubelet-pushed usage for metrics.k8s.io (kubectl top, HPA)
    openapi = OpenAPIService(backend.catalog, lambda: [
        ResourceEntry(t.group, t.version, t.kind, t.plural, t.namespaced, tuple(t.subresources))
        for t in backend.registry.types if "get" in t.verbs
    ])
    routes = [
        *openapi_routes(openapi),
        Route("/version", h.version),
        Route("/healthz", h.health),
        Route("/livez", h.health),
        Route("/readyz", h.health),
        Route("/api", h.api_root),
        Route("/api/v1", h.core_resources),
        Route("/api/v1/{path:path}", h.core, methods=all_methods),
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/portforward", h.port_forward),
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/exec", h.pod_stream),
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/attach", h.pod_stream),
        Route("/apis", h.apis_root),
        Route("/apis/{group}", h.group_info),
        Route("/apis/{group}/{version}", h.group_resources),
        Route(METRICS_PREFIX + "/{path:path}", metrics_endpoint(metrics, backend),
              methods=["GET", "PUT"]),
        Route("/apis/{group}/{version}/{path:path}", h.grouped, methods=all_methods),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.attach(asyncio.get_running_loop())
        try:
            yield
        finally:
            hub.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        return _status_response(PathNotFound())

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return _status_response(MethodNotAllowed())

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error serving %s %s", request.method, request.url.path)
        return _status_response(ApiError(f"Internal error occurred: {exc}"))

    middleware = []
    if authenticators is not None:
        middleware.append(Middleware(AuthMiddleware, authenticators=authenticators,
                                     authorizer=h.rbac))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={404: not_found, 405: method_not_allowed, Exception: server_error},
    )
    app.state.backend = backend
    app.state.hub = hub
    app.state.metrics = metrics
    return app
