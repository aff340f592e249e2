"""``shiplane cluster up --nodes/--node-spec/--time-scale`` starts the control plane process."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from shiplane.testing import run_cli

pytestmark = pytest.mark.slow


def _kubectl(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], capture_output=True,
                          text=True, timeout=30)


def test_cluster_up_registers_spec_nodes_and_down_stops_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SHIPLANE_CONFIG", raising=False)
    spec = tmp_path / "nodes.yaml"
    spec.write_text(
        "nodes:\n"
        "  - count: 2\n    namePrefix: general\n    cpu: '8'\n    zone: eu-west-1a\n"
        "  - namePrefix: gpu\n    instanceType: p3.2xlarge\n"
        "    taints: [{key: dedicated, value: gpu, effect: NoSchedule}]\n"
    )
    try:
        up = run_cli(["cluster", "up", "--name", "cp", "--node-spec", str(spec),
                      "--time-scale", "10"], cwd=tmp_path)
        assert up.exit_code == 0, up.stderr
        kubeconfig = str(tmp_path / "state" / "clusters" / "cp" / "kubeconfig")
        deadline = time.monotonic() + 20
        names: set[str] = set()
        while time.monotonic() < deadline and len(names) < 3:
            result = _kubectl(kubeconfig, "get", "nodes", "-o", "json")
            names = {n["metadata"]["name"] for n in json.loads(result.stdout or "{}").get("items", [])}
            time.sleep(0.2)
        assert names == {"general-0", "general-1", "gpu-0"}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"nodeSelector": {"node.kubernetes.io/instance-type": "p3.2xlarge"},
                        "containers": [{"name": "c", "image": "127.0.0.1:1/none:1"}]}}
        created = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "create",
                                  "--validate=false", "-f", "-"], input=json.dumps(pod),
                                 capture_output=True, text=True, timeout=30)
        assert created.returncode == 0, created.stderr
        message = ""
        while time.monotonic() < deadline + 10 and not message:
            p = json.loads(_kubectl(kubeconfig, "get", "pod", "p", "-o", "json").stdout)
            condition = next((c for c in p["status"].get("conditions") or []
                              if c["type"] == "PodScheduled" and c["status"] == "False"), {})
            message = condition.get("message", "")
            time.sleep(0.2)
        assert message == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                           "{dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector.")
        # the API server process and the control plane process share one x10 cluster clock:
        # the scheduler's condition time follows the server's creationTimestamp closely
        created = datetime.fromisoformat(p["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        judged = datetime.fromisoformat(condition["lastTransitionTime"].replace("Z", "+00:00"))
        assert 0 <= (judged - created).total_seconds() <= 15
        assert (tmp_path / "state" / "clusters" / "cp" / "controlplane.pid").exists()
    finally:
        down = run_cli(["cluster", "down", "--name", "cp"], cwd=tmp_path)
    assert down.stdout.strip() == "cluster cp stopped"
    assert not (tmp_path / "state" / "clusters" / "cp" / "controlplane.pid").exists()


def test_bad_node_spec_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / "state"))
    spec = tmp_path / "nodes.yaml"
    spec.write_text("nodes:\n  - count: 0\n")
    try:
        up = run_cli(["cluster", "up", "--name", "bad", "--node-spec", str(spec)], cwd=tmp_path)
        assert up.exit_code != 0
        assert "nodes[0].count must be a positive integer" in up.stderr
    finally:
        run_cli(["cluster", "down", "--name", "bad"], cwd=tmp_path)
