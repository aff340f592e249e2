"""``shiplane cluster up/down/status/kubeconfig``: a detached server whose state survives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shiplane.testing import run_cli

pytestmark = pytest.mark.slow
KUBECTL = str(Path(sys.executable).with_name("kubectl"))


def test_up_down_up_keeps_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SHIPLANE_CONFIG", raising=False)
    try:
        up = run_cli(["cluster", "up", "--name", "dev"], cwd=tmp_path)
        assert up.exit_code == 0, up.stderr
        assert "cluster dev running at https://127.0.0.1:" in up.stdout  # part 2: TLS
        kubeconfig = run_cli(
            ["cluster", "kubeconfig", "--name", "dev", "--path"], cwd=tmp_path
        ).stdout.strip()
        assert Path(kubeconfig) == tmp_path / "state" / "clusters" / "dev" / "kubeconfig"
        content = run_cli(["cluster", "kubeconfig", "--name", "dev"], cwd=tmp_path).stdout
        assert "current-context: admin@shiplane-dev" in content
        assert "client-certificate-data:" in content
        create = subprocess.run(
            [KUBECTL, "--kubeconfig", kubeconfig, "apply", "--validate=false", "-f", "-"],
            input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {a: b}\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert create.returncode == 0, create.stderr
        status = run_cli(["cluster", "status", "--name", "dev"], cwd=tmp_path)
        assert status.exit_code == 0 and "running" in status.stdout
        down = run_cli(["cluster", "down", "--name", "dev"], cwd=tmp_path)
        assert down.stdout.strip() == "cluster dev stopped"
        stopped = run_cli(["cluster", "status", "--name", "dev"], cwd=tmp_path)
        assert stopped.exit_code == 3 and "stopped" in stopped.stdout
        again = run_cli(["cluster", "up", "--name", "dev"], cwd=tmp_path)
        assert again.exit_code == 0, again.stderr
        kept = subprocess.run(
            [KUBECTL, "--kubeconfig", kubeconfig, "get", "cm", "kept", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert kept.returncode == 0, kept.stderr
        assert json.loads(kept.stdout)["data"] == {"a": "b"}
        # another user: a client certificate with CN=dana, O=developers; RBAC has no grant
        dana = run_cli(["cluster", "kubeconfig", "--name", "dev", "--user", "dana",
                        "--group", "developers"], cwd=tmp_path)
        assert dana.exit_code == 0, dana.stderr
        (tmp_path / "dana.kubeconfig").write_text(dana.stdout)
        denied = subprocess.run(
            [KUBECTL, "--kubeconfig", str(tmp_path / "dana.kubeconfig"), "get", "cm", "kept"],
            capture_output=True, text=True, timeout=30,
        )
        assert denied.returncode != 0
        assert ('configmaps "kept" is forbidden: User "dana" cannot get resource "configmaps" in '
                'API group "" in the namespace "default"') in denied.stderr
    finally:
        run_cli(["cluster", "down", "--name", "dev"], cwd=tmp_path)


def test_bad_cluster_name_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / "state"))
    result = run_cli(["cluster", "up", "--name", "Bad_Name"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "cluster name 'Bad_Name' is not a DNS-1123 label" in result.stderr
    assert not (tmp_path / "state").exists()
