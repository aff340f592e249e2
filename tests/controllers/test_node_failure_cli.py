"""``shiplane cluster node fail/recover`` against a running ``shiplane cluster up``: the node
goes Ready=Unknown and is tainted unreachable, then comes back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shiplane.testing import run_cli

pytestmark = pytest.mark.slow
KUBECTL = str(Path(sys.executable).with_name("kubectl"))


def _node(kubeconfig: str, name: str) -> dict:
    result = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "get", "node", name, "-o",
                             "json"], capture_output=True, text=True, timeout=30)
    return json.loads(result.stdout or "{}")


def _ready(node: dict) -> dict:
    return next((c for c in (node.get("status") or {}).get("conditions") or []
                 if c["type"] == "Ready"), {})


def _wait(check, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_node_fail_and_recover_through_the_cli(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SHIPLANE_CONFIG", raising=False)
    try:
        up = run_cli(["cluster", "up", "--name", "nf", "--nodes", "2", "--time-scale", "50"],
                     cwd=tmp_path)
        assert up.exit_code == 0, up.stderr
        kubeconfig = str(tmp_path / "state" / "clusters" / "nf" / "kubeconfig")
        _wait(lambda: _ready(_node(kubeconfig, "shiplane-worker-1")).get("status") == "True")
        failed = run_cli(["cluster", "node", "fail", "shiplane-worker-1", "--name", "nf"],
                         cwd=tmp_path)
        assert failed.exit_code == 0, failed.stderr
        ready = _wait(lambda: (r := _ready(_node(kubeconfig, "shiplane-worker-1")))
                      .get("status") == "Unknown" and r)
        assert ready["reason"] == "NodeStatusUnknown"
        node = _wait(lambda: (n := _node(kubeconfig, "shiplane-worker-1"))
                     ["spec"].get("taints") and n)
        assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
            ("node.kubernetes.io/unreachable", "NoSchedule"),
            ("node.kubernetes.io/unreachable", "NoExecute")}
        assert _ready(_node(kubeconfig, "shiplane-worker-0"))["status"] == "True"
        recovered = run_cli(["cluster", "node", "recover", "shiplane-worker-1", "--name", "nf"],
                            cwd=tmp_path)
        assert recovered.exit_code == 0, recovered.stderr
        node = _wait(lambda: (n := _node(kubeconfig, "shiplane-worker-1"))
                     and not n["spec"].get("taints") and _ready(n)["status"] == "True" and n)
        assert "sim.shiplane.dev/node-failed" not in node["metadata"].get("annotations", {})
        missing = run_cli(["cluster", "node", "fail", "nosuch", "--name", "nf"], cwd=tmp_path)
        assert missing.exit_code != 0
        assert "node 'nosuch' not found" in missing.stderr
        assert "shiplane-worker-0, shiplane-worker-1" in missing.stderr
    finally:
        run_cli(["cluster", "down", "--name", "nf"], cwd=tmp_path)
