"""The container runtime seam of the embedded kubelet: simulated or real processes, per node.

A node's runtime (node spec ``runtime: simulated|process``, or cluster-wide
``shiplane cluster up --runtime process`` / ``ControlPlaneOptions(runtime="process")``) makes
the node's pod workers and answers for what only it knows::

    class ContainerRuntime(Protocol):
        name: str                                    # "simulated" | "process"
        def new_worker(node, pod) -> PodWorker       # the pod's worker, with its pod IP
        def usage(pod, sampler="default") -> {"cpu_millicores": int, "memory_bytes": int}
        def log_reader(worker, container_id) -> LogReader | None
        async def close() -> None                    # kill whatever still runs

* :class:`SimulatedRuntime` (the default, built for thousands of pods): :class:`PodWorker`
  with a ``10.244.<node>.<n>`` pod IP; usage is what the pod declares in the
  ``sim.shiplane.dev/cpu-millicores`` / ``memory-bytes`` annotations (or ``SHIPLANE_SIM_*``
  env), summed over containers; the log of a simulated container is synthetic — one CRI line
  when the instance started and one when it exited, for example::

      2026-01-01T10:00:00.000000000Z stdout F [shiplane simulated container] web started (image reg/web:1.0)
      2026-01-01T10:00:05.000000000Z stdout F [shiplane simulated container] web exited with code 1 (Error)

* :class:`ProcessRuntime`: :class:`~shiplane.cluster.nodes.process_worker.ProcessPodWorker`
  running the image for real (:mod:`.bwrap_containers`), a loopback pod IP whose
  ``containerPort``\\ s are forwarded into the pod's netns (:mod:`.pod_network`), real logs and
  usage measured from ``/proc`` (:meth:`ProcessRuntime.usage`, what the HPA reads).
  A ``hostNetwork: true`` pod keeps the host's network namespace (it reaches the API server,
  registries and git servers on the host, as a real node's host-network pods do): its pod IP is
  ``127.0.0.1`` and its ports are the host's, shared by every process node of this host, so two
  such pods cannot listen on one port (upstream keeps them apart with hostPorts per node).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shiplane.cluster.decisions.clock import parse_time
from shiplane.cluster.decisions.container_log import LogRecord, format_record
from shiplane.cluster.decisions.sim_behaviour import InvalidBehaviour, behaviour_for
from shiplane.cluster.nodes.bwrap_containers import BwrapContainers, ContainerInstance
from shiplane.cluster.nodes.images import ContentStore
from shiplane.cluster.nodes.pod_network import PodAddressAllocator, PodNetworkError, PortForwarder
from shiplane.cluster.nodes.pod_worker import PodWorker

if TYPE_CHECKING:
    from shiplane.cluster.nodes.kubelet import SimulatedNode

__all__ = ["RUNTIMES", "ContainerRuntime", "FileLogReader", "LogReader", "ProcessRuntime",
           "SimulatedRuntime", "StaticLogReader"]

log = logging.getLogger(__name__)
HOST_NETWORK_IP = "127.0.0.1"
from shiplane.cluster.nodes.node_spec import RUNTIMES  # noqa: E402  (one list)


class LogReader(Protocol):
    live: bool  # more lines may come (the instance still runs)

    def read_new(self) -> list[bytes]:
        """Complete CRI lines written since the last call."""
        ...


class ContainerRuntime(Protocol):
    name: str

    def new_worker(self, node: SimulatedNode, pod: dict) -> PodWorker: ...

    def usage(self, pod: dict, sampler: str = "default") -> dict[str, int]: ...

    def log_reader(self, worker: PodWorker, container_id: str) -> LogReader | None: ...

    async def close(self) -> None: ...


class StaticLogReader:
    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines
        self.live = False

    def read_new(self) -> list[bytes]:
        lines, self._lines = self._lines, []
        return lines


class FileLogReader:
    """Follows one instance's CRI log file."""

    def __init__(self, path: Path, instance: ContainerInstance) -> None:
        self.path = path
        self.instance = instance
        self.offset = 0
        self.pending = b""

    @property
    def live(self) -> bool:
        return self.instance.running or not self.instance.output_done.is_set()

    def read_new(self) -> list[bytes]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.pending + data
        lines = data.split(b"\n")
        self.pending = lines.pop()
        return [line + b"\n" for line in lines]


def _sim_line(moment: datetime | None, text: str) -> list[bytes]:
    if moment is None:
        return []
    return [format_record(LogRecord(moment, "stdout", False, text.encode()))]


class SimulatedRuntime:
    name = "simulated"

    def new_worker(self, node: SimulatedNode, pod: dict) -> PodWorker:
        return PodWorker(node, pod, node.allocate_ip())

    def usage(self, pod: dict, sampler: str = "default") -> dict[str, int]:
        cpu = memory = 0
        for container in (pod.get("spec") or {}).get("containers") or []:
            try:
                behaviour = behaviour_for(pod, container)
            except InvalidBehaviour:
                continue
            cpu += behaviour.cpu_millicores
            memory += behaviour.memory_bytes
        return {"cpu_millicores": cpu, "memory_bytes": memory}

    def log_reader(self, worker: PodWorker, container_id: str) -> LogReader | None:
        prefix = "[shiplane simulated container]"
        for name, record in worker.records.items():
            if record.container_id == container_id and record.started_at is not None:
                lines = _sim_line(record.started_at,
                                  f"{prefix} {name} started (image {record.image})")
                if record.finished_at is not None:
                    lines += _sim_line(record.finished_at, f"{prefix} {name} exited with code "
                                       f"{record.exit_code} ({record.exit_reason})")
                return StaticLogReader(lines)
            last = record.last_terminated or {}
            if last.get("containerID") == container_id:
                lines = _sim_line(parse_time(last.get("startedAt")),
                                  f"{prefix} {name} started (image {record.image})")
                lines += _sim_line(parse_time(last.get("finishedAt")),
                                   f"{prefix} {name} exited with code {last.get('exitCode')} "
                                   f"({last.get('reason')})")
                return StaticLogReader(lines)
        return None

    async def close(self) -> None:
        return None


class ProcessRuntime:
    """Real processes for the pods of process-runtime nodes (one per control plane)."""

    name = "process"

    def __init__(self, directory: Path, content: ContentStore) -> None:
        self.containers = BwrapContainers(directory, content)
        self.addresses: dict[str, PodAddressAllocator] = {}

    def new_worker(self, node: SimulatedNode, pod: dict) -> PodWorker:
        from shiplane.cluster.nodes.process_worker import ProcessPodWorker  # needs PodWorker

        if pod["spec"].get("hostNetwork"):
            # the host's network namespace: every process node is this one host, so the pod
            # answers on the host's loopback (not the node's simulated 10.0.x.y address)
            return ProcessPodWorker(node, pod, self, HOST_NETWORK_IP, PortForwarder([]))
        ports = sorted({int(port["containerPort"])
                        for container in pod["spec"].get("containers") or []
                        for port in container.get("ports") or []
                        if (port.get("protocol") or "TCP") == "TCP" and port.get("containerPort")})
        allocator = self.addresses.get(node.name)
        if allocator is None:
            allocator = self.addresses[node.name] = PodAddressAllocator(node.index)
        try:
            ip, sockets = allocator.allocate(ports)
        except PodNetworkError as exc:  # ports taken everywhere: the pod runs, unreachable
            log.warning("pod %s: %s", pod["metadata"].get("name"), exc)
            ip, sockets = allocator.allocate([])
        return ProcessPodWorker(node, pod, self, ip, PortForwarder(sockets))

    def release(self, worker: PodWorker) -> None:
        allocator = self.addresses.get(worker.node.name)
        if allocator is not None and worker.pod_ip != HOST_NETWORK_IP:
            allocator.release(worker.pod_ip)

    def usage(self, pod: dict, sampler: str = "default") -> dict[str, int]:
        """CPU (millicores) and memory (bytes) the pod's processes use now; see
        :meth:`BwrapContainers.usage` for how they are measured (one CPU window per
        ``sampler``)."""
        return self.containers.usage(pod, sampler)

    def log_reader(self, worker: PodWorker, container_id: str) -> LogReader | None:
        found = getattr(worker, "log_files", {}).get(container_id)
        if found is None:
            return None
        path, instance = found
        return FileLogReader(path, instance)

    async def close(self) -> None:
        for uid in list(self.containers.sandboxes):
            with contextlib.suppress(Exception):
                await self.containers.remove_sandbox(uid)
