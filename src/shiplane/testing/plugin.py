"""pytest plugin: ``pytest_plugins = ["shiplane.testing.plugin"]``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage

if TYPE_CHECKING:
    from shiplane.cluster.apiserver import ApiServerRunner
    from shiplane.pipeline import LocalGitServer, PipelineServer
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


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[LocalGitServer]:
    """The local smart-HTTP git server on a loopback port, serving ``tmp_path/git``.

    ``git_server.clone_url("svc")`` is what ``git clone``/``git push`` take; a push
    creates the repository. Nothing is triggered by pushes (see ``make_pipeline_server``).
    """
    from shiplane.pipeline import LocalGitServer  # imported lazily: a web server

    with LocalGitServer(tmp_path / "git") as server:
        yield server


@pytest.fixture
def make_pipeline_server(tmp_path: Path) -> Iterator[Callable[..., PipelineServer]]:
    """Start git servers whose pushes to ``main`` run the pipeline; stopped after the test.

    ``make_pipeline_server(until="test")`` → a started :class:`PipelineServer` with its
    runs in memory (``server.store``); ``server.wait_idle()`` waits for triggered runs.
    Keyword arguments go to :class:`PipelineServer` (``steps=``, ``env=``, ``settings=``...).
    """
    from shiplane.pipeline import MemoryRunStore, PipelineServer

    servers: list[PipelineServer] = []

    def make(**options: Any) -> PipelineServer:
        options.setdefault("store", MemoryRunStore())
        server = PipelineServer(tmp_path / f"ci-{len(servers)}", **options)
        servers.append(server.start())
        return server

    yield make
    for server in servers:
        server.stop()
@pytest.fixture(scope="module")
def embedded_cluster() -> Iterator[EmbeddedCluster]:
    """An embedded cluster (API server, controllers, scheduler, 3 simulated nodes), one per
    test module, on an accelerated clock (x30: a 600 s progress deadline passes in 20 s).
    ``embedded_cluster.kubectl(...)`` runs real kubectl against it."""
    from shiplane.testing.cluster import EmbeddedCluster  # imported lazily: web servers

    with EmbeddedCluster(nodes=3, time_scale=30) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def embedded_process_cluster() -> Iterator[EmbeddedCluster]:
    """An embedded cluster whose 2 nodes run pods for real (the process runtime: images
    unpacked, processes in bubblewrap, loopback pod IPs, real probes and logs), one per test
    module, on a clock 10x faster (a 30 s grace period lasts 3 s, back-offs 1 s, 2 s...)."""
    from shiplane.testing.cluster import EmbeddedCluster  # imported lazily: web servers

    with EmbeddedCluster(nodes=2, time_scale=10, runtime="process") as cluster:
        yield cluster
