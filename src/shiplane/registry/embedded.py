"""``EmbeddedRegistry``: the registry server on a loopback port, in this process.

Used by ``shiplane registry serve``, the embedded stack and the test kit::

    with EmbeddedRegistry(DiskStorage(path)) as registry:
        registry.url        # "http://127.0.0.1:<port>"
        registry.host       # "127.0.0.1:<port>" (what image references use)

uvicorn runs in a daemon thread with its own event loop (uvloop and httptools
when installed: C socket writes and HTTP parsing, which matter for blob
throughput — see bench/registry.py).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import uvicorn

from shiplane.registry.errors import RegistryError
from shiplane.registry.server import Authorizer, ServerSettings, build_app
from shiplane.registry.storage import MemoryStorage, Storage
from shiplane.serving import ServerStartError, ThreadedServer

__all__ = ["EmbeddedRegistry", "serve_forever"]


_WRITE_BUFFER_HIGH = 8 << 20  # bytes queued per connection before the handler waits


def _http_impl() -> type:
    """uvicorn's HTTP protocol (httptools if installed) with a deep write buffer.

    asyncio's default high-water mark (64 KiB) makes a blob download stop and go:
    every 1 MiB read waits until the socket has drained almost everything. A few
    MiB of buffer keeps the connection busy while the next block is read.
    """
    if importlib.util.find_spec("httptools"):
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    else:  # pragma: no cover - httptools is a dependency
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

    class DeepBufferProtocol(base):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: Any) -> None:
            transport.set_write_buffer_limits(high=_WRITE_BUFFER_HIGH)
            super().connection_made(transport)

    return DeepBufferProtocol


def _loop_impl() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, http=_http_impl(), lifespan="off",
                          access_log=False, log_level="warning", loop=_loop_impl(),
                          timeout_keep_alive=30, h11_max_incomplete_event_size=1 << 20)


class EmbeddedRegistry:
    """Start/stop a registry server on ``host`` (loopback) and a free or given port."""

    def __init__(self, storage: Storage | None = None, *, auth: Authorizer | None = None,
                 settings: ServerSettings | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.storage = storage if storage is not None else MemoryStorage()
        self.auth = auth
        self.app = build_app(self.storage, auth=auth, settings=settings)
        self._bind_host = host
        self._port = port
        self._runner: ThreadedServer | None = None

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RegistryError("the embedded registry is not running")
        return self._runner.bound_port

    @property
    def host(self) -> str:
        return f"{self._bind_host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 10.0) -> "EmbeddedRegistry":
        if self._runner is not None:
            return self
        runner = ThreadedServer(_config(self.app, self._bind_host, self._port),
                                name="shiplane-registry")
        try:
            runner.start(timeout)
        except ServerStartError as exc:
            raise RegistryError(f"the embedded registry did not start on "
                                f"{self._bind_host}:{self._port}", hint=exc.hint) from exc
        self._runner = runner
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._runner = None

    def __enter__(self) -> "EmbeddedRegistry":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(storage: Storage, *, auth: Authorizer | None = None,
                  settings: ServerSettings | None = None, host: str = "127.0.0.1",
                  port: int = 5000) -> None:
    """Run the registry in the foreground until interrupted (``shiplane registry serve``)."""
    uvicorn.Server(_config(build_app(storage, auth=auth, settings=settings), host, port)).run()
