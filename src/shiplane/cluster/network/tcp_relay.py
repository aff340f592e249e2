"""Byte relays between two TCP connections, and connecting to the first reachable backend.

A relay is two :class:`asyncio.Protocol` halves wired to each other's transports: bytes a side
receives are written straight to the other side (no per-direction coroutine, so a short
request/response costs a few callbacks), back-pressure pauses the reading side while the other
side's buffer is full, an EOF is passed on as a half-close, and the pair closes once both sides
have ended (or either drops). :func:`relay` does the same for asyncio streams (port-forward).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from shiplane.cluster.network.endpoint_selection import Backend

__all__ = ["CONNECT_TIMEOUT", "RelaySide", "connect_first", "open_relay", "relay"]

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 2.0
CHUNK = 64 * 1024


class RelaySide(asyncio.Protocol):
    """One connection of a relayed pair. Data arriving before the peer is linked is kept."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: RelaySide | None = None
        self.pending: list[bytes] = []
        self.ended = False  # this side sent EOF
        self.closed = False
        self._close_when_made = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self._close_when_made:
            transport.close()

    def close(self) -> None:
        """Close this connection, also when the loop has not yet called connection_made (a
        relay task may decide before that: no endpoint to connect to)."""
        if self.transport is None:
            self._close_when_made = True
        else:
            self.transport.close()

    def link(self, peer: RelaySide) -> None:
        self.peer, peer.peer = peer, self
        for side in (self, peer):
            other = side.peer
            for data in side.pending:
                other.transport.write(data)
            side.pending.clear()
            if side.ended:
                other._write_eof()

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self.pending.append(data)
        else:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self.ended = True
        if self.peer is not None:
            self.peer._write_eof()
        return True  # keep the other direction open (half-close)

    def _write_eof(self) -> None:
        if self.closed or self.transport is None:
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.ended or not self.transport.can_write_eof():
            self.close_pair()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.peer is not None and not self.peer.closed and self.peer.transport is not None:
            # let buffered bytes reach the other side, then close it
            self.peer.transport.close()

    def close_pair(self) -> None:
        for side in (self, self.peer):
            if side is not None and side.transport is not None and not side.closed:
                side.transport.close()


async def open_relay(client: RelaySide, backends: Sequence[Backend],
                     timeout: float = CONNECT_TIMEOUT) -> Backend | None:
    """Connect ``client`` to the first backend that accepts; None (client closed) when none."""
    loop = asyncio.get_running_loop()
    for backend in backends:
        try:
            _, upstream = await asyncio.wait_for(
                loop.create_connection(RelaySide, backend.address, backend.port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            log.debug("endpoint %s:%d refused: %s", backend.address, backend.port, exc)
            continue
        if client.closed:
            upstream.transport.close()
            return backend
        client.link(upstream)
        return backend
    client.close()
    return None


async def connect_first(
    backends: Sequence[Backend], timeout: float = CONNECT_TIMEOUT
) -> tuple[Backend, asyncio.StreamReader, asyncio.StreamWriter] | None:
    """Open a stream connection to the first backend that accepts one; None when none does."""
    for backend in backends:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(backend.address, backend.port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            log.debug("endpoint %s:%d refused: %s", backend.address, backend.port, exc)
            continue
        return backend, reader, writer
    return None


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
    except (ConnectionError, OSError, RuntimeError):  # uvloop: RuntimeError on a closed handle
        pass


async def relay(a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                b: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    """Copy a→b and b→a until both directions end, then close both connections."""
    try:
        await asyncio.gather(_pump(a[0], b[1]), _pump(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()
        for writer in (a[1], b[1]):
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
