"""Base images and builds against shiplane's own registry (``shiplane.registry``)."""

from __future__ import annotations

import json
import subprocess

import pytest

from shiplane.registry import RegistryClient
from shiplane.testing import run_cli

pytestmark = pytest.mark.slow


def test_base_image_push_build_from_it_and_push_the_result(embedded_registry, make_context,
                                                           tmp_path):
    host = embedded_registry.host
    created = run_cli(["base-image", "--name", "busybox", "--registry", host, "--push",
                       "--state-dir", str(tmp_path / "base")])
    assert created.exit_code == 0, created.output
    base_ref, base_digest = created.stdout.strip().split("@")
    ctx = make_context({"hello.txt": "hi\n", "Dockerfile": f"FROM {base_ref}\n"
                                                          "COPY hello.txt /srv/\n"
                                                          "RUN wc -c /srv/hello.txt > /srv/n\n"})
    # a fresh state: the FROM image is pulled from the embedded registry
    built = run_cli(["build", str(ctx), "--repo", f"{host}/team/hello", "--version", "0.3.0",
                     "-t", "edge", "--push", "-q", "--state-dir", str(tmp_path / "state")])
    assert built.exit_code == 0, built.output
    references = built.stdout.split()
    digest = references[0].split("@")[1]
    with RegistryClient(host) as client:
        assert client.get_manifest("busybox", "1.35").digest == base_digest
        assert client.get_manifest("team/hello", "0.3.0").digest == digest
        assert client.get_manifest("team/hello", "edge").digest == digest
        assert sorted(client.list_tags("team/hello")) == sorted(
            r.split("@")[0].rsplit(":", 1)[1] for r in references)
    inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                              f"docker://{host}/team/hello:edge"], capture_output=True,
                             text=True, check=True)
    info = json.loads(inspect.stdout)
    assert info["Digest"] == digest and len(info["Layers"]) == 3


def test_missing_base_image_in_embedded_registry(embedded_registry, make_context, tmp_path):
    ctx = make_context({"Dockerfile": f"FROM {embedded_registry.host}/python:3.11-slim\n"})
    result = run_cli(["build", str(ctx), "--repo", f"{embedded_registry.host}/x", "--push",
                      "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 1
    assert "python:3.11-slim' cannot be pulled" in result.stderr
    assert "shiplane base-image" in result.stderr
    with RegistryClient(embedded_registry.host) as client:
        assert client.catalog() == []  # nothing pushed
