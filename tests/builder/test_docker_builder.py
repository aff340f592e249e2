"""``--builder docker`` delegates to a real Docker engine (Debian ``docker.io``, dockerd 20.10).

A private dockerd runs for the session (vfs storage, no bridge, no iptables, its own data/exec
dirs and socket), reached through ``DOCKER_HOST`` like any user's engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.build import (BuildError, BuildRequest, Builder, RunFailed, build_and_tag,
                            unpack_rootfs)
from shiplane.build.docker import docker_build_command, docker_failure
from shiplane.build.oci import rfc3339
from shiplane.testing import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def dockerd() -> Iterator[str]:
    """``unix://…/docker.sock`` of a private dockerd; fails (never skips) if it cannot start:
    docker.io is a declared system package (scripts/setup.sh)."""
    binary = shutil.which("dockerd")
    assert binary, "dockerd is missing: apt-get install docker.io (scripts/setup.sh)"
    # Short path: unix socket paths are limited to ~100 bytes (containerd's socket lives under it).
    root = Path(tempfile.mkdtemp(prefix="shl-dockerd-", dir="/tmp"))
    host = f"unix://{root}/docker.sock"
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [binary, "--iptables=false", "--ip6tables=false", "--bridge=none",
         "--storage-driver=vfs", f"--data-root={root}/data", f"--exec-root={root}/exec",
         "-H", host, f"--pidfile={root}/pid"],
        stdout=log, stderr=subprocess.STDOUT)
    env = dict(os.environ, DOCKER_HOST=host)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(["docker", "info"], env=env, capture_output=True).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (root / "dockerd.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"dockerd did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.1)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def docker_host(dockerd: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DOCKER_HOST", dockerd)
    return dockerd


def test_scaffolded_service_built_by_docker_is_pushed_and_inspectable(
        docker_host, base_images, tmp_path):
    from shiplane.scaffold import init_service

    init_service("payment-service", directory=tmp_path)
    service = tmp_path / "payment-service"
    repository = f"{base_images.registry}/docker-built/payment-service"
    state = tmp_path / "state"
    result = run_cli(["build", str(service), "--builder", "docker", "--repo", repository,
                      "--version", "1.5.0", "--build-arg", f"BASE_IMAGE={base_images.python}",
                      "--push", "-q", "--state-dir", str(state)])
    assert result.exit_code == 0, result.stderr
    references = result.stdout.split()
    assert references[0].startswith(f"{repository}:1.5.0@sha256:")
    tags = [ref.rsplit("@", 1)[0].rsplit(":", 1)[1] for ref in references]
    assert tags[0] == "1.5.0" and tags[1].startswith("sha-") and tags[2] == "build-1"
    digest = references[0].rsplit("@", 1)[1]
    # The shiplane builder state knows the image under every tag, with the pushed digest.
    local = Builder.at(state).images.lookup(f"{repository}:1.5.0")
    assert local is not None and local.digest == digest
    assert all(layer["mediaType"].endswith("tar+gzip") for layer in local.layers)

    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--config", f"docker://{repository}:1.5.0"],
        capture_output=True, text=True, check=True)
    config = json.loads(inspected.stdout)["config"]
    assert config["Cmd"] == ["python", "/app/src/main.py"]
    assert config["User"] == "10001:10001"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["WorkingDir"] == "/app"
    assert "PORT=8080" in config["Env"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == "1.5.0"
    assert len(labels["org.opencontainers.image.revision"]) == 40  # the scaffold is a git repo
    commit_time = int(subprocess.run(["git", "-C", str(service), "log", "-1", "--format=%ct"],
                                     capture_output=True, text=True, check=True).stdout)
    assert labels["org.opencontainers.image.created"] == rfc3339(commit_time)  # as embedded
    # What the registry serves is byte-for-byte the manifest shiplane recorded and printed.
    # (Docker pulling from the loopback registry is exercised by FROM: the daemon pulls the
    # python base image that shiplane pushed, over plain HTTP as 127.0.0.0/8 is insecure.)
    manifest = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{repository}:1.5.0"],
        capture_output=True, check=True).stdout
    assert "sha256:" + hashlib.sha256(manifest).hexdigest() == digest


def test_failing_run_is_a_run_failed_with_the_output_tail(docker_host, base_images,
                                                          make_context, tmp_path):
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\n"
                                      "RUN echo about to fail && echo detail-42 && exit 3\n"})
    state = tmp_path / "state"
    with pytest.raises(RunFailed) as caught:
        build_and_tag(BuildRequest(path=ctx, state_dir=state, repository="demo/fails",
                                   version="1.0.0", builder="docker"))
    assert caught.value.exit_code == 3
    assert "detail-42" in caught.value.output_tail
    assert "exited with code 3" in str(caught.value)
    assert Builder.at(state).images.lookup("demo/fails:1.0.0") is None  # nothing tagged


def test_run_has_no_network_unless_host_is_asked(docker_host, base_images, make_context,
                                                  tmp_path):
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\n"
                                      "RUN ls /sys/class/net > /ifaces\nCMD [\"cat\", \"/ifaces\"]\n"})
    state = tmp_path / "state"
    build_and_tag(BuildRequest(path=ctx, state_dir=state, repository="demo/net",
                               version="1.0.0", builder="docker",
                               output_layout=tmp_path / "layout"))
    assert (tmp_path / "layout" / "index.json").exists()
    builder = Builder.at(state)
    image = builder.images.lookup("demo/net:1.0.0")
    assert image is not None
    root = unpack_rootfs(builder.blobs, image, tmp_path / "rootfs")
    assert (root / "ifaces").read_text().split() == ["lo"]  # --network none during RUN


def test_unreachable_daemon_is_a_clear_error(base_images, make_context, tmp_path, monkeypatch):
    missing = tmp_path / "no-such" / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{missing}")
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\n"})
    with pytest.raises(BuildError) as caught:
        build_and_tag(BuildRequest(path=ctx, state_dir=tmp_path / "state", repository="demo/x",
                                   version="1.0.0", builder="docker"))
    assert f"cannot reach the Docker daemon at unix://{missing}" in str(caught.value)
    assert "DOCKER_HOST" in (caught.value.hint or "")
    result = run_cli(["build", str(ctx), "--builder", "docker", "--repo", "demo/x",
                      "--version", "1.0.0", "--state-dir", str(tmp_path / "state")])
    assert result.exit_code != 0 and "cannot reach the Docker daemon" in result.stderr


def test_missing_docker_cli_is_a_clear_error(make_context, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    ctx = make_context({"Dockerfile": "FROM scratch\n"})
    with pytest.raises(BuildError, match="the docker CLI is not installed"):
        build_and_tag(BuildRequest(path=ctx, state_dir=tmp_path / "state", repository="demo/x",
                                   version="1.0.0", builder="docker"))


def test_docker_build_command_line():
    command = docker_build_command(
        "/usr/bin/docker", Path("/ctx"), Path("/ctx/Dockerfile.prod"), image="shiplane-build:b",
        iidfile=Path("/t/iid"), build_args={"B": "2", "A": "1"},
        labels={"org.opencontainers.image.version": "1.0.0"}, no_cache=True, pull=True,
        network="default", target="runtime")
    assert command == [
        "/usr/bin/docker", "build", "-f", "/ctx/Dockerfile.prod", "-t", "shiplane-build:b",
        "--iidfile", "/t/iid", "--network", "none", "--build-arg", "A=1", "--build-arg", "B=2",
        "--label", "org.opencontainers.image.version=1.0.0", "--no-cache", "--pull",
        "--target", "runtime", "/ctx"]
    host = docker_build_command("docker", Path("/c"), Path("/c/Dockerfile"), image="i",
                                iidfile=Path("/i"), build_args={}, labels={}, network="host")
    assert host[host.index("--network") + 1] == "host"


def test_docker_failure_kinds():
    buildkit = docker_failure("docker build", 1, '#5 ERROR: process "/bin/sh -c false" did not '
                              "complete successfully: exit code: 7\n", {})
    assert isinstance(buildkit, RunFailed) and buildkit.exit_code == 7
    other = docker_failure("docker save", 1, "Error response from daemon: no such image\n",
                           {"DOCKER_HOST": "unix:///x.sock"})
    assert type(other) is BuildError and "docker save failed (exit 1)" in str(other)
    unset = docker_failure("docker build", 1, "Cannot connect to the Docker daemon at "
                           "unix:///var/run/docker.sock. Is the docker daemon running?", {})
    assert "DOCKER_HOST is not set" in str(unset)
