"""``shiplane up / status / down`` with real processes: the supervisor, its parts, a pipeline
run that needs no --registry, resume after a crash (kill -9), clear port conflicts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shiplane.build import Builder, create_base_images
from shiplane.config import Workspace, read_stack_state, running_stack
from shiplane.pipeline import MemoryRunStore, PipelineRunner, RunRequest, RunSettings, RunStatus
from shiplane.release import deploy
from shiplane.scaffold import init_service
from shiplane.stack import PortInUseError, stack_status, stack_up

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiplane", *args, "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=90,
                          env={**os.environ, "PYTHONPATH": SRC})


def _dashboard_pids(state: Path) -> list[int]:
    """Live ``python -m shiplane.web --state-dir STATE`` processes."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"shiplane.web" in args and str(state).encode() in args and \
                stat.rpartition(")")[2].split()[0] != "Z":
            pids.append(int(entry.name))
    return pids


def test_up_status_pipeline_crash_resume_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    service_repo = init_service("payment-service", directory=tmp_path).path
    result = cli("up", "--nodes", "2", "--time-scale", "30", state=state)
    assert result.returncode == 0, result.stderr
    try:
        first = running_stack(state)
        assert first is not None and f"registry:   {first.registry}" in result.stdout
        status = cli("status", state=state)
        assert status.returncode == 0, status.stdout + status.stderr
        for part in ("registry", "cluster", "git", "web", "nodes"):
            assert f"ok   {part}" in status.stdout, status.stdout
        assert "2/2 Ready" in status.stdout
        assert (state / "stack" / "logs" / "stack.log").read_text().count("stack ready") == 1
        again, started = stack_up(state)
        assert (again.pid, started) == (first.pid, False)  # reused, not a second stack

        # a pipeline run finds the stack's registry and cluster without being told
        create_base_images(Builder.at(state), names=("python",))
        runner = PipelineRunner(MemoryRunStore(), state_dir=state, workspace=Workspace())
        run = runner.run(RunRequest(source=str(service_repo), service="payment-service",
                                    model=1, settings=RunSettings(
                                        test_command=("sh", "-c", "echo 19 passed"))))
        assert run.status is RunStatus.SUCCEEDED, run.to_dict()
        assert run.image_reference.startswith(f"{first.registry}/payment-service:sha-")
        assert run.release_revision == 1
        # and so does `deploy --tag`: the repository is the stack registry's
        tag = run.image_reference.split("@")[0].rsplit(":", 1)[1]
        redeploy = deploy(service_repo, "dev", image_tag=tag, workspace=Workspace(state_dir=state),
                          timeout=60)
        assert redeploy.revision == 2

        # crash: the supervisor is killed; status says stopped; up resumes the same state
        dashboards = _dashboard_pids(state)
        assert len(dashboards) == 1
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while running_stack(state) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cli("status", state=state).returncode == 3
        # the orphaned dashboard child notices and stops by itself
        deadline = time.monotonic() + 15
        while _dashboard_pids(state) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _dashboard_pids(state), "the dashboard outlived its killed supervisor"
        resumed, started = stack_up(state, nodes=2, time_scale=30)
        assert started and resumed.pid != first.pid
        assert (resumed.registry, resumed.api_url, resumed.git_url) == \
            (first.registry, first.api_url, first.git_url)  # same ports: images still resolve
        with httpx.Client() as http:
            tags = http.get(f"http://{resumed.registry}/v2/payment-service/tags/list").json()
            assert f"sha-{run.image_reference.split(':sha-')[1][:7]}" in tags["tags"]
            deployment = http.get(f"{resumed.api_url}/apis/apps/v1/namespaces/dev/deployments/"
                                  "payment-service").json()
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == \
            f"{first.registry}/payment-service:{tag}"
        assert stack_status(state).healthy
    finally:
        down = cli("down", state=state)
    assert down.returncode == 0 and "stack stopped" in down.stdout, down.stderr
    assert running_stack(state) is None and not stack_status(state).running
    assert read_stack_state(state) is not None  # kept: the next `up` reuses its ports
    assert cli("down", state=state).stdout.strip() == "stack was not running"


def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError) as error:
            stack_up(tmp_path / "state", registry_port=port)
        assert f"port {port} for the registry is already in use" in error.value.message
        result = cli("up", "--git-port", str(port), state=tmp_path / "state")
    assert result.returncode != 0
    assert f"port {port} for the git server is already in use" in result.stderr
    assert running_stack(tmp_path / "state") is None


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="--nodes must be at least 1"):
        stack_up(tmp_path, nodes=0)
