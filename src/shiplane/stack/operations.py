"""``shiplane up / status / down``: start, inspect and stop the stack's supervisor.

``stack_up`` checks the ports first (a taken port is named with its part, rather
than surfacing as a server's bind error), starts ``shiplane.stack.supervisor``
detached (its own session, output in ``<state>/stack/logs/stack.log``), records its
pid and waits until it has written the state file. Without explicit ports it reuses
the last run's (image references in Deployments name the registry's port), when
they are free. ``stack_status`` asks each part over HTTP; ``stack_down`` sends
SIGTERM and waits, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from shiplane.config import StackState, read_stack_state, running_stack, stack_dir
from shiplane.config.stack_state import process_alive as _alive
from shiplane.stack.errors import PortInUseError, StackError, StackStartError

__all__ = ["PartHealth", "StackStatus", "log_dir", "stack_down", "stack_status", "stack_up"]

START_TIMEOUT = 60.0


def log_dir(state_dir: Path) -> Path:
    return stack_dir(state_dir) / "logs"


def _pid_file(state_dir: Path) -> Path:
    return stack_dir(state_dir) / "supervisor.pid"


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


_PART_NAMES = {"registry": "registry", "api": "API server", "git": "git server"}


def _choose_ports(
    wanted: dict[str, int | None], previous: StackState | None
) -> dict[str, int]:
    """Explicit ports must be free; otherwise the previous run's port if free, else any."""
    remembered = ({"registry": previous.registry_port, "api": previous.api_port,
                   "git": previous.git_port} if previous else {})
    chosen: dict[str, int] = {}
    for part, port in wanted.items():
        if port:
            if not port_free(port):
                raise PortInUseError(
                    f"port {port} for the {_PART_NAMES[part]} is already in use on 127.0.0.1",
                    hint=f"stop what listens there, or pick another --{part}-port",
                )
            chosen[part] = port
        elif part in remembered and port_free(remembered[part]):
            chosen[part] = remembered[part]
        else:
            chosen[part] = 0  # the server picks a free one
    return chosen


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stack_up(
    state_dir: Path, *, nodes: int = 3, time_scale: float = 1.0,
    registry_port: int | None = None, api_port: int | None = None, git_port: int | None = None,
    cwd: Path | None = None, part_options: tuple[str, ...] = (),
) -> tuple[StackState, bool]:
    """Start the stack (or find it running); returns its state and whether it was started.
    ``part_options`` go to the supervisor for its optional parts (``parts.py``)."""
    state_dir = Path(state_dir).resolve()
    if nodes < 1:
        raise StackError(f"--nodes must be at least 1 (got {nodes})")
    if time_scale <= 0:
        raise StackError(f"--time-scale must be positive (got {time_scale})")
    running = running_stack(state_dir)
    if running is not None:
        return running, False
    _refuse_foreign_cluster(state_dir)
    ports = _choose_ports({"registry": registry_port, "api": api_port, "git": git_port},
                          read_stack_state(state_dir))
    logs = log_dir(state_dir)
    logs.mkdir(parents=True, exist_ok=True)
    (stack_dir(state_dir) / "state.json").unlink(missing_ok=True)
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log_file = logs / "stack.log"
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "shiplane.stack.supervisor", "--state-dir", str(state_dir),
             "--nodes", str(nodes), "--time-scale", str(time_scale),
             "--registry-port", str(ports["registry"]), "--api-port", str(ports["api"]),
             "--git-port", str(ports["git"]), *part_options],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, cwd=cwd,
        )
    _pid_file(state_dir).write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        state = read_stack_state(state_dir)
        if state is not None and state.pid == process.pid:
            return state, True
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            _pid_file(state_dir).unlink(missing_ok=True)
            raise StackStartError(
                "the embedded stack did not start:\n" + _log_tail(log_file),
                hint=f"full log: {log_file}",
            )
        time.sleep(0.1)


def _refuse_foreign_cluster(state_dir: Path) -> None:
    from shiplane.cluster.apiserver import cluster_status  # imported lazily: httpx + PKI

    info = cluster_status(state_dir, "default")
    if info.running:
        raise StackError(
            f"the embedded cluster 'default' already runs at {info.url} "
            "(started by `shiplane cluster up`)",
            hint="stop it first: shiplane cluster down",
        )


@dataclass(frozen=True)
class PartHealth:
    name: str
    endpoint: str
    healthy: bool
    detail: str = ""


@dataclass(frozen=True)
class StackStatus:
    running: bool
    state: StackState | None
    parts: list[PartHealth]
    logs: Path

    @property
    def healthy(self) -> bool:
        return self.running and all(part.healthy for part in self.parts)


def _probe(url: str, ok: tuple[int, ...] = (200,)) -> tuple[bool, str]:
    try:
        response = httpx.get(url, timeout=2.0)
    except httpx.HTTPError as error:
        return False, f"{type(error).__name__}: {error}"
    return response.status_code in ok, f"HTTP {response.status_code}"


def stack_status(state_dir: Path) -> StackStatus:
    state_dir = Path(state_dir).resolve()
    state = running_stack(state_dir)
    if state is None:
        return StackStatus(False, read_stack_state(state_dir), [], log_dir(state_dir))
    parts = []
    for name, endpoint, url in (
        ("registry", state.registry, f"http://{state.registry}/v2/"),
        ("cluster", state.api_url, f"{state.api_url}/readyz"),
        ("git", state.git_url, f"{state.git_url}/"),
    ):
        healthy, detail = _probe(url, (200, 404) if name == "git" else (200,))
        parts.append(PartHealth(name, endpoint, healthy, detail))
    for name, endpoint in sorted(state.parts.items()):  # the optional parts (parts.py)
        healthy, detail = _probe(f"{endpoint}/healthz")
        parts.append(PartHealth(name, endpoint, healthy, detail))
    if state.web_url:  # the dashboard child (python -m shiplane.web); whoami reads no data
        healthy, detail = _probe(f"{state.web_url}/api/whoami")
        parts.append(PartHealth("web", state.web_url, healthy, detail))
    if parts[1].healthy:
        nodes_ready = _ready_nodes(state)
        parts.append(PartHealth("nodes", f"{nodes_ready}/{state.nodes} Ready",
                                nodes_ready == state.nodes))
    return StackStatus(True, state, parts, log_dir(state_dir))


def _ready_nodes(state: StackState) -> int:
    try:
        nodes = httpx.get(f"{state.api_url}/api/v1/nodes", timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return 0
    return sum(
        1 for node in nodes.get("items", [])
        if any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions", []))
    )


def stack_down(state_dir: Path, timeout: float = 20.0) -> bool:
    """Stop the supervisor; False when no stack was running. Stores stay on disk."""
    state_dir = Path(state_dir).resolve()
    pid_file = _pid_file(state_dir)
    state = running_stack(state_dir)
    pid = state.pid if state else (int(pid_file.read_text()) if pid_file.exists() else None)
    stopped = False
    if pid is not None and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
        stopped = True
    pid_file.unlink(missing_ok=True)
    return stopped


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
