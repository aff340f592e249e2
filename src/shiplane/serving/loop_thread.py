"""An asyncio event loop of its own in a daemon thread, for work that must not queue behind
another loop's callbacks.

The control plane runs every controller, kubelet and informer on one event loop. Bytes of
Service traffic (the Service proxy's relays, the kubelet's ``podIP:port`` forwarders) do not
belong behind that work: on a node they go through the kernel, and kube-proxy is not the
controller-manager. A :class:`LoopThread` gives them their own loop; the other loop hands it
coroutines with :meth:`LoopThread.run` (awaitable, exceptions and results carried back).
Python threads still share the GIL, but a thread waiting for it gets it within the switch
interval (5 ms), instead of after every callback the busy loop has ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


def _new_loop() -> asyncio.AbstractEventLoop:
    try:  # libuv loop when available: cheaper sockets
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def _name_os_thread(name: str) -> None:
    """The thread's name in ``top -H``, ``ps -L`` and perf (Linux; 15 bytes at most)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


class LoopThread:
    """``start()`` an event loop in a daemon thread; ``await run(coro)`` from another loop;
    ``stop()`` (after the work on it has been closed) ends the loop and joins the thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopThread:
        ready = threading.Event()

        def main() -> None:
            _name_os_thread(self.name)
            loop = self.loop = _new_loop()
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=main, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this thread's loop and wait for it from the calling loop (directly
        when called on this loop already)."""
        assert self.loop is not None, "LoopThread.start() first"
        if asyncio.get_running_loop() is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self, timeout: float = 5.0) -> None:
        if self.loop is not None and self.running:
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
