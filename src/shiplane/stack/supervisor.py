"""``python -m shiplane.stack.supervisor``: the one background process of ``shiplane up``.

It runs, on loopback ports, each on its own threads:

* the registry (``EmbeddedRegistry`` over ``DiskStorage`` in ``<state>/stack/registry``);
* the cluster: the API server over the same SQLite store as ``shiplane cluster up``
  (``<state>/clusters/default/store.db``), the controllers and N simulated nodes;
* the local git server whose pushes to ``main`` run the pipeline (runs in
  ``<state>/workspace.db``, repos in ``<state>/git``), pushing to this registry;
* the optional parts of ``parts.OPTIONAL_PARTS`` that are enabled (e.g. the GitOps
  controller with its webhook when ``--platform`` names a platform repo);
* the web dashboard as a child process (``python -m shiplane.web``: the web layer sits
  above the stack, which starts it by module name and never imports it).

It writes ``clusters/default/{apiserver.pid,endpoint,kubeconfig}`` (so ``deploy``
finds the embedded cluster as it finds ``cluster up``'s) and then the stack state
file, and stops everything in reverse order on SIGTERM/SIGINT. Every store is on
disk, so a new supervisor after a crash serves the same images, objects and runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from shiplane.config import StackState, Workspace, find_config, load_workspace, write_stack_state
from shiplane.stack.parts import OPTIONAL_PARTS, PartContext

__all__ = ["main"]

log = logging.getLogger("shiplane.stack")


def _workspace(state_dir: Path) -> Workspace:
    path = find_config()
    workspace = load_workspace(path) if path else Workspace()
    return workspace.model_copy(update={"state_dir": state_dir})


def _start_dashboard(state_dir: Path, port: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """The dashboard child process and its URL, once it answers (or raise)."""
    if not port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    with open(log_path, "ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "shiplane.web", "--state-dir",
                                  str(state_dir), "--port", str(port),
                                  "--parent-pid", str(os.getpid())],
                                 stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if httpx.get(url + "/api/whoami", timeout=1).status_code == 200:
                return child, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    child.kill()
    raise RuntimeError(f"the dashboard did not start on port {port} (see {log_path})")


def _stop_child(child: subprocess.Popen) -> None:
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shiplane-stack")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--registry-port", type=int, default=0)
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--git-port", type=int, default=0)
    for part in OPTIONAL_PARTS:
        part.add_options(parser)
    parser.add_argument("--web-port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = args.state_dir.resolve()

    # imported here: each part pulls in its web server
    from shiplane.cluster.apiserver.runner import ApiServerRunner
    from shiplane.cluster.clock import ClusterClock
    from shiplane.cluster.control_plane import ControlPlaneOptions, ControlPlaneRunner
    from shiplane.cluster.nodes.node_spec import default_node_specs
    from shiplane.cluster.store.sqlite import SqliteObjectStore
    from shiplane.pipeline import RunSettings
    from shiplane.pipeline.embedded import PipelineServer
    from shiplane.registry import EmbeddedRegistry
    from shiplane.registry.disk import DiskStorage

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cluster_dir = state_dir / "clusters" / "default"
    cluster_dir.mkdir(parents=True, exist_ok=True)
    stopping: list = []
    try:
        registry = EmbeddedRegistry(DiskStorage(state_dir / "stack" / "registry"),
                                    port=args.registry_port)
        registry.start()
        stopping.append(registry.stop)
        log.info("registry serving at %s", registry.url)

        store = SqliteObjectStore(cluster_dir / "store.db")
        stopping.append(store.close)
        clock = ClusterClock(args.time_scale)  # shared: the API server's and controllers' time
        apiserver = ApiServerRunner(store, port=args.api_port, name="shiplane-default",
                                    clock=clock).start()
        stopping.append(apiserver.stop)
        kubeconfig = apiserver.write_kubeconfig(cluster_dir / "kubeconfig")
        log.info("API server serving at %s", apiserver.url)
        options = ControlPlaneOptions(nodes=default_node_specs(args.nodes),
                                      time_scale=args.time_scale, clock_epoch=clock.epoch)
        control_plane = ControlPlaneRunner(apiserver.url, options).start()
        stopping.append(control_plane.stop)
        log.info("controllers and %d simulated nodes running (time x%s)", args.nodes,
                 args.time_scale)

        pipeline = PipelineServer(state_dir, workspace=_workspace(state_dir), env="dev",
                                  settings=RunSettings(registry=registry.host),
                                  port=args.git_port).start()
        stopping.append(pipeline.stop)
        log.info("git server serving at %s (a push to main runs the pipeline to dev)",
                 pipeline.url)

        endpoints = {}
        context = PartContext(state_dir, args, kubeconfig, registry.host, pipeline.url)
        for part in (p for p in OPTIONAL_PARTS if p.enabled(args)):
            started = part.start(context)
            stopping.append(started.stop)
            endpoints[part.name] = started.endpoint
        dashboard, web_url = _start_dashboard(state_dir, args.web_port,
                                              state_dir / "stack" / "logs" / "web.log")
        stopping.append(lambda: _stop_child(dashboard))
        log.info("dashboard serving at %s", web_url)

        (cluster_dir / "endpoint").write_text(apiserver.url)
        (cluster_dir / "apiserver.pid").write_text(str(os.getpid()))
        write_stack_state(state_dir, StackState(
            pid=os.getpid(), registry=registry.host, api_url=apiserver.url,
            kubeconfig=str(kubeconfig), git_url=pipeline.url, nodes=args.nodes,
            time_scale=args.time_scale, parts=endpoints, web_url=web_url,
        ))
        log.info("stack ready")
        stop.wait()
        log.info("stopping")
    except Exception:
        log.exception("the stack failed")
        return 1
    finally:
        pid_file = cluster_dir / "apiserver.pid"
        if pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()
        for action in reversed(stopping):
            try:
                action()
            except Exception:  # noqa: BLE001 - stop the rest anyway
                log.exception("while stopping")
        log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
