"""pytest plugin: ``pytest_plugins = ["shiplane.testing.plugin"]``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workspace_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder that is the current directory, with its own state dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPLANE_STATE_DIR", str(tmp_path / ".shiplane"))
    monkeypatch.delenv("SHIPLANE_CONFIG", raising=False)
    yield tmp_path
