"""The payment-service shape (the scaffold's Dockerfile) built FROM the offline python base
image pulled from a real registry, run in bubblewrap, pushed, and inspected with skopeo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from shiplane.build import BuildOptions, Builder, start_image, unpack_rootfs
from shiplane.build.images import ImageStore
from shiplane.build.store import DiskBlobStore, DiskRecordStore, MemoryRecordStore
from shiplane.testing import run_cli

pytestmark = pytest.mark.slow

DOCKERFILE = """\
# payment-service container image (same shape as the scaffold's template)
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PORT=8080

WORKDIR /app
COPY src/ /app/src/

USER 10001:10001

EXPOSE 8080
CMD ["python", "/app/src/main.py"]
"""

MAIN = '''\
"""payment-service: stdlib HTTP server with /healthz."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = json.dumps({"status": "ok", "uid": os.getuid(), "cwd": os.getcwd()}).encode()
            self.send_response(200)
        else:
            body, _ = b"{}", self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
'''


def payment_service(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text(MAIN)
    (root / "src" / "__pycache__").mkdir()
    (root / "src" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"junk")
    (root / "tests").mkdir()
    (root / "tests" / "test_main.py").write_text("")
    (root / "helm").mkdir()
    (root / "helm" / "Chart.yaml").write_text("apiVersion: v2\nname: payment-service\n"
                                              "version: 0.1.0\nappVersion: \"1.5.0\"\n")
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / ".dockerignore").write_text("tests\nhelm\n**/__pycache__\n**/*.pyc\n")
    return root


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_build_from_registry_base_and_serve_healthz(base_images, tmp_path):
    ctx = payment_service(tmp_path / "payment-service")
    # a builder with nothing local: the python base image is pulled from the registry
    blobs = DiskBlobStore(tmp_path / "blobs")
    builder = Builder(blobs, MemoryRecordStore(), ImageStore(blobs, MemoryRecordStore()),
                      tmp_path)
    result = builder.build(BuildOptions(ctx, build_args={"BASE_IMAGE": base_images.python}))
    config = result.image.config["config"]
    assert config["User"] == "10001:10001" and config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"] == ["python", "/app/src/main.py"] and config["WorkingDir"] == "/app"
    assert "PORT=8080" in config["Env"] and "LANG=C.UTF-8" in config["Env"]  # base ENV kept
    with blobs.open(result.image.layers[-1]["digest"]) as handle:
        import tarfile

        with tarfile.open(fileobj=handle, mode="r|gz") as tar:
            names = sorted(m.name for m in tar)
    assert names == ["app/src", "app/src/main.py"]  # .dockerignore kept __pycache__ out

    with tempfile.TemporaryDirectory(prefix="shiplane-test-") as tmp:
        os.chmod(tmp, 0o711)  # uid 10001 must reach the root folder
        root = unpack_rootfs(blobs, result.image, Path(tmp) / "rootfs")
        port = _port()
        running = start_image(root, result.image, env={"PORT": str(port)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        process = running.process
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except httpx.HTTPError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(process.stdout.read().decode()) from None
                    time.sleep(0.05)
        finally:
            running.stop()
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "uid": 10001, "cwd": "/app"}


def test_cli_build_push_and_skopeo_inspect(base_images, tmp_path, monkeypatch):
    ctx = payment_service(tmp_path / "payment-service")
    subprocess.run(["git", "init", "-q", str(ctx)], check=True)
    subprocess.run(["git", "-C", str(ctx), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(ctx), "-c", "user.name=t", "-c", "user.email=t@e",
                    "commit", "-qm", "init"], check=True)
    sha = subprocess.run(["git", "-C", str(ctx), "rev-parse", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    monkeypatch.setenv("GITHUB_RUN_NUMBER", "42")
    repo = f"{base_images.registry}/payment-service"
    result = run_cli(["build", str(ctx), "--repo", repo, "--push", "-q",
                      "--build-arg", f"BASE_IMAGE={base_images.python}",
                      "--state-dir", str(base_images.state)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.split()
    tags = [line.split("@")[0].rsplit(":", 1)[1] for line in lines]
    assert tags[:3] == ["1.5.0", f"sha-{sha[:7]}", "build-42"]  # appVersion from helm/Chart.yaml
    assert len(tags) == 4 and len(tags[3]) == 14 and tags[3].isdigit()
    digest = lines[0].split("@")[1]
    assert all(line.endswith("@" + digest) for line in lines)

    inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                              f"docker://{repo}:sha-{sha[:7]}"], capture_output=True, text=True,
                             check=True)
    info = json.loads(inspect.stdout)
    assert info["Digest"] == digest
    assert info["Labels"]["org.opencontainers.image.revision"] == sha
    assert info["Labels"]["org.opencontainers.image.version"] == "1.5.0"
    assert info["Os"] == "linux" and len(info["Layers"]) == 3
    commit_time = subprocess.run(["git", "-C", str(ctx), "log", "-1", "--format=%cI"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    created = info["Labels"]["org.opencontainers.image.created"]  # HEAD's time: reproducible
    assert created.replace("Z", "+00:00")[:19] == \
        datetime.fromisoformat(commit_time).astimezone(timezone.utc).isoformat()[:19]

    refused = run_cli(["build", str(ctx), "--repo", repo, "--push", "-t", "latest",
                       "--env", "prod", "--state-dir", str(base_images.state)])
    assert refused.exit_code == 1 and "'latest' is refused for prod" in refused.stderr
    tags_list = httpx.get(f"http://{repo.split('/')[0]}/v2/payment-service/tags/list").json()
    assert "latest" not in tags_list["tags"]


def test_real_scaffolded_service_builds_and_serves(base_images, tmp_path):
    """The foundation's ``shiplane init service`` output, built offline and run."""
    from shiplane.build import BuildRequest, Builder, build_and_tag
    from shiplane.scaffold import init_service

    init_service("payment-service", directory=tmp_path)
    repo = tmp_path / "payment-service"
    built = build_and_tag(BuildRequest(
        path=repo, state_dir=base_images.state, repository=f"{base_images.registry}/payment-service",
        build_args={"BASE_IMAGE": base_images.python}))
    assert built.tags[1].startswith("sha-") and not built.tags[1].endswith("-dirty")
    builder = Builder.at(base_images.state)
    image = builder.images.lookup(f"{base_images.registry}/payment-service:{built.tags[0]}")
    assert image is not None and image.digest == built.digest
    with tempfile.TemporaryDirectory(prefix="shiplane-test-") as tmp:
        os.chmod(tmp, 0o711)
        root = unpack_rootfs(builder.blobs, image, Path(tmp) / "rootfs")
        port = _port()
        running = start_image(root, image, env={"PORT": str(port), "HOST": "127.0.0.1"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        process = running.process
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except httpx.HTTPError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(process.stdout.read().decode()) from None
                    time.sleep(0.05)
        finally:
            code = running.stop()
            output = process.stdout.read().decode()
    assert response.status_code == 200, output
    assert code == 0, output  # SIGTERM reaches the app, which drains and exits 0
    assert "shutting down" in output
