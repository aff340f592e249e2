"""The control plane: every controller, the scheduler and the simulated nodes on one event loop.

``ControlPlane(api_url, options)`` talks to an API server at ``api_url`` only over HTTP. Use it
in-process with :class:`ControlPlaneRunner` (a background thread, for tests, benchmarks and
``shiplane.testing``), or block in :func:`run_control_plane` (the ``shiplane cluster up``
process). Informers start first; controllers begin once every informer has listed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from shiplane.cluster.controllers.api import AsyncApi
from shiplane.cluster.controllers.base import Context
from shiplane.cluster.controllers.clock import ClusterClock
from shiplane.cluster.controllers.deployment import DeploymentController
from shiplane.cluster.controllers.disruption import DisruptionController
from shiplane.cluster.controllers.endpoints import EndpointsController
from shiplane.cluster.controllers.events import EventRecorder
from shiplane.cluster.controllers.garbage_collector import GarbageCollector
from shiplane.cluster.controllers.hpa import HorizontalPodAutoscalerController
from shiplane.cluster.controllers.job import JobController
from shiplane.cluster.controllers.namespace import NamespaceController
from shiplane.cluster.controllers.node_lifecycle import NodeLifecycleController
from shiplane.cluster.controllers.replicaset import ReplicaSetController
from shiplane.cluster.controllers.scheduler import Scheduler
from shiplane.cluster.controllers.serviceaccount import ServiceAccountController
from shiplane.cluster.nodes.images import ImagePuller, RoleCredentials
from shiplane.cluster.nodes.kubelet import NodeFleet
from shiplane.cluster.nodes.node_spec import NodeSpec, default_node_specs
from shiplane.errors import ClusterError

__all__ = ["ControlPlane", "ControlPlaneOptions", "ControlPlaneRunner", "run_control_plane"]

log = logging.getLogger(__name__)


@dataclass
class ControlPlaneOptions:
    nodes: list[NodeSpec] = field(default_factory=lambda: default_node_specs(3))
    time_scale: float = 1.0
    role_credentials: RoleCredentials | None = None
    registry_client_options: dict = field(default_factory=dict)
    max_connections: int = 16
    kubeconfig: Path | None = None  # credentials for an HTTPS API server (else plain HTTP)
    clock_epoch: float | None = None  # the API server's clock epoch (shiplane.cluster.clock)


class ControlPlane:
    def __init__(self, api_url: str, options: ControlPlaneOptions | None = None) -> None:
        self.options = options or ControlPlaneOptions()
        if self.options.kubeconfig is not None:
            self.api = AsyncApi.from_kubeconfig(self.options.kubeconfig,
                                                max_connections=self.options.max_connections)
        else:
            self.api = AsyncApi(api_url, max_connections=self.options.max_connections)
        self.clock = ClusterClock(self.options.time_scale, self.options.clock_epoch)
        self.recorder = EventRecorder(self.api, self.clock)
        self.ctx = Context(self.api, self.clock, self.recorder)
        self.puller = ImagePuller(role_credentials=self.options.role_credentials,
                                  client_options=self.options.registry_client_options)
        self.controllers = [
            DeploymentController(self.ctx),
            ReplicaSetController(self.ctx),
            Scheduler(self.ctx),
            GarbageCollector(self.ctx),
            EndpointsController(self.ctx),
            ServiceAccountController(self.ctx),
            DisruptionController(self.ctx),
            NodeLifecycleController(self.ctx),
            HorizontalPodAutoscalerController(self.ctx),
            JobController(self.ctx),
            NamespaceController(self.ctx),
        ]
        self.fleet = NodeFleet(self.ctx, self.options.nodes, self.puller)
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        await self.fleet.register()
        for informer in self.ctx.informers.values():
            self._tasks.append(asyncio.ensure_future(informer.run()))
        await asyncio.gather(*(i.synced.wait() for i in self.ctx.informers.values()))
        self._tasks.append(asyncio.ensure_future(self.recorder.run()))
        self._tasks.append(asyncio.ensure_future(self.fleet.run()))
        for controller in self.controllers:
            self._tasks.append(asyncio.ensure_future(controller.run()))

    async def stop(self) -> None:
        for worker_set in (node.workers.values() for node in self.fleet.nodes.values()):
            for worker in list(worker_set):
                for task in [worker.main, *worker.tasks]:
                    if task is not None:
                        task.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.api.close()
        await asyncio.to_thread(self.puller.close)


class ControlPlaneRunner:
    """Run a :class:`ControlPlane` on its own event loop in a background thread."""

    def __init__(self, api_url: str, options: ControlPlaneOptions | None = None) -> None:
        self.api_url = api_url
        self.options = options or ControlPlaneOptions()
        self.plane: ControlPlane | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 60.0) -> ControlPlaneRunner:
        self._thread = threading.Thread(target=self._main, name="shiplane-control-plane",
                                        daemon=True)
        self._thread.start()
        if not self._started.wait(timeout) or self._error is not None:
            raise ClusterError(f"the control plane did not start: {self._error}",
                               hint="is the API server running at " + self.api_url + "?")
        return self

    def _main(self) -> None:
        self.loop = _new_loop()
        asyncio.set_event_loop(self.loop)

        async def begin() -> None:
            self.plane = ControlPlane(self.api_url, self.options)
            await self.plane.start()

        try:
            self.loop.run_until_complete(begin())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.plane.stop())
        self.loop.close()

    def call(self, coro_factory, timeout: float = 30.0):
        """Run ``coro_factory()`` on the control plane's loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro_factory(), self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=15)

    def __enter__(self) -> ControlPlaneRunner:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:  # libuv loop when available: cheaper sockets for thousands of requests
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def run_control_plane(api_url: str, options: ControlPlaneOptions | None = None) -> None:
    """Block running the control plane (the ``shiplane cluster up`` process); Ctrl-C stops."""

    async def main() -> None:
        plane = ControlPlane(api_url, options)
        await plane.start()
        try:
            await asyncio.Event().wait()
        finally:
            await plane.stop()

    loop = _new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
