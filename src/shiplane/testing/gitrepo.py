"""Helpers for tests that need small git repositories (charts, platform repos) and waits.

``chart_repo(path, files, replace=...)`` writes dedented file texts (with optional placeholder
replacements) and commits them on a fresh ``main`` branch with the real ``git``;
``git(repo, ...)`` runs further git commands as a fixed test identity; ``wait_until`` polls a
predicate with a deadline and names what it waited for when it gives up.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

from shiplane.testing.waiting import wait_for

__all__ = ["chart_repo", "git", "wait_until"]


def git(repo: Path, *args: str) -> str:
    """``git -C repo ARGS`` as user t <t@e>; raises on failure; returns stdout."""
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e", *args],
        check=True, capture_output=True, text=True,
    ).stdout


def chart_repo(path: Path, files: Mapping[str, str], *, replace: Mapping[str, str] | None = None,
               message: str = "chart", strip_prefix: str = "") -> Path:
    """A git repository at ``path`` holding ``files`` (name -> dedented text), committed."""
    for name, text in files.items():
        target = path / name.removeprefix(strip_prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).lstrip()
        for placeholder, value in (replace or {}).items():
            body = body.replace(placeholder, value)
        target.write_text(body)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", message)
    return path


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.05) -> object:
    """Poll ``predicate`` until it returns something true (returned); AssertionError naming
    ``what`` after ``timeout`` seconds (:func:`shiplane.testing.waiting.wait_for`)."""
    return wait_for(predicate, timeout, what, interval)
