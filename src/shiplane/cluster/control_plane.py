"""The control plane: every controller, the scheduler and the simulated nodes on one event loop.

``ControlPlane(api_url, options)`` talks to an API server at ``api_url`` only over HTTP. Use it
in-process with :class:`ControlPlaneRunner` (a background thread, for tests, benchmarks and
``shiplane.testing``), or block in :func:`run_control_plane` (the ``shiplane cluster up``
process). Informers start first; controllers begin once every informer has listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field, replace
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
from shiplane.cluster.network.endpoint_table import EndpointTable
from shiplane.cluster.network.ingress_controller import IngressController
from shiplane.cluster.network.service_proxy import ServiceProxy
from shiplane.cluster.nodes.images import ContentStore, ImagePuller, RoleCredentials
from shiplane.cluster.nodes.kubelet import NodeFleet
from shiplane.cluster.nodes.kubelet_server import KubeletServer
from shiplane.cluster.nodes.node_spec import NodeSpec, default_node_specs
from shiplane.cluster.nodes.pod_worker import PodWorker
from shiplane.cluster.nodes.runtime import (
    RUNTIMES,
    ContainerRuntime,
    ProcessRuntime,
    SimulatedRuntime,
)
from shiplane.errors import ClusterError, UsageError
from shiplane.serving import LoopThread

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
    service_proxy: bool = False  # serve each Service port on loopback (shiplane.cluster.network)
    ingress_port: int | None = None  # the Ingress controller's loopback HTTP port
    # "process": every node runs pods for real (else each node spec's own ``runtime``)
    runtime: str | None = None
    # blobs, unpacked images, pod root filesystems and container logs of process nodes
    # (default: a fresh world-searchable folder under the system temp dir)
    runtime_dir: Path | None = None
    kubelet_port: int = 0  # the kubelet API (containerLogs) on 127.0.0.1; 0 = any free port
    clock_epoch: float | None = None  # the API server's clock epoch (shiplane.cluster.clock)


RUNTIME_DIR_PREFIX = "shiplane-runtime-"


def _remove_orphaned_runtime_dirs() -> None:
    """Temp runtime folders whose control plane process died without stopping (SIGKILL)."""
    for folder in Path(tempfile.gettempdir()).glob(RUNTIME_DIR_PREFIX + "*"):
        try:
            pid = int((folder / "owner.pid").read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue  # no owner file (yet), or not ours to judge


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
        nodes = self.options.nodes
        if self.options.runtime is not None:
            if self.options.runtime not in RUNTIMES:
                raise UsageError(f"runtime must be one of {', '.join(RUNTIMES)}, "
                                 f"not {self.options.runtime!r}")
            nodes = [replace(spec, runtime=self.options.runtime) for spec in nodes]
        runtimes: dict[str, ContainerRuntime] = {"simulated": SimulatedRuntime()}
        # Service traffic (process pods' port forwarders, the Service proxy's relays) runs on a
        # loop of its own: on a node it is the kernel's, never queued behind controllers
        self.data_plane: LoopThread | None = None
        if self.options.service_proxy or any(spec.runtime == "process" for spec in nodes):
            self.data_plane = LoopThread("data-plane").start()
        store = ContentStore()
        self._own_runtime_dir: str | None = None
        if any(spec.runtime == "process" for spec in nodes):
            directory = self.options.runtime_dir
            if directory is None:
                _remove_orphaned_runtime_dirs()
                self._own_runtime_dir = tempfile.mkdtemp(prefix=RUNTIME_DIR_PREFIX)
                directory = Path(self._own_runtime_dir)
                (directory / "owner.pid").write_text(str(os.getpid()))
            store = ContentStore(directory=directory / "blobs")
            runtimes["process"] = ProcessRuntime(directory, store, self.data_plane)
        self.runtimes = runtimes
        self.puller = ImagePuller(store, role_credentials=self.options.role_credentials,
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
        self.fleet = NodeFleet(self.ctx, nodes, self.puller, runtimes)
        self.kubelet_server: KubeletServer | None = None
        self.service_proxy: ServiceProxy | None = None
        self.ingress: IngressController | None = None
        if self.options.service_proxy or self.options.ingress_port is not None:
            table = EndpointTable(self.ctx)
            if self.options.service_proxy:
                self.service_proxy = ServiceProxy(self.ctx, table, self.data_plane)
            if self.options.ingress_port is not None:
                self.ingress = IngressController(self.ctx, table, self.options.ingress_port)
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        if self.ingress is not None:
            self.ingress.bind()
        self.kubelet_server = KubeletServer(self.fleet, self.options.kubelet_port)
        await self.kubelet_server.start()
        self.fleet.kubelet_port = self.kubelet_server.port
        await self.fleet.register()
        for informer in self.ctx.informers.values():
            self._tasks.append(asyncio.ensure_future(informer.run()))
        await asyncio.gather(*(i.synced.wait() for i in self.ctx.informers.values()))
        self._tasks.append(asyncio.ensure_future(self.recorder.run()))
        self._tasks.append(asyncio.ensure_future(self.fleet.run()))
        for controller in self.controllers:
            self._tasks.append(asyncio.ensure_future(controller.run()))
        for component in (self.service_proxy, self.ingress):
            if component is not None:
                self._tasks.append(asyncio.ensure_future(component.run()))

    def usage(self, pod: dict) -> dict[str, int]:
        """``{"cpu_millicores", "memory_bytes"}`` of a pod from its node's runtime (measured
        for process pods, declared for simulated ones); see ``shiplane.cluster.nodes.runtime``."""
        return self.fleet.usage(pod)

    async def stop(self) -> None:
        worker_tasks = []
        for worker_set in (node.workers.values() for node in self.fleet.nodes.values()):
            for worker in list(worker_set):
                PodWorker.discard(worker)
                worker_tasks += [t for t in [worker.main, *worker.tasks] if t is not None]
        with contextlib.suppress(asyncio.TimeoutError):  # cancelled workers unwind first
            await asyncio.wait_for(asyncio.gather(*worker_tasks, return_exceptions=True), 5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runtime in self.runtimes.values():
            await runtime.close()
        if self.data_plane is not None:
            await asyncio.to_thread(self.data_plane.stop)
        if self.kubelet_server is not None:
            await self.kubelet_server.stop()
        if self._own_runtime_dir is not None:
            await asyncio.to_thread(shutil.rmtree, self._own_runtime_dir, True)
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


# The data-plane thread waits for the GIL whenever the control plane's loop runs Python; a
# waiting thread asks for it after the switch interval (5 ms by default), once per wake-up, and a
# relayed request wakes the data plane several times. 1 ms bounds that wait nearer to what a
# kernel data path costs, for a little more switching while both threads are busy.
DATA_PLANE_SWITCH_INTERVAL = 0.001


def run_control_plane(api_url: str, options: ControlPlaneOptions | None = None) -> None:
    """Block running the control plane (the ``shiplane cluster up`` process); Ctrl-C stops."""

    planes: list[ControlPlane] = []
    sys.setswitchinterval(DATA_PLANE_SWITCH_INTERVAL)  # this process is ours alone

    async def main() -> None:
        planes.append(ControlPlane(api_url, options))
        await planes[0].start()
        await asyncio.Event().wait()

    loop = _new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        # SIGTERM/Ctrl-C arrive as exceptions out of the loop: stop here, so the process
        # runtime's containers are stopped and its folder removed
        if planes:
            try:
                loop.run_until_complete(asyncio.wait_for(planes[0].stop(), 15))
            except Exception as exc:  # a stop that fails must not hide why we exit
                log.warning("control plane stop: %s", exc)
        loop.close()
