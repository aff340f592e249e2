"""The control plane as a background process next to ``shiplane cluster up``'s API server.

``python -m shiplane.cluster.control_plane_process --api-url URL [--nodes N] [--node-spec FILE]
[--time-scale X] [--clock-epoch T] [--runtime simulated|process] [--no-service-proxy]
[--ingress-port P]`` runs :func:`run_control_plane`. :func:`spawn_control_plane` starts it
detached with ``controlplane.pid`` / ``controlplane.log`` in the cluster's folder, and
:func:`stop_control_plane` stops it; ``shiplane cluster up/down`` call these.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from shiplane.cluster.control_plane import ControlPlaneOptions, run_control_plane
from shiplane.cluster.nodes.node_spec import RUNTIMES, default_node_specs, load_node_specs
from shiplane.errors import UsageError

__all__ = ["control_plane_options", "main", "spawn_control_plane", "stop_control_plane"]


def control_plane_options(
    nodes: int, node_spec: Path | None, time_scale: float, kubeconfig: Path | None = None,
    clock_epoch: float | None = None,
    *, runtime: str | None = None, service_proxy: bool = True, ingress_port: int | None = None,
) -> ControlPlaneOptions:
    if runtime is not None and runtime not in RUNTIMES:
        raise UsageError(f"--runtime must be simulated or process, not {runtime!r}")
    if time_scale <= 0:
        raise UsageError(f"--time-scale must be positive, not {time_scale}")
    if node_spec is None and nodes < 0:
        raise UsageError(f"--nodes must be 0 or more, not {nodes}")
    specs = load_node_specs(node_spec) if node_spec is not None else default_node_specs(nodes)
    if runtime == "process" or any(spec.runtime == "process" for spec in specs):
        missing = [tool for tool in ("bwrap", "nsenter") if shutil.which(tool) is None]
        if missing:
            raise UsageError(f"the process runtime needs {' and '.join(missing)}, not installed",
                             hint="apt-get install bubblewrap util-linux (scripts/setup.sh)")
    if ingress_port is not None and not 0 <= ingress_port <= 65535:
        raise UsageError(f"--ingress-port must be a TCP port (0-65535), not {ingress_port}")
    return ControlPlaneOptions(nodes=specs, time_scale=time_scale, kubeconfig=kubeconfig,
                               clock_epoch=clock_epoch, runtime=runtime,
                               service_proxy=service_proxy, ingress_port=ingress_port)


def spawn_control_plane(
    directory: Path, api_url: str, *, nodes: int = 3, node_spec: Path | None = None,
    time_scale: float = 1.0,
    kubeconfig: Path | None = None,
    clock_epoch: float | None = None,
    runtime: str | None = None,
    service_proxy: bool = True,
    ingress_port: int | None = None,
) -> int:
    """Start the control plane process for the API server at ``api_url``; returns its pid."""
    control_plane_options(nodes, node_spec, time_scale, runtime=runtime,
                          service_proxy=service_proxy,
                          ingress_port=ingress_port)  # bad input: no start
    stop_control_plane(directory)
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [sys.executable, "-m", "shiplane.cluster.control_plane_process", "--api-url", api_url,
            "--nodes", str(nodes), "--time-scale", str(time_scale)]
    if node_spec is not None:
        args += ["--node-spec", str(node_spec.resolve())]
    if kubeconfig is not None:
        args += ["--kubeconfig", str(kubeconfig.resolve())]
    if clock_epoch is not None:  # the API server's: both read the same cluster time
        args += ["--clock-epoch", repr(clock_epoch)]
    if runtime is not None:
        args += ["--runtime", runtime]
    if not service_proxy:
        args += ["--no-service-proxy"]
    if ingress_port is not None:
        args += ["--ingress-port", str(ingress_port)]
    with open(directory / "controlplane.log", "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                   cwd=directory)
    (directory / "controlplane.pid").write_text(str(process.pid))
    return process.pid


def stop_control_plane(directory: Path, timeout: float = 10.0) -> bool:
    pid_file = directory / "controlplane.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink(missing_ok=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shiplane-control-plane")
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--node-spec", type=Path)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--clock-epoch", type=float)
    parser.add_argument("--runtime", choices=RUNTIMES)
    parser.add_argument("--no-service-proxy", action="store_true")
    parser.add_argument("--ingress-port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_control_plane(args.api_url, control_plane_options(
        args.nodes, args.node_spec, args.time_scale, args.kubeconfig, args.clock_epoch,
        runtime=args.runtime, service_proxy=not args.no_service_proxy,
        ingress_port=args.ingress_port))


if __name__ == "__main__":
    main()
