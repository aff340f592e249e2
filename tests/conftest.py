"""Session fixtures shared across test folders."""

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

pytest_plugins = ["shiplane.testing.plugin"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def base_image_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
def base_images(base_image_registry: str, tmp_path_factory: pytest.TempPathFactory) -> BaseImages:
    """busybox and python base images, built once per session and pushed to
    ``base_image_registry`` (the builder tests and the process-runtime tests share them)."""
    state = tmp_path_factory.mktemp("base-state")
    results = create_base_images(Builder.at(state), registry=base_image_registry, push=True)
    refs = {r.reference.split("/", 1)[1].split(":")[0]: r.reference for r in results}
    return BaseImages(state, refs["busybox"], refs["python"], base_image_registry)
