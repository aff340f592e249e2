"""pytest plugin: ``pytest_plugins = ["shiplane.testing.plugin"]``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from typing import TYPE_CHECKING

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage
if TYPE_CHECKING:
    from shiplane.cluster.apiserver import ApiServerRunner
    from shiplane.testing.cluster import EmbeddedCluster


@pytest.fixture
def workspace_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder that is the current directory, with its own state dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / ".shiplane"))
    monkeypatch.delenv("SHIPLANE_CONFIG", raising=False)
    yield tmp_path


@pytest.fixture
def embedded_registry() -> Iterator[EmbeddedRegistry]:
    """A fresh, open (no auth) in-memory OCI registry on a loopback port.

    ``registry.host`` ("127.0.0.1:<port>") goes in image references,
    ``registry.url`` is the base URL, ``registry.storage`` the store behind it.
    """
    with EmbeddedRegistry(MemoryStorage()) as registry:
        yield registry
@pytest.fixture(scope="module")
def kube_apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerRunner]:
    """An embedded Kubernetes API server (memory store) on a free loopback port.

    One per test module; ``kube_apiserver.kubeconfig`` is a kubeconfig file for it that
    kubectl and the ``kubernetes`` Python client accept.
    """
    from shiplane.cluster.apiserver import ApiServerRunner  # imported lazily: a web server

    with ApiServerRunner() as server:
        server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
        yield server


@pytest.fixture(scope="module")
def embedded_cluster() -> Iterator[EmbeddedCluster]:
    """An embedded cluster (API server, controllers, scheduler, 3 simulated nodes), one per
    test module, on an accelerated clock (x30: a 600 s progress deadline passes in 20 s).
    ``embedded_cluster.kubectl(...)`` runs real kubectl against it."""
    from shiplane.testing.cluster import EmbeddedCluster  # imported lazily: web servers

    with EmbeddedCluster(nodes=3, time_scale=30) as cluster:
        yield cluster
