"""``shiplane up --platform DIR`` runs the GitOps controller as a part of the stack: it syncs
the platform repo's Applications to the stack's cluster, and ``shiplane status`` probes it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shiplane.config import running_stack
from shiplane.kube import KubeClient
from shiplane.scaffold import init_platform, init_service

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiplane", *args, "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=90,
                          env={**os.environ, "PYTHONPATH": SRC})


def test_up_with_a_platform_repo_runs_the_gitops_controller(tmp_path: Path) -> None:
    state = tmp_path / "state"
    platform = init_platform("plat", environments=["dev"], services=["payment-service"],
                             directory=tmp_path).path
    init_service("payment-service", directory=tmp_path, model=2)
    result = cli("up", "--nodes", "1", "--time-scale", "30", "--platform", str(platform),
                 "--gitops-interval", "2", state=state)
    assert result.returncode == 0, result.stderr
    try:
        stack = running_stack(state)
        assert stack is not None and set(stack.parts) == {"gitops"}
        assert f"gitops:     {stack.parts['gitops']}" in result.stdout
        status = cli("status", state=state)
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"ok   gitops    {stack.parts['gitops']}" in status.stdout
        health = httpx.get(f"{stack.parts['gitops']}/healthz").json()
        assert health["ok"] and health["applications"] == 1 and health["leader"]
        with KubeClient.from_kubeconfig(Path(stack.kubeconfig)) as client:
            deadline = time.monotonic() + 60
            sync = {}
            while time.monotonic() < deadline:
                try:
                    app = client.get("argoproj.io/v1alpha1", "Application",
                                     "payment-service-dev", "argocd")
                    sync = (app.get("status") or {}).get("sync") or {}
                except Exception:  # noqa: BLE001 - not created by the first pass yet
                    sync = {}
                if sync.get("status") == "Synced":
                    break
                time.sleep(0.5)
            assert sync.get("status") == "Synced", sync
            namespace = next(d for d in client.list("apps/v1", "Deployment",
                                                    all_namespaces=True)
                             if d["metadata"]["name"] == "payment-service")["metadata"]["namespace"]
            assert namespace  # the controller applied the dev app on the stack's cluster
    finally:
        down = cli("down", state=state)
        assert down.returncode == 0, down.stderr
