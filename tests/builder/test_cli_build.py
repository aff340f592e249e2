"""``shiplane base-image`` and ``shiplane build`` through the CLI; the public API list."""

from __future__ import annotations

import json
import subprocess

import pytest

import shiplane.build
from shiplane.testing import run_cli


def test_public_api_names_exist():
    for name in shiplane.build.__all__:
        assert hasattr(shiplane.build, name), name
    assert sorted(shiplane.build.__all__) == shiplane.build.__all__


@pytest.mark.slow
def test_base_image_cli_writes_an_inspectable_layout(tmp_path):
    layout = tmp_path / "layout"
    result = run_cli(["base-image", "--name", "busybox", "--registry", "127.0.0.1:1",
                      "--output-layout", str(layout), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    reference, digest = result.stdout.strip().split("@")
    assert reference == "127.0.0.1:1/busybox:1.35"
    info = json.loads(subprocess.run(["skopeo", "inspect", f"oci:{layout}:busybox-1.35"],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["Digest"] == digest and info["Os"] == "linux" and len(info["Layers"]) == 1


def test_cli_errors_are_one_line(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nRUN --mount=type=cache,target=/x true\n")
    result = run_cli(["build", str(tmp_path), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: Dockerfile:2: RUN --mount is not supported by the embedded builder")
    assert "hint: use --builder buildah" in result.stderr
    bad_network = run_cli(["build", str(tmp_path), "--network", "bridge",
                           "--state-dir", str(tmp_path / "state")])
    assert bad_network.exit_code == 1 and "unknown network 'bridge'" in bad_network.stderr
    push_without_registry = run_cli(["base-image", "--push", "--state-dir", str(tmp_path)])
    assert push_without_registry.exit_code == 2
