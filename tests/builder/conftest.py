"""Fixtures for the builder tests: a real loopback registry (Debian ``docker-registry``) and
the busybox/python base images, created once per session and pushed to it with skopeo."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shiplane.build import Builder, create_base_images
from shiplane.build.images import ImageStore
from shiplane.build.store import DiskBlobStore, DiskRecordStore, MemoryRecordStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a docker-registry (distribution 2.8) with a temp store."""
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError("docker-registry did not start")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class BaseImages:
    state: Path
    busybox: str
    python: str
    registry: str


@pytest.fixture(scope="session")
def base_images(registry: str, tmp_path_factory: pytest.TempPathFactory) -> BaseImages:
    """busybox and python base images, built once and pushed to ``registry``."""
    state = tmp_path_factory.mktemp("base-state")
    results = create_base_images(Builder.at(state), registry=registry, push=True)
    refs = {r.reference.split("/", 1)[1].split(":")[0]: r.reference for r in results}
    return BaseImages(state, refs["busybox"], refs["python"], registry)


@pytest.fixture
def builder(base_images: BaseImages, tmp_path: Path) -> Builder:
    """A builder sharing the session's blobs (base images already local) with its own empty
    layer cache and image references; temp files go under ``tmp_path/work``."""
    blobs = DiskBlobStore(base_images.state / "build" / "blobs")
    refs = MemoryRecordStore()
    session_refs = ImageStore(blobs, DiskRecordStore(base_images.state / "build" / "refs"))
    images = ImageStore(blobs, refs)
    for reference in (base_images.busybox, base_images.python):
        image = session_refs.lookup(reference)
        assert image is not None
        images.tag(reference, image)
    work = tmp_path / "work"
    work.mkdir()
    return Builder(blobs, MemoryRecordStore(), images, work)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def make_context(tmp_path: Path):  # type: ignore[no-untyped-def]
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / f"ctx{next(counter)}"
        root.mkdir()
        return write_tree(root, files)

    return make
