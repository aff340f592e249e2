"""Pod networking of the process runtime: a loopback pod IP per pod, forwarded into its netns.

The contract other parts build on (Service proxy, port-forward, ingress): **a Ready process
pod's ``status.podIP:containerPort`` accepts TCP on the host.**

How: every process pod has its own network namespace (its sandbox process, bubblewrap
``--unshare-net``, which brings up ``lo`` only). The kubelet gives the pod a distinct address in
127.0.0.0/8 — Linux routes the whole block to the host's ``lo``, so no interface setup is
needed — and for each ``containerPort`` (TCP) listens on ``podIP:containerPort`` on the host.
Each accepted connection is carried into the pod: a :class:`NetnsDialer` thread has entered
the pod's netns with ``setns(2)`` (ctypes; Python 3.11 has no ``os.setns``) and creates the
socket there — a socket stays in the namespace it was created in, whichever thread uses it —
then the event loop connects it to ``127.0.0.1:containerPort`` inside the pod and copies bytes
both ways (half-closes pass through).

:class:`PodAddressAllocator` picks ``127.<B>.<node>.<n>`` addresses: ``B`` is fixed per
process from its pid (several clusters on one host rarely meet), and an address is taken only
when every port the pod declares (and a probe port) can be bound on it right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor

from shiplane.errors import ClusterError

__all__ = ["NetnsDialer", "PodAddressAllocator", "PodNetworkError", "PortForwarder"]

log = logging.getLogger(__name__)
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class PodNetworkError(ClusterError):
    """A pod address or a connection into a pod could not be made."""


class NetnsDialer:
    """Creates sockets inside the network namespace of process ``pid``."""

    def __init__(self, pid: int) -> None:
        self.path = f"/proc/{pid}/ns/net"
        self._fd = os.open(self.path, os.O_RDONLY)  # keeps the namespace alive with us
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"netns-{pid}",
                                        initializer=self._enter)

    def _enter(self) -> None:
        if _libc.setns(self._fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({self.path}): {os.strerror(err)}")

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock

    async def connect(self, port: int, timeout: float = 5.0) -> socket.socket:
        """A socket connected to ``127.0.0.1:port`` inside the pod."""
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(self._pool, self._socket)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    async def open(self, port: int, timeout: float = 5.0
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sock = await self.connect(port, timeout)
        return await asyncio.open_connection(sock=sock)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        with contextlib.suppress(OSError):
            os.close(self._fd)


class PodAddressAllocator:
    """Distinct 127/8 addresses for the pods of one node."""

    def __init__(self, node_index: int, second_octet: int | None = None) -> None:
        self.second = second_octet if second_octet is not None else 100 + os.getpid() % 120
        self.third = node_index % 256
        self.used: set[str] = set()
        self._next = 2

    def allocate(self, ports: list[int]) -> tuple[str, list[socket.socket]]:
        """An address and listening sockets on it for ``ports`` (the caller owns them)."""
        for _ in range(253):
            host = self._next
            self._next = 2 + (self._next - 1) % 253
            ip = f"127.{self.second}.{self.third}.{host}"
            if ip in self.used:
                continue
            sockets: list[socket.socket] = []
            try:
                for port in ports:
                    sockets.append(_listen(ip, port))
                _listen(ip, 0).close()  # the address itself is usable
            except OSError as exc:
                for sock in sockets:
                    sock.close()
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue
                raise PodNetworkError(f"cannot listen on {ip}: {exc}") from None
            self.used.add(ip)
            return ip, sockets
        raise PodNetworkError(f"no free pod address left in 127.{self.second}.{self.third}.0/24")

    def release(self, ip: str) -> None:
        self.used.discard(ip)


def _listen(ip: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
    except (ConnectionError, OSError, RuntimeError):  # uvloop: RuntimeError on a closed handle
        writer.close()


class PortForwarder:
    """``podIP:port`` on the host → ``127.0.0.1:port`` in the pod, one server per port."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.sockets = sockets
        self.dialer: NetnsDialer | None = None
        self.servers: list[asyncio.base_events.Server] = []
        self.connections: set[asyncio.Task] = set()

    async def start(self, dialer: NetnsDialer) -> None:
        self.dialer = dialer
        for sock in self.sockets:
            port = sock.getsockname()[1]
            server = await asyncio.start_server(
                lambda r, w, port=port: self._accepted(r, w, port), sock=sock)
            self.servers.append(server)

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  port: int) -> None:
        task = asyncio.ensure_future(self._carry(reader, writer, port))
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     port: int) -> None:
        assert self.dialer is not None
        try:
            inner_reader, inner_writer = await self.dialer.open(port)
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()  # connection refused in the pod: reset, as a closed port
            return
        try:
            await asyncio.gather(_pipe(reader, inner_writer), _pipe(inner_reader, writer))
        finally:
            for w in (writer, inner_writer):
                w.close()

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for sock in self.sockets:
            sock.close()
        for task in list(self.connections):
            task.cancel()
        self.servers.clear()
