"""``shiplane cluster up|down|status|kubeconfig``: the API server as a background process.

Each named cluster lives in ``<state dir>/clusters/<name>/``: ``store.db`` (SQLite,
the objects), ``apiserver.pid``, ``apiserver.log``, ``endpoint`` (the URL) and
``kubeconfig`` (the ``admin`` user, a client certificate in ``system:masters``), and
``pki/`` (CA, serving certificate, ServiceAccount key: made at the first ``up``, keys 0600).
The server speaks HTTPS only. ``up`` after ``down`` reopens the same database and PKI, so
the same objects and credentials come back. :func:`user_kubeconfig_for` issues a client
certificate for another user (``shiplane cluster kubeconfig --user NAME --group G``).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from shiplane.cluster.apiserver.runner import free_port
from shiplane.cluster.auth import ClusterPKI, user_kubeconfig, write_private
from shiplane.cluster.resources.validation import is_dns1123_label
from shiplane.errors import ClusterError, UsageError

__all__ = [
    "ClusterInfo",
    "cluster_dir",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "user_kubeconfig_for",
]

_START_TIMEOUT = 20.0


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    directory: Path
    running: bool
    pid: int | None
    url: str | None

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def log_file(self) -> Path:
        return self.directory / "apiserver.log"


def cluster_dir(state_dir: Path, name: str) -> Path:
    if not is_dns1123_label(name):
        raise UsageError(
            f"cluster name {name!r} is not a DNS-1123 label",
            hint="use lower-case letters, digits and '-'",
        )
    return state_dir / "clusters" / name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(url: str, ca_file: Path | None = None) -> bool:
    verify: bool | ssl.SSLContext = True
    if ca_file is not None and ca_file.exists():
        verify = ssl.create_default_context(cafile=str(ca_file))
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0, verify=verify).status_code == 200
    except httpx.HTTPError:
        return False


def cluster_status(state_dir: Path, name: str = "default") -> ClusterInfo:
    directory = cluster_dir(state_dir, name)
    pid_file, endpoint = directory / "apiserver.pid", directory / "endpoint"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    url = endpoint.read_text().strip() if endpoint.exists() else None
    running = (pid is not None and _pid_alive(pid) and url is not None
               and _healthy(url, directory / "pki" / "ca.crt"))
    return ClusterInfo(name, directory, running, pid if running else None, url)


def cluster_up(
    state_dir: Path,
    name: str = "default",
    port: int | None = None,
    *,
    nodes: int = 3,
    node_spec: Path | None = None,
    time_scale: float = 1.0,
    service_proxy: bool = True,
    ingress_port: int | None = None,
    runtime: str | None = None,
) -> ClusterInfo:
    """Start the API server for cluster ``name`` (no-op when it already runs), then the
    control plane (controllers, scheduler, ``nodes`` simulated nodes, the Service proxy and,
    with ``ingress_port``, the Ingress controller) against it.
    ``runtime="process"`` makes every node run its pods for real."""
    # controllers and simulated nodes: shiplane.cluster.control_plane_process (issue 7)
    from shiplane.cluster.control_plane_process import control_plane_options, spawn_control_plane

    control_plane_options(nodes, node_spec, time_scale, runtime=runtime,
                          service_proxy=service_proxy,
                          ingress_port=ingress_port)  # bad input: no start
    info = cluster_status(state_dir, name)
    if info.running:
        if port and info.url and not info.url.endswith(f":{port}"):
            raise UsageError(
                f"cluster {name!r} already runs at {info.url}",
                hint=f"run 'shiplane cluster down --name {name}' first",
            )
        return info
    directory = info.directory
    directory.mkdir(parents=True, exist_ok=True)
    if port is None and info.url:
        previous = int(info.url.rsplit(":", 1)[1])
        port = previous if _port_free(previous) else None
    port = port or free_port()
    url = f"https://127.0.0.1:{port}"
    pki = ClusterPKI.ensure(directory / "pki", name)
    epoch = time.time()  # both processes accelerate the cluster clock from this instant
    src = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(directory / "apiserver.log", "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shiplane.cluster.apiserver.serve",
                "--db",
                str(directory / "store.db"),
                "--port",
                str(port),
                "--pki",
                str(directory / "pki"),
                "--name",
                name,
                "--time-scale",
                str(time_scale),
                "--clock-epoch",
                repr(epoch),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=directory,
        )
    (directory / "apiserver.pid").write_text(str(process.pid))
    (directory / "endpoint").write_text(url)
    deadline = time.monotonic() + _START_TIMEOUT
    while not _healthy(url, pki.ca_file):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.terminate()
            (directory / "apiserver.pid").unlink(missing_ok=True)
            raise ClusterError(
                f"the API server for cluster {name!r} did not start",
                hint=f"see {directory / 'apiserver.log'}",
            )
        time.sleep(0.1)
    admin = user_kubeconfig(url, pki.ca.cert_pem, pki.admin, cluster_name=f"shiplane-{name}",
                            user="admin")
    write_private(directory / "kubeconfig", admin.encode())
    spawn_control_plane(directory, url, nodes=nodes, node_spec=node_spec, time_scale=time_scale,
                        kubeconfig=directory / "kubeconfig", runtime=runtime,
                        service_proxy=service_proxy, ingress_port=ingress_port,
                        clock_epoch=epoch)
    return ClusterInfo(name, directory, True, process.pid, url)


def user_kubeconfig_for(state_dir: Path, name: str, user: str, groups: list[str],
                        namespace: str = "default") -> str:
    """A kubeconfig for ``user`` in ``groups`` with a fresh client certificate signed by
    the cluster CA (RBAC then decides what the user may do)."""
    info = cluster_status(state_dir, name)
    if not (info.directory / "pki" / "ca.key").exists() or info.url is None:
        raise UsageError(f"cluster {name!r} has no certificate authority yet",
                         hint=f"run 'shiplane cluster up --name {name}'")
    pki = ClusterPKI.ensure(info.directory / "pki", name)
    client = pki.ca.issue_client(user, groups)
    return user_kubeconfig(info.url, pki.ca.cert_pem, client, cluster_name=f"shiplane-{name}",
                           user=user, namespace=namespace)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_down(state_dir: Path, name: str = "default", timeout: float = 10.0) -> bool:
    """Stop the API server; returns False when it was not running."""
    directory = cluster_dir(state_dir, name)
    from shiplane.cluster.control_plane_process import stop_control_plane

    stop_control_plane(directory)
    pid_file = directory / "apiserver.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    stopped = False
    if _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    pid_file.unlink(missing_ok=True)
    return stopped
