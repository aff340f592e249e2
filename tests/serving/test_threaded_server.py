"""ThreadedServer: starts uvicorn in a thread, reports a busy port clearly, stops cleanly."""

from __future__ import annotations

import socket

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shiplane.serving import ServerStartError, ThreadedServer


def _app() -> Starlette:
    return Starlette(routes=[Route("/", lambda request: PlainTextResponse("hello"))])


def _config(port: int = 0) -> uvicorn.Config:
    return uvicorn.Config(_app(), host="127.0.0.1", port=port, lifespan="off",
                          log_level="warning", access_log=False)


def test_serves_on_the_bound_port_then_stops() -> None:
    stopped = []
    server = ThreadedServer(_config(), name="test-server", before_stop=lambda: stopped.append(1))
    server.start()
    try:
        port = server.bound_port
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "hello"
    finally:
        server.stop()
    assert stopped == [1]
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"did not start on 127.0.0.1:{port}") as info:
            ThreadedServer(_config(port), name="test-server").start(timeout=5)
    assert info.value.hint == "is the port already in use?"


def test_bound_port_before_start_is_an_error() -> None:
    with pytest.raises(ServerStartError, match="not running"):
        ThreadedServer(_config(), name="test-server").bound_port
