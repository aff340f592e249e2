"""Fixtures for the registry tests: OCI layouts, the embedded registry, real distribution."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage

DOCKER_REGISTRY = "/usr/bin/docker-registry"


def _blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), mtime=0)


def make_layout(layout: Path, *, layers: list[bytes] | None = None, tag: str = "v1",
                seed: str = "x") -> dict:
    """Write a small OCI image layout (config + gzip layers); returns the root descriptor."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    layers = layers if layers is not None else [
        _layer({f"app/{seed}-{i}.txt": f"{seed} layer {i}\n".encode() * 50}) for i in range(3)]
    layer_descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_blob(layout, data)}
                   for data in layers]
    diff_ids = [f"sha256:{hashlib.sha256(gzip.decompress(d)).hexdigest()}" for d in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "config": {"Cmd": ["/app"]}}, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_blob(layout, config)},
        "layers": layer_descs}).encode()
    root = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **_blob(layout, manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag}}
    (layout / "index.json").write_text(json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [root]}))
    return root


@pytest.fixture
def layout_factory(tmp_path: Path) -> Callable[..., tuple[Path, dict]]:
    counter = iter(range(1000))

    def factory(**kwargs) -> tuple[Path, dict]:
        path = tmp_path / f"layout-{next(counter)}"
        return path, make_layout(path, **kwargs)
    return factory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DistributionRegistry:
    """The CNCF distribution registry (Debian docker-registry) on a loopback port."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n")
        self.process = subprocess.Popen([DOCKER_REGISTRY, "serve", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{self.url}/v2/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("docker-registry did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def distribution_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistributionRegistry]:
    if not os.path.exists(DOCKER_REGISTRY):
        pytest.fail("docker-registry is not installed (Debian package docker-registry)")
    registry = DistributionRegistry(tmp_path_factory.mktemp("distribution"))
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def embedded_session_registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as registry:
        yield registry


@pytest.fixture(params=["embedded", "distribution"])
def any_registry(request: pytest.FixtureRequest):
    """The client suite runs against both servers and must give the same results."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded_session_registry")
    return request.getfixturevalue("distribution_registry")


def make_index_layout(layout: Path, *, tag: str = "multi") -> dict:
    """An OCI layout whose root is an image index of two platform images."""
    children = []
    for arch in ("amd64", "arm64"):
        child = make_layout(layout, seed=arch, tag=arch)
        children.append({"mediaType": child["mediaType"], "digest": child["digest"], "size": child["size"],
                         "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": children}).encode()
    root = {"mediaType": "application/vnd.oci.image.index.v1+json", **_blob(layout, index),
            "annotations": {"org.opencontainers.image.ref.name": tag}}
    (layout / "index.json").write_text(json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [root]}))
    return root


@pytest.fixture
def index_layout(tmp_path: Path) -> tuple[Path, dict]:
    """A layout holding a two-platform image index: (folder, root descriptor)."""
    path = tmp_path / "index-layout"
    return path, make_index_layout(path)
