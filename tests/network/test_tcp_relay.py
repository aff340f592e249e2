"""tcp_relay: a connection with no endpoint to go to is closed at once, even when the relay
task decides before the loop has called connection_made (the Service proxy schedules that task
from its protocol factory). Found as a client hanging until its timeout: the proxy had accepted,
found no endpoint yet, and had no transport to close."""

from __future__ import annotations

import asyncio

import pytest

from shiplane.cluster.network.endpoint_selection import Backend
from shiplane.cluster.network.tcp_relay import RelaySide, open_relay


async def _proxy(backends: list[Backend]) -> tuple[asyncio.AbstractServer, int, set]:
    tasks: set[asyncio.Task] = set()

    def accept() -> RelaySide:  # as ServiceProxy._accept: the task is scheduled first
        client = RelaySide()
        task = asyncio.ensure_future(open_relay(client, backends))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return client

    server = await asyncio.get_running_loop().create_server(accept, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], tasks


@pytest.mark.parametrize("loop_factory", ["asyncio", "uvloop"])
def test_no_endpoint_closes_the_connection_at_once(loop_factory):
    async def main() -> None:
        server, port, _tasks = await _proxy([])
        async with server:
            for _ in range(50):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"ping")
                try:
                    data = await asyncio.wait_for(reader.read(), 5)
                except ConnectionResetError:
                    data = b""
                assert data == b""
                writer.close()

    if loop_factory == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        uvloop.run(main())
    else:
        asyncio.run(main())


def test_a_relay_passes_bytes_both_ways_and_the_half_close():
    async def main() -> None:
        async def echo_reversed(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
            data = await reader.read()  # until the relayed EOF
            writer.write(data[::-1])
            await writer.drain()
            writer.close()

        backend = await asyncio.start_server(echo_reversed, "127.0.0.1", 0)
        backend_port = backend.sockets[0].getsockname()[1]
        server, port, _tasks = await _proxy([Backend("127.0.0.1", backend_port)])
        async with backend, server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello")
            writer.write_eof()
            assert await asyncio.wait_for(reader.read(), 5) == b"olleh"
            writer.close()

    asyncio.run(main())
