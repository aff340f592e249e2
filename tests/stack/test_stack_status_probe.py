"""``stack_status`` probes the dashboard named in the state file (``web_url``): a quick check
without starting a stack (the supervisor's pid is this test process, so the stack counts as
running; its other parts point at closed ports). The live stack test sees it ``ok``."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from shiplane.config import StackState, write_stack_state
from shiplane.stack import stack_status


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _state(tmp_path: Path, web_url: str) -> Path:
    port = _closed_port()
    write_stack_state(tmp_path, StackState(
        pid=os.getpid(), registry=f"127.0.0.1:{port}", api_url=f"http://127.0.0.1:{port}",
        kubeconfig=str(tmp_path / "kubeconfig"), git_url=f"http://127.0.0.1:{port}",
        web_url=web_url))
    return tmp_path


def test_a_dashboard_that_does_not_answer_is_reported_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    report = stack_status(_state(tmp_path, url))
    web = next(p for p in report.parts if p.name == "web")
    assert (web.endpoint, web.healthy) == (url, False)
    assert "ConnectError" in web.detail and not report.healthy


def test_no_web_part_when_the_stack_started_no_dashboard(tmp_path: Path) -> None:
    report = stack_status(_state(tmp_path, ""))
    assert report.running and "web" not in [p.name for p in report.parts]
