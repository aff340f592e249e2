"""httpGet/tcpSocket probe handlers against real sockets (a local HTTP server)."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import pytest

from shiplane.cluster.nodes.process_probes import PROBE_USER_AGENT, ProbeTarget, run_handler


class Server:
    """Answers every request with the status its path names (/200, /302, /503, /slow)."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        path = head.split(b" ")[1].decode()
        if path == "/slow":
            await asyncio.sleep(2)
        code = path.strip("/").split("?")[0]
        writer.write(f"HTTP/1.1 {code if code.isdigit() else 200} X\r\nContent-Length: 0\r\n\r\n"
                     .encode())
        await writer.drain()
        writer.close()


def _target() -> ProbeTarget:
    # the pod's own address is elsewhere: the probes here go to host 127.0.0.1 directly
    sandbox = SimpleNamespace(ip="127.254.254.254", forwarder=SimpleNamespace(sockets=[]))
    container = {"name": "web", "ports": [{"name": "http", "containerPort": 0}]}
    return ProbeTarget(None, sandbox, None, container)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_http_get_and_tcp_socket() -> None:
    async def scenario() -> None:
        app = Server()
        server = await asyncio.start_server(app.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        target = _target()
        target.container["ports"][0]["containerPort"] = port

        def get(path: str, **extra: object) -> dict:
            return {"httpGet": {"host": "127.0.0.1", "port": "http", "path": path, **extra}}

        ok = await run_handler(target, get("/200", httpHeaders=[{"name": "X-Probe",
                                                                 "value": "yes"}]), 1)
        assert ok == (True, "")
        request = app.requests[-1].decode()
        assert request.startswith("GET /200 HTTP/1.1\r\n")
        assert f"User-Agent: {PROBE_USER_AGENT}" in request and "X-Probe: yes" in request
        assert f"Host: 127.0.0.1:{port}" in request
        assert await run_handler(target, get("/302"), 1) == (True, "")
        assert await run_handler(target, get("/503"), 1) == (
            False, "HTTP probe failed with statuscode: 503")
        slow = await run_handler(target, get("/slow"), 0.3)
        assert slow == (False, f'Get "http://127.0.0.1:{port}/slow": context deadline exceeded '
                               "(Client.Timeout exceeded while awaiting headers)")
        assert await run_handler(target, {"tcpSocket": {"host": "127.0.0.1", "port": port}},
                                 1) == (True, "")
        server.close()
        closed = _free_port()
        refused = await run_handler(target, {"tcpSocket": {"host": "127.0.0.1",
                                                           "port": closed}}, 1)
        assert refused == (False, f"dial tcp 127.0.0.1:{closed}: connect: connection refused")
        assert (await run_handler(target, {"grpc": {"port": 1}}, 1))[1] == (
            "probe handler not supported by the process runtime: grpc")
        assert (await run_handler(target, get("/200", port="metrics"), 1)) == (
            False, "unable to resolve port name 'metrics' in container web")

    asyncio.run(scenario())


@pytest.mark.parametrize("port", ["8080", 8080])
def test_numeric_ports(port: object) -> None:
    from shiplane.cluster.nodes.process_probes import resolve_port

    assert resolve_port(port, {"name": "c"}) == 8080  # type: ignore[arg-type]
