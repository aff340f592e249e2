"""LoopThread: coroutines handed over from another loop run on its own thread, results and
errors come back, a server on it keeps answering while the caller's loop is blocked."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from shiplane.serving import LoopThread


def test_runs_coroutines_on_its_thread_and_returns_results_and_errors() -> None:
    worker = LoopThread("test-loop").start()
    try:
        async def where() -> str:
            return threading.current_thread().name

        async def fail() -> None:
            raise ValueError("boom")

        async def main() -> str:
            with pytest.raises(ValueError, match="boom"):
                await worker.run(fail())
            return await worker.run(where())

        assert asyncio.run(main()) == "test-loop"
        # the OS thread carries the name too (top -H, perf)
        names = {Path(f"/proc/self/task/{t.native_id}/comm").read_text().strip()
                 for t in threading.enumerate() if t.name == "test-loop"}
        assert names == {"test-loop"}
    finally:
        worker.stop()
    assert not worker.running


def test_a_server_on_it_answers_while_the_callers_loop_is_busy() -> None:
    worker = LoopThread("test-echo").start()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    async def serve() -> asyncio.AbstractServer:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    async def main() -> float:
        server = await worker.run(serve())
        port = server.sockets[0].getsockname()[1]
        answered: list[float] = []

        def client() -> None:
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"ping")
                assert sock.recv(100) == b"ping"
            answered.append(time.monotonic() - started)

        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(0.5)  # this loop is blocked; the server's loop is not
        thread.join(5)

        async def close() -> None:
            server.close()

        await worker.run(close())
        return answered[0]

    try:
        assert asyncio.run(main()) < 0.4
    finally:
        worker.stop()
