"""Repositories generated once per session (generation is what is under test)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shiplane.scaffold import WrittenRepository, init_platform, init_service


@pytest.fixture(scope="session")
def model1_repo(tmp_path_factory: pytest.TempPathFactory) -> WrittenRepository:
    return init_service("payment-service", directory=tmp_path_factory.mktemp("m1"), model=1)


@pytest.fixture(scope="session")
def model2_repo(tmp_path_factory: pytest.TempPathFactory) -> WrittenRepository:
    return init_service("payment-service", directory=tmp_path_factory.mktemp("m2"), model=2)


@pytest.fixture(scope="session")
def platform_repo(tmp_path_factory: pytest.TempPathFactory) -> WrittenRepository:
    return init_platform(
        "k8s-platform-config", environments=["dev", "staging", "prod"],
        services=["payment-service"], directory=tmp_path_factory.mktemp("platform"),
    )


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="session")
def git():
    """The real git CLI, to check what dulwich wrote: ``git(repo, "log", ...)``."""
    return _git
