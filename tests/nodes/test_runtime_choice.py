"""Choosing a node's container runtime: node spec ``runtime``, ``--runtime``, options."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from shiplane.cluster.control_plane import ControlPlane, ControlPlaneOptions
from shiplane.cluster.control_plane_process import control_plane_options
from shiplane.cluster.nodes import default_node_specs, load_node_specs
from shiplane.errors import UsageError
from shiplane.testing import run_cli


def test_node_spec_runtime_per_group(tmp_path: Path) -> None:
    spec = tmp_path / "nodes.yaml"
    spec.write_text("nodes:\n  - namePrefix: real\n    runtime: process\n"
                    "  - namePrefix: sim\n    count: 2\n")
    nodes = load_node_specs(spec)
    assert [(n.name, n.runtime) for n in nodes] == [
        ("real-0", "process"), ("sim-0", "simulated"), ("sim-1", "simulated")]


def test_unknown_runtime_is_refused_before_anything_starts(tmp_path: Path) -> None:
    spec = tmp_path / "nodes.yaml"
    spec.write_text("nodes:\n  - runtime: docker\n")
    with pytest.raises(UsageError, match=r"nodes\[0\].runtime must be simulated or process"):
        load_node_specs(spec)
    with pytest.raises(UsageError, match="--runtime must be simulated or process, not 'vm'"):
        control_plane_options(1, None, 1.0, runtime="vm")
    assert control_plane_options(2, None, 1.0, runtime="process").runtime == "process"
    result = run_cli(["cluster", "up", "--runtime", "vm", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2 and "--runtime must be simulated or process" in result.stderr
    assert not (tmp_path / "clusters").exists() or not any((tmp_path / "clusters").iterdir())


def test_orphaned_runtime_folders_are_removed_and_own_one_on_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    folders = {name: tmp_path / f"shiplane-runtime-{name}" for name in ("dead", "live", "bare")}
    for folder in folders.values():
        folder.mkdir()
    (folders["dead"] / "owner.pid").write_text(str(dead.pid))  # SIGKILLed control plane
    (folders["live"] / "owner.pid").write_text(str(os.getpid()))
    plane = ControlPlane("http://127.0.0.1:9", ControlPlaneOptions(
        nodes=default_node_specs(1), runtime="process"))
    assert not folders["dead"].exists()
    assert folders["live"].exists() and folders["bare"].exists()  # not ours to judge
    own = Path(plane.runtimes["process"].containers.rootfs.directory)
    assert (own / "owner.pid").read_text() == str(os.getpid())
    asyncio.run(plane.stop())
    assert not own.exists()
