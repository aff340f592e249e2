"""``ThreadedServer``: one uvicorn server in a daemon thread, started and stopped cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import uvicorn

from shiplane.errors import ShiplaneError

__all__ = ["ServerStartError", "ThreadedServer"]


class ServerStartError(ShiplaneError):
    """uvicorn did not start listening before the deadline (or its thread died)."""


class ThreadedServer:
    """Start ``uvicorn.Server(config)`` in a daemon thread named ``name``.

    ``start`` returns once uvicorn listens; if the thread dies first or ``timeout`` passes it
    raises ``ServerStartError`` (callers convert it to their package's error). ``before_stop``
    runs just before ``should_exit`` is set (e.g. to close long-lived watch streams).
    """

    def __init__(self, config: uvicorn.Config, *, name: str,
                 before_stop: Callable[[], None] | None = None) -> None:
        self.config = config
        self.name = name
        self.before_stop = before_stop
        self.server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    @property
    def bound_port(self) -> int:
        """The port uvicorn actually bound (useful when the config asked for port 0)."""
        if self.server is None or not self.server.servers:
            raise ServerStartError(f"{self.name} is not running")
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        if self.server is not None:
            return self
        server = uvicorn.Server(self.config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        thread = threading.Thread(target=server.run, name=self.name, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise ServerStartError(
                    f"{self.name} did not start on {self.config.host}:{self.config.port}",
                    hint="is the port already in use?")
            time.sleep(0.01)
        self.server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.server is None:
            return
        if self.before_stop is not None:
            self.before_stop()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self.server, self._thread = None, None
