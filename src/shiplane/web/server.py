"""Serving the dashboard: :class:`WebServer` (uvicorn on a thread) and :func:`open_dashboard`.

``shiplane ui`` serves in the foreground; ``shiplane up``'s supervisor starts
``python -m shiplane.web`` (this module's :func:`main`) as a child process — the
stack sits below the web layer and never imports it. Open Server-Sent Event
streams never end by themselves, so shutdown waits at most a second for them.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import uvicorn

from shiplane.config import find_config, load_workspace
from shiplane.serving import ServerStartError, ThreadedServer
from shiplane.web.action_log import FileActionLog
from shiplane.web.app import build_app
from shiplane.web.auth import Users, users_file
from shiplane.web.backend import WorkspaceBackend
from shiplane.web.errors import WebError

__all__ = ["WebServer", "main", "open_dashboard"]

log = logging.getLogger("shiplane.web")


def open_dashboard(state_dir: Path, *, platform_dir: Path | None = None,
                   gitops_kubeconfig: Path | None = None, gitops_context: str | None = None,
                   config: Path | None = None) -> Any:
    """The app for a workspace: its environments, runs, users file and action log."""
    path = config or find_config()
    workspace = load_workspace(path) if path else load_workspace(None)
    backend = WorkspaceBackend(Path(state_dir), workspace, platform_dir=platform_dir,
                               gitops_kubeconfig=gitops_kubeconfig,
                               gitops_context=gitops_context,
                               actions=FileActionLog(Path(state_dir) / "web" / "actions.jsonl"))
    users_path = users_file(Path(state_dir))
    return build_app(backend, lambda: Users.load(users_path))


class WebServer:
    """The dashboard on ``host:port`` (0: a free port) in a daemon thread."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(app, host=host, port=port, lifespan="off", access_log=False,
                                log_level="warning", timeout_graceful_shutdown=1)
        self._host = host
        self._server = ThreadedServer(config, name="shiplane-web")

    @property
    def port(self) -> int:
        return self._server.bound_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, timeout: float = 10.0) -> WebServer:
        try:
            self._server.start(timeout)
        except ServerStartError as error:
            raise WebError(str(error), hint=error.hint) from None
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_with_parent(parent_pid: int, stop: threading.Event, interval: float = 1.0) -> None:
    """Set ``stop`` once ``parent_pid`` is no longer our parent: a supervisor killed with
    SIGKILL cannot stop its children, so the child notices it was reparented."""
    while not stop.wait(interval):
        if os.getppid() != parent_pid:
            log.info("parent %d is gone: stopping", parent_pid)
            stop.set()


def main(argv: list[str] | None = None) -> int:
    """``python -m shiplane.web --state-dir D --port P``: serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="shiplane-web")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--platform", type=Path, default=None)
    parser.add_argument("--parent-pid", type=int, default=0,
                        help="stop when this process is gone (the stack supervisor)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.parent_pid:
        threading.Thread(target=_stop_with_parent, args=(args.parent_pid, stop), daemon=True,
                         name="parent-watch").start()
    app = open_dashboard(args.state_dir.resolve(), platform_dir=args.platform)
    with WebServer(app, host=args.host, port=args.port) as server:
        log.info("dashboard serving at %s", server.url)
        stop.wait()
    return 0
