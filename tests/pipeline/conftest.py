"""A scaffolded service repository per test (copied from one generated per session)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitcli import git
from shiplane.scaffold import init_service


@pytest.fixture(scope="session")
def _service_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_service("payment-service", directory=tmp_path_factory.mktemp("svc")).path


@pytest.fixture
def service_repo(_service_template: Path, tmp_path: Path) -> Path:
    """A fresh Model 1 ``payment-service`` git repo (one commit, tests passing)."""
    target = tmp_path / "payment-service"
    shutil.copytree(_service_template, target, symlinks=True)
    return target


@pytest.fixture
def break_a_test() -> Callable[[Path], None]:
    """Add a failing unit test to a service repo and commit it."""

    def apply(repo: Path) -> None:
        (repo / "tests" / "unit" / "test_broken.py").write_text(
            "def test_refund_rounds_to_cents():\n"
            "    assert round(0.125, 2) == 0.13, 'refund rounding is off'\n"
        )
        git(repo, "add", "tests/unit/test_broken.py")
        git(repo, "commit", "-q", "-m", "a test that fails")

    return apply
