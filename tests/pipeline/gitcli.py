"""The real git CLI for tests: ``git(repo, "rev-parse", "HEAD")``."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=dev", "-c", "user.email=dev@example.com",
         *args], check=True, capture_output=True, text=True,
    ).stdout.strip()
