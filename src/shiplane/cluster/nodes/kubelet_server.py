"""The kubelet's HTTP API, one server for every embedded node (k8s pkg/kubelet/server).

Route table: ``GET /containerLogs/{namespace}/{pod}/{container}`` (what the API server's
``pods/log`` proxies to), ``/exec/{namespace}/{pod}/{container}`` and
``/attach/{namespace}/{pod}/{container}`` (``pods/exec`` and ``pods/attach``: a WebSocket
speaking the RemoteCommand channels, :mod:`.container_streams`; a plain HTTP request, what a
SPDY upgrade would be, gets the same checks and then a 400, as SPDY is not served) and
``GET /healthz``. Query parameters are the PodLogOptions the API
server forwards (``follow``, ``previous``, ``tailLines``, ``limitBytes``, ``sinceSeconds``,
``sinceTime``, ``timestamps``). Errors are plain text with the kubelet's wording and status
(400 for a container without the asked log, 404 for an unknown pod or container); the API
server turns them into a ``Status``. Every node's Node object advertises the server's port in
``status.daemonEndpoints.kubeletEndpoint.Port``; it listens on 127.0.0.1 (all embedded nodes
run on this host).

The backend (:class:`PodLogSource`, the node fleet) finds the pod worker and its runtime; the
runtime's :class:`~shiplane.cluster.nodes.runtime.LogReader` yields CRI lines, which
:func:`~shiplane.cluster.decisions.container_log.render` turns into what ``kubectl logs``
prints. ``follow`` polls the log every 100 ms until the instance has exited and its output is
drained. For exec/attach the same backend's ``stream_target`` names the running container (or
refuses in kubelet's words: ``pod does not exist``, ``container not found ("c")``, a simulated
container), and :mod:`.container_streams` serves the WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from shiplane.cluster.decisions.container_log import (
    InvalidLogOptions,
    LogOptions,
    LogUnavailable,
    parse_options,
    parse_record,
    render,
    render_record,
    since_cutoff,
)
from shiplane.cluster.decisions.remote_command import (
    CHANNEL_PROTOCOLS,
    InvalidStreamOptions,
    StreamOptions,
    kubelet_options,
    negotiate,
)
from shiplane.cluster.nodes.container_streams import (
    StreamRefused,
    StreamTarget,
    serve_attach,
    serve_exec,
)
from shiplane.cluster.nodes.runtime import LogReader

__all__ = ["KubeletServer", "PodLogSource", "build_kubelet_app"]

FOLLOW_POLL = 0.1


class PodLogSource(Protocol):
    def log_reader(self, namespace: str, pod: str, container: str, previous: bool
                   ) -> LogReader:
        """The reader of the asked instance; raises LookupError (404) or LogUnavailable."""
        ...

    def stream_target(self, namespace: str, pod: str, container: str, attach_stdin: bool
                      ) -> StreamTarget:
        """The running container to exec in / attach to; raises :class:`StreamRefused`."""
        ...


async def _stream(reader: LogReader, options: LogOptions) -> AsyncIterator[bytes]:
    now = datetime.now(timezone.utc)
    first = render(reader.read_new(), options, now)
    budget = options.limit_bytes
    if first:
        if budget is not None:
            first = first[:budget]
            budget -= len(first)
        yield first
    if not options.follow:
        return
    cutoff = since_cutoff(options, now)
    while budget is None or budget > 0:
        live = reader.live
        lines = reader.read_new()
        chunk = b""
        for line in lines:
            record = parse_record(line)
            if record is not None and (cutoff is None or record.time >= cutoff):
                chunk += render_record(record, options.timestamps)
        if chunk:
            if budget is not None:
                chunk = chunk[:budget]
                budget -= len(chunk)
            yield chunk
        if not live and not lines:
            return
        await asyncio.sleep(FOLLOW_POLL)


def build_kubelet_app(source: PodLogSource) -> Starlette:
    async def container_logs(request: Request) -> Response:
        params = request.path_params
        query = {k: v for k, v in request.query_params.items()}
        try:
            options = parse_options(query)
            reader = source.log_reader(params["namespace"], params["pod"], params["container"],
                                       options.previous)
        except InvalidLogOptions as exc:
            return PlainTextResponse(str(exc), 400)
        except LogUnavailable as exc:
            return PlainTextResponse(str(exc), 400)
        except LookupError as exc:
            return PlainTextResponse(str(exc.args[0] if exc.args else exc), 404)
        return StreamingResponse(_stream(reader, options), media_type="text/plain")

    def _checked(path: dict, query: list[tuple[str, str]], attach: bool
                 ) -> tuple[StreamOptions, StreamTarget]:
        options = kubelet_options(query, exec_=not attach)
        target = source.stream_target(path["namespace"], path["pod"], path["container"],
                                      attach and options.stdin)
        return options, target

    async def stream_request(request: Request) -> Response:
        """A non-WebSocket exec/attach (a SPDY upgrade): the same refusals, else a 400."""
        attach = request.url.path.startswith("/attach/")
        try:
            _checked(request.path_params, list(request.query_params.multi_items()), attach)
        except InvalidStreamOptions as exc:
            return PlainTextResponse(str(exc), 400)
        except StreamRefused as exc:
            return PlainTextResponse(exc.message, exc.code)
        return PlainTextResponse(
            "unable to upgrade connection: SPDY is not served; pods/exec and pods/attach "
            f"speak WebSocket ({', '.join(CHANNEL_PROTOCOLS)}): kubectl 1.30+ uses it by "
            "default (unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)", 400)

    async def stream_socket(websocket: WebSocket) -> None:
        attach = websocket.url.path.startswith("/attach/")
        protocol = negotiate(websocket.scope.get("subprotocols") or [])
        try:
            if protocol is None:
                raise StreamRefused(400, (
                    "unable to upgrade connection: subprotocols "
                    f"{websocket.scope.get('subprotocols') or []} are not supported; this "
                    f"kubelet speaks {', '.join(CHANNEL_PROTOCOLS)}"))
            options, target = _checked(websocket.path_params,
                                       list(websocket.query_params.multi_items()), attach)
        except InvalidStreamOptions as exc:
            await websocket.send_denial_response(PlainTextResponse(str(exc), 400))
            return
        except StreamRefused as exc:
            await websocket.send_denial_response(PlainTextResponse(exc.message, exc.code))
            return
        await (serve_attach if attach else serve_exec)(websocket, protocol, target, options)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/containerLogs/{namespace}/{pod}/{container}", container_logs),
        Route("/exec/{namespace}/{pod}/{container}", stream_request, methods=["GET", "POST"]),
        Route("/attach/{namespace}/{pod}/{container}", stream_request, methods=["GET", "POST"]),
        WebSocketRoute("/exec/{namespace}/{pod}/{container}", stream_socket),
        WebSocketRoute("/attach/{namespace}/{pod}/{container}", stream_socket),
        Route("/healthz", healthz),
    ])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the host process owns its signals
        yield


class KubeletServer:
    """Serves :func:`build_kubelet_app` on 127.0.0.1 on the running event loop."""

    def __init__(self, source: PodLogSource, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(build_kubelet_app(source), lifespan="off", log_level="warning",
                                access_log=False, ws="wsproto")
        self.server = _Server(config)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.server.serve(sockets=[self.sock]))
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, 5)
        self.sock.close()

