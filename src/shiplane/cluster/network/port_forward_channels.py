"""``pods/portforward`` over the WebSocket channel protocol (``v4.channel.k8s.io``), the one
client libraries without SPDY speak (the official Python client's ``portforward``), as kubelet's
pkg/kubelet/cri/streaming/portforward/websocket.go serves it.

The ports come from the ``ports`` query parameter (``ports=8080,9090`` or repeated). Port *i*
owns channel ``2i`` (data, both ways) and ``2i+1`` (errors, server to client); every binary
message starts with its channel byte. The server first sends, on each channel, the port number
as two little-endian bytes, then connects to ``podIP:port``; a failure is written on the error
channel in kubelet's words. The WebSocket closes when every port's connection has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from shiplane.cluster.network.errors import PortForwardError

__all__ = ["CHANNEL_PROTOCOLS", "parse_port_query", "serve_channels"]

log = logging.getLogger(__name__)
CHANNEL_PROTOCOLS = ("v4.channel.k8s.io", "channel.k8s.io")
CHUNK = 32 * 1024
DIAL_TIMEOUT = 5.0


def parse_port_query(values: list[str]) -> list[int]:
    ports: list[int] = []
    for value in values:
        for part in value.split(","):
            if not part.strip().isdigit() or not 0 < int(part) < 65536:
                raise PortForwardError(f'unable to parse "{part}" as a port: a number 1-65535')
            ports.append(int(part))
    if not ports:
        raise PortForwardError("query parameter \"port\" is required")
    return ports


async def serve_channels(websocket: WebSocket, subprotocol: str, address: str,
                         ports: list[int], pod_name: str, pod_uid: str) -> None:
    await websocket.accept(subprotocol=subprotocol)
    lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with lock:
            await websocket.send_bytes(bytes((channel,)) + data)

    for index, port in enumerate(ports):
        for channel in (2 * index, 2 * index + 1):
            await send(channel, port.to_bytes(2, "little"))
    writers: dict[int, asyncio.StreamWriter] = {}
    pumps: list[asyncio.Task] = []

    async def pump(index: int, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, OSError, WebSocketDisconnect, RuntimeError):
            while data := await reader.read(CHUNK):
                await send(2 * index, data)

    for index, port in enumerate(ports):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port),
                                                    DIAL_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            cause = "i/o timeout" if isinstance(exc, asyncio.TimeoutError) else exc.strerror
            await send(2 * index + 1, (f"error forwarding port {port} to pod {pod_name}, "
                                       f"uid {pod_uid}: dial tcp: {cause}").encode())
            continue
        writers[index] = writer
        pumps.append(asyncio.ensure_future(pump(index, reader)))

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes") or b""
                if len(data) < 2 or data[0] % 2 or data[0] // 2 not in writers:
                    continue  # port-number echoes, empty frames, unknown channels
                writer = writers[data[0] // 2]
                writer.write(data[1:])
                await writer.drain()

    receiver = asyncio.ensure_future(receive())
    try:
        if pumps:
            await asyncio.wait([receiver, asyncio.gather(*pumps)],
                               return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.wait([receiver], timeout=1.0)
    finally:
        receiver.cancel()
        for task in pumps:
            task.cancel()
        for writer in writers.values():
            writer.close()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()
