"""The Ingress controller-lite: one loopback HTTP port routing requests by Ingress host/path
rules to the ready endpoints of the backend Services, and writing the Ingresses' status.

Theory of operation: an Ingress informer keeps the rule set; each request is routed by
:func:`route` (pure), the Service port resolved to its name, and sent to that port's endpoints
from the shared :class:`EndpointTable` in round-robin order, like ingress-nginx, which proxies
to endpoints rather than to the ClusterIP. A connection error moves on to the next endpoint
(nginx's default ``proxy_next_upstream error timeout``); no route answers 404 and no ready
endpoint 503, as ingress-nginx does. Ingresses of this class get
``status.loadBalancer.ingress: [{ip: 127.0.0.1, ports: [{port, protocol: TCP}]}]``.

The HTTP server is uvicorn on the control plane's loop (signals left to the host process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import httpx
import uvicorn

from shiplane.cluster.controllers.api import ControllerApiError, ControllerConnectionError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.network.endpoint_table import EndpointTable
from shiplane.cluster.network.errors import NetworkError
from shiplane.cluster.network.ingress_rules import Route, is_ours, route

__all__ = ["IngressController"]

log = logging.getLogger(__name__)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the host process owns SIGINT/SIGTERM
        yield


class IngressController(Controller):
    """Keeps Ingress status current (a controller over the queue) and serves the HTTP port."""

    name = "ingress-controller"

    def __init__(self, ctx: Context, table: EndpointTable, port: int,
                 address: str = "127.0.0.1") -> None:
        super().__init__(ctx)
        self.table = table
        self.port = port
        self.address = address
        self.ingresses = ctx.informer("Ingress")
        self.ingresses.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0),
                                         follow_redirects=False)
        self.server: _EmbeddedServer | None = None
        self._socket: socket.socket | None = None

    def ours(self) -> list[dict]:
        return [i for i in self.ingresses.values() if is_ours(i)]

    def _status(self) -> dict:
        return {"loadBalancer": {"ingress": [
            {"ip": self.address, "ports": [{"port": self.port, "protocol": "TCP"}]}]}}

    async def sync(self, key: str) -> None:
        ingress = self.ingresses.get(key)
        if ingress is None or not is_ours(ingress) or ingress["metadata"].get("deletionTimestamp"):
            return
        want = self._status()
        if (ingress.get("status") or {}).get("loadBalancer") == want["loadBalancer"]:
            return
        try:
            updated = await self.api.replace("Ingress", {**ingress, "status": want}, sub="status")
        except ControllerApiError as exc:
            if exc.code == 404:
                return
            raise
        self.ingresses.remember(updated)

    def bind(self) -> None:
        """Take the HTTP port now (port 0: any free one), so a taken port fails the start."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.address, self.port))
        except OSError as exc:
            sock.close()
            raise NetworkError(f"the Ingress controller cannot listen on "
                               f"{self.address}:{self.port}: {exc.strerror}",
                               hint="choose another port with --ingress-port") from exc
        self.port = sock.getsockname()[1]
        self._socket = sock

    async def run(self) -> None:
        if self._socket is None:
            self.bind()
        config = uvicorn.Config(self._asgi, log_level="warning", lifespan="off", interface="asgi3",
                                proxy_headers=False,
                                access_log=False)
        self.server = _EmbeddedServer(config)
        try:
            await asyncio.gather(super().run(), self.server.serve(sockets=[self._socket]))
        finally:
            await self._client.aclose()

    def _port_name(self, target: Route) -> str | None:
        if isinstance(target.port, str):
            return target.port
        svc = self.table.services.get(target.service)
        for port in ((svc or {}).get("spec") or {}).get("ports") or []:
            if port.get("port") == target.port:
                return port.get("name") or ""
        return None

    async def _asgi(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        host = next((v for k, v in headers if k.lower() == "host"), "")
        target = route(self.ours(), host, scope["path"])
        if target is None:
            await _answer(send, 404, b"default backend - 404\n")
            return
        port_name = self._port_name(target)
        backends = self.table.order(target.service, port_name) if port_name is not None else []
        if not backends:
            await _answer(send, 503, b"503 Service Temporarily Unavailable\n")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        forward = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        client = scope.get("client") or ("", 0)
        forward += [("X-Forwarded-For", client[0]), ("X-Forwarded-Host", host),
                    ("X-Forwarded-Proto", scope.get("scheme", "http")), ("Host", host)]
        query = scope.get("query_string", b"").decode("latin-1")
        target_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        target_path += f"?{query}" if query else ""
        for backend in backends:
            url = f"http://{backend.address}:{backend.port}{target_path}"
            request = self._client.build_request(scope["method"], url, headers=forward,
                                                 content=body)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.ConnectError:
                continue  # proxy_next_upstream error
            except (httpx.HTTPError, ControllerConnectionError) as exc:
                log.info("ingress: %s %s → %s: %s", scope["method"], scope["path"], url, exc)
                await _answer(send, 502, b"502 Bad Gateway\n")
                return
            try:
                await send({"type": "http.response.start", "status": response.status_code,
                            "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                        for k, v in response.headers.multi_items()
                                        if k.lower() not in HOP_BY_HOP]})
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                await response.aclose()
            return
        await _answer(send, 502, b"502 Bad Gateway\n")


async def _answer(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
