"""Run an ASGI app on uvicorn in a background thread of this process.

The embedded registry, the git/pipeline server and the in-process API server all need the
same thing: start uvicorn on a loopback port in a daemon thread, wait until it listens (or
fail clearly), and stop it with ``should_exit`` + join. :class:`ThreadedServer` is that, once.
:class:`LoopThread` is a bare event loop in a thread, for traffic that must not wait behind
another loop's work (the control plane's data path).
"""

from shiplane.serving.loop_thread import LoopThread
from shiplane.serving.threaded import ServerStartError, ThreadedServer

__all__ = ["LoopThread", "ServerStartError", "ThreadedServer"]
