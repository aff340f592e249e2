"""The server side of ``pods/portforward`` (what kubelet's portforward/httpstream.go does, here
done by the API server itself, since every pod address is reachable from this host).

Theory of operation: kubectl 1.30+ opens a WebSocket to ``.../pods/NAME/portforward`` asking
for subprotocol ``SPDY/3.1+portforward.k8s.io`` (client-go tools/portforward
tunneling_dialer.go) and runs a SPDY/3.1 connection inside the binary messages. For every local
connection it opens two streams with headers ``streamType: error|data``, ``port`` and
``requestID``; the server answers each SYN_STREAM with a SYN_REPLY, and once both streams of a
request exist connects to ``podIP:port`` and relays the data stream both ways (a FIN is a
half-close, RST_STREAM ends the request). A failure is written on the error stream as
kubelet words it: ``error forwarding port P to pod NAME, uid UID: <cause>``. PINGs are echoed.

:class:`PortForwardSession` is the SPDY state machine over two callables (send bytes, connect
to a port), so it is tested without a WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from shiplane.cluster.network.errors import PortForwardError, SpdyProtocolError
from shiplane.cluster.network.port_forward_channels import (
    CHANNEL_PROTOCOLS,
    parse_port_query,
    serve_channels,
)
from shiplane.cluster.network.spdy import (
    GOAWAY,
    PING,
    RST_PROTOCOL_ERROR,
    RST_STREAM,
    SYN_STREAM,
    ControlFrame,
    DataFrame,
    FrameReader,
    HeaderCodec,
    control_frame_bytes,
    data_frame,
    parse_syn_stream,
    rst_stream_frame,
    syn_reply_frame,
)

__all__ = ["TUNNELING_PROTOCOL", "PortForwardSession", "pod_target", "serve_port_forward"]

log = logging.getLogger(__name__)
TUNNELING_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHUNK = 32 * 1024
DIAL_TIMEOUT = 5.0  # a simulated pod's 10.244.x address never answers
Connect = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def pod_target(pod: dict) -> tuple[str | None, str | None]:
    """(pod IP, None) when the pod can be forwarded to, else (None, why) with upstream's words."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None, (f"unable to forward port because pod is not running. Current status="
                      f"{status.get('phase') or 'Unknown'}")
    if not status.get("podIP"):
        return None, "unable to forward port because the pod has no IP address yet"
    return status["podIP"], None


@dataclass
class _Request:
    port_header: str = ""
    error_stream: int | None = None
    data_stream: int | None = None
    inbound: asyncio.Queue = field(default_factory=asyncio.Queue)
    task: asyncio.Task | None = None


class PortForwardSession:
    def __init__(self, send: Callable[[bytes], Awaitable[None]], connect: Connect,
                 pod_name: str, pod_uid: str) -> None:
        self._send_raw = send
        self._connect = connect
        self.pod_name, self.pod_uid = pod_name, pod_uid
        self._reader = FrameReader()
        self._codec = HeaderCodec()
        self._lock = asyncio.Lock()
        self._requests: dict[str, _Request] = {}
        self._by_stream: dict[int, _Request] = {}
        self.forwarded = 0

    async def _send(self, frame: bytes | Callable[[], bytes]) -> None:
        async with self._lock:  # header compression is one ordered zlib stream
            await self._send_raw(frame() if callable(frame) else frame)

    async def feed(self, data: bytes) -> None:
        """Handle bytes from the client (one WebSocket message, or a socket read)."""
        for frame in self._reader.feed(data):
            if isinstance(frame, DataFrame):
                await self._on_data(frame)
            elif frame.type == SYN_STREAM:
                await self._on_syn_stream(frame)
            elif frame.type == PING:
                await self._send(control_frame_bytes(frame))
            elif frame.type == RST_STREAM:
                request = self._by_stream.get(frame.stream_id)
                if request is not None and request.task is not None:
                    request.task.cancel()
            elif frame.type == GOAWAY:
                await self.close()
            # SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (spdystream has no flow control)

    async def _on_syn_stream(self, frame: ControlFrame) -> None:
        stream_id, headers = parse_syn_stream(self._codec, frame)
        await self._send(lambda: syn_reply_frame(self._codec, stream_id, {}))
        kind = (headers.get("streamtype") or [""])[0]
        request_id = (headers.get("requestid") or [""])[0] or str(stream_id)
        request = self._requests.setdefault(request_id, _Request())
        request.port_header = (headers.get("port") or [""])[0]
        if kind == "error":
            request.error_stream = stream_id
        elif kind == "data":
            request.data_stream = stream_id
        else:
            await self._send(rst_stream_frame(stream_id, RST_PROTOCOL_ERROR))
            return
        self._by_stream[stream_id] = request
        if request.error_stream is not None and request.data_stream is not None:
            request.task = asyncio.ensure_future(self._forward(request_id, request))

    async def _on_data(self, frame: DataFrame) -> None:
        request = self._by_stream.get(frame.stream_id)
        if request is None or frame.stream_id != request.data_stream:
            return  # the client's half-close of its error stream, or a stream already gone
        if frame.data:
            request.inbound.put_nowait(frame.data)
        if frame.fin:
            request.inbound.put_nowait(None)

    async def _fail(self, request: _Request, port: str, cause: str) -> None:
        message = (f"error forwarding port {port} to pod {self.pod_name}, "
                   f"uid {self.pod_uid}: {cause}")
        await self._send(data_frame(request.error_stream, message.encode(), fin=True))
        await self._send(data_frame(request.data_stream, b"", fin=True))

    async def _forward(self, request_id: str, request: _Request) -> None:
        try:
            if not request.port_header.isdigit() or not 0 < int(request.port_header) < 65536:
                await self._fail(request, request.port_header,
                                 f'invalid port "{request.port_header}"')
                return
            port = int(request.port_header)
            try:
                reader, writer = await asyncio.wait_for(self._connect(port), DIAL_TIMEOUT)
            except asyncio.TimeoutError:
                await self._fail(request, str(port), "dial tcp: i/o timeout")
                return
            except OSError as exc:
                await self._fail(request, str(port), f"dial tcp: {exc.strerror or exc}")
                return
            self.forwarded += 1
            await asyncio.gather(self._upstream(request, writer), self._downstream(request, reader))
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            await self._send(data_frame(request.error_stream, b"", fin=True))
        except (asyncio.CancelledError, ConnectionError, SpdyProtocolError):
            pass
        finally:
            self._requests.pop(request_id, None)
            for stream in (request.error_stream, request.data_stream):
                self._by_stream.pop(stream, None)

    async def _upstream(self, request: _Request, writer: asyncio.StreamWriter) -> None:
        try:
            while (chunk := await request.inbound.get()) is not None:
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    async def _downstream(self, request: _Request, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(CHUNK):
                await self._send(data_frame(request.data_stream, data))
        except (ConnectionError, OSError):
            pass
        await self._send(data_frame(request.data_stream, b"", fin=True))

    async def close(self) -> None:
        for request in list(self._requests.values()):
            if request.task is not None:
                request.task.cancel()


async def _deny(websocket: WebSocket, code: int, reason: str, message: str) -> None:
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()
    try:
        await websocket.send_denial_response(
            Response(body, status_code=code, media_type="application/json"))
    except RuntimeError:  # the server cannot send an HTTP answer to a WebSocket request
        await websocket.close(code=1008, reason=message[:120])


async def serve_port_forward(websocket: WebSocket, pod: dict) -> None:
    """Serve one ``pods/portforward`` WebSocket for ``pod`` until the client goes away: SPDY
    tunnelled in binary messages (kubectl), or the channel protocol (client libraries)."""
    requested = websocket.scope.get("subprotocols") or []
    channels = next((p for p in requested if p in CHANNEL_PROTOCOLS), None)
    if TUNNELING_PROTOCOL not in requested and channels is None:
        await _deny(websocket, 400, "BadRequest",
                    f"unable to upgrade connection: subprotocols {requested} are not supported; "
                    f"this server speaks {TUNNELING_PROTOCOL} and {', '.join(CHANNEL_PROTOCOLS)}")
        return
    address, why = pod_target(pod)
    if address is None:
        await _deny(websocket, 400, "BadRequest", why or "")
        return
    meta = pod.get("metadata") or {}
    if TUNNELING_PROTOCOL not in requested:
        try:
            ports = parse_port_query(websocket.query_params.getlist("ports"))
        except PortForwardError as exc:
            await _deny(websocket, 400, "BadRequest", str(exc))
            return
        await serve_channels(websocket, channels, address, ports, meta.get("name", ""),
                             meta.get("uid", ""))
        return
    await websocket.accept(subprotocol=TUNNELING_PROTOCOL)
    session = PortForwardSession(
        websocket.send_bytes, lambda port: asyncio.open_connection(address, port),
        meta.get("name", ""), meta.get("uid", ""))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes"):
                await session.feed(message["bytes"])
    except (WebSocketDisconnect, SpdyProtocolError) as exc:
        log.info("port-forward to %s ended: %s", meta.get("name"), exc)
    finally:
        await session.close()
