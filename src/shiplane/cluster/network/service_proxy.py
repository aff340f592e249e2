"""The Service proxy (kube-proxy-lite): every Service port served on loopback, balanced over
the Service's ready endpoints.

Theory of operation: the :class:`EndpointTable` keeps each Service port's backends current
from EndpointSlice events. A Service event marks the listener table dirty;
:meth:`ServiceProxy.run` then opens the listeners :func:`service_listeners` wants and closes
the others. Each accepted connection gets
the backends in round-robin order and is relayed to the first that accepts (:mod:`tcp_relay`).
A listener that cannot bind (port taken by another program) is reported as a Warning event on
the Service and retried on the next Service change.

Ordering on pod deletion (upstream and here): the API server sets ``deletionTimestamp``; the
endpoints controller and the kubelet both watch it and act concurrently. The controller writes
the endpoint as ``ready: false, terminating: true``; this proxy drops it from new connections
on that slice event. The kubelet runs preStop, then sends SIGTERM. Upstream does not order the
two, which is why workloads that need zero downtime add a short ``preStop`` sleep (the
``sleep`` action exists for this since 1.29). Measured here (tests/network/test_zero_downtime.py,
3 replicas of the scaffolded payment-service at 50 req/s): without preStop, 5-10 of ~1,000
requests fail during a rollout (the app stops on SIGTERM before this proxy has seen the slice
change; the process runtime's pod port accepts the connection on the host, so a refused connect
cannot be retried); with a 1 s preStop sleep, none fail. So this proxy adds no delay of its own
and the manifests carry the preStop, as upstream advises. Connections already open keep going
to their pod until one side closes.

Data path: with a ``data_plane`` loop thread (the control plane passes one), the listeners and
every relay run on that loop, not on the control plane's: kube-proxy's work is the kernel's on a
node, never queued behind the controllers. Listener changes are still decided here, on the
control plane's loop, and performed on the data plane's; the endpoint table is read from there
(each refresh replaces a port's list in one assignment).
"""

from __future__ import annotations

import asyncio
import errno
import logging

from shiplane.cluster.controllers.base import Context
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.network.addresses import Listener, service_listeners
from shiplane.cluster.network.endpoint_table import EndpointTable
from shiplane.cluster.network.tcp_relay import RelaySide, open_relay
from shiplane.serving import LoopThread

__all__ = ["ServiceProxy"]

log = logging.getLogger(__name__)
COMPONENT = "kube-proxy"


class ServiceProxy:
    name = "service-proxy"

    def __init__(self, ctx: Context, table: EndpointTable,
                 data_plane: LoopThread | None = None) -> None:
        self.ctx = ctx
        self.data_plane = data_plane
        self.table = table
        self.services = table.services
        self.servers: dict[Listener, asyncio.AbstractServer] = {}
        self.failed: dict[Listener, str] = {}
        self.connections = 0
        self.refused = 0
        self._connecting: set[asyncio.Task] = set()
        self._dirty = asyncio.Event()
        self._dirty.set()
        self.services.add_handler(lambda t, svc, old: self._dirty.set())

    async def run(self) -> None:
        try:
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                await self._sync_listeners()
        finally:
            await self.close()
    async def _sync_listeners(self) -> None:
        wanted: dict[Listener, dict] = {}
        for svc in self.services.values():
            for listener in service_listeners(svc):
                wanted[listener] = svc
        for listener in [lst for lst in self.servers if lst not in wanted]:
            server = self.servers.pop(listener)
            await self._on_data_plane(self._close_server(server))
            log.info("service proxy: closed %s:%d (%s)", listener.address, listener.port,
                     listener.service)
        self.failed = {lst: why for lst, why in self.failed.items() if lst in wanted}
        for listener, svc in sorted(wanted.items()):
            if listener in self.servers:
                continue
            try:
                self.servers[listener] = await self._on_data_plane(self._listen(listener))
            except OSError as exc:
                reason = "address in use" if exc.errno == errno.EADDRINUSE else str(exc)
                if self.failed.get(listener) != reason:
                    self.ctx.recorder.record(COMPONENT, svc, Event(
                        "Warning", "FailedToStartServiceProxy",
                        f"can't listen on {listener.address}:{listener.port}: {reason}"))
                self.failed[listener] = reason
                log.warning("service proxy: %s:%d: %s", listener.address, listener.port, reason)
                continue
            self.failed.pop(listener, None)
            log.info("service proxy: %s serves %s:%d", listener.service, listener.address,
                     listener.port)

    async def _on_data_plane(self, coro):
        if self.data_plane is not None and self.data_plane.running:
            return await self.data_plane.run(coro)
        return await coro

    async def _listen(self, listener: Listener) -> asyncio.AbstractServer:
        return await asyncio.get_running_loop().create_server(
            lambda: self._accept(listener), listener.address, listener.port,
            reuse_address=True)

    @staticmethod
    async def _close_server(server: asyncio.AbstractServer) -> None:
        server.close()

    def _accept(self, listener: Listener) -> RelaySide:
        """A new client connection: link it to the next endpoint that accepts."""
        client = RelaySide()
        self.connections += 1
        backends = self.table.order(listener.service, listener.port_name)

        async def connect() -> None:
            if await open_relay(client, backends) is None:
                # no endpoint: kube-proxy REJECTs (connection refused); closing is the nearest
                self.refused += 1

        task = asyncio.ensure_future(connect())
        self._connecting.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._connecting.discard)
        return client

    async def close(self) -> None:
        for server in self.servers.values():
            await self._on_data_plane(self._close_server(server))
        self.servers.clear()
