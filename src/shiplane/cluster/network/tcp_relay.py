"""Byte relays between two TCP connections, and connecting to the first reachable backend.

:func:`relay` copies both directions until each side has sent EOF (half-closes are passed on,
so request/response protocols that close their write side keep working), then closes both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from shiplane.cluster.network.endpoint_selection import Backend

__all__ = ["CONNECT_TIMEOUT", "connect_first", "relay"]

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 2.0
CHUNK = 64 * 1024


async def connect_first(
    backends: Sequence[Backend], timeout: float = CONNECT_TIMEOUT
) -> tuple[Backend, asyncio.StreamReader, asyncio.StreamWriter] | None:
    """Open a connection to the first backend that accepts one; None when none does."""
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
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
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
