"""Where the running embedded stack (``shiplane up``) can be reached.

``shiplane up`` writes ``<state_dir>/stack/state.json`` once every part answers;
``pipeline run`` and ``deploy`` read it so the embedded registry needs no
``--registry``. The file is only believed while the supervisor that wrote it is
alive: a stale file of a crashed stack reads as "no stack" (its ports are still
in it, for ``up`` to reuse).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["StackState", "process_alive", "read_stack_state", "running_stack", "stack_dir", "write_stack_state"]


@dataclass(frozen=True)
class StackState:
    pid: int  # the supervisor
    registry: str  # "127.0.0.1:<port>" (what image references use)
    api_url: str
    kubeconfig: str
    git_url: str
    cluster: str = "default"
    nodes: int = 3
    time_scale: float = 1.0
    parts: dict[str, str] = field(default_factory=dict)  # optional part -> endpoint
    web_url: str = ""  # the dashboard (python -m shiplane.web), "" if it did not start

    @property
    def registry_port(self) -> int:
        return int(self.registry.rsplit(":", 1)[1])

    @property
    def api_port(self) -> int:
        return int(self.api_url.rsplit(":", 1)[1])

    @property
    def git_port(self) -> int:
        return int(self.git_url.rsplit(":", 1)[1].split("/", 1)[0])


def stack_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "stack"


def write_stack_state(state_dir: Path, state: StackState) -> Path:
    path = stack_dir(state_dir) / "state.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2) + "\n")
    temporary.replace(path)
    return path


def read_stack_state(state_dir: Path) -> StackState | None:
    """The last state written, running or not (None when there is none or it is unreadable)."""
    path = stack_dir(state_dir) / "state.json"
    try:
        return StackState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def running_stack(state_dir: Path) -> StackState | None:
    """The state of a stack whose supervisor is alive, else None."""
    state = read_stack_state(state_dir)
    return state if state is not None and process_alive(state.pid) else None
