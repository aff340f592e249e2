"""Facts about the service repository a build needs: git HEAD, dirtiness, chart version,
build number. Thin I/O around the real ``git`` command and a counter file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from shiplane.build.errors import BuildError

__all__ = ["GitState", "chart_app_version", "git_state", "next_build_number"]


@dataclass(frozen=True)
class GitState:
    sha: str
    dirty: bool
    remote: str = ""
    commit_time: int = 0  # committer time of HEAD (a natural SOURCE_DATE_EPOCH)


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                          check=False, timeout=30)


def git_state(path: Path) -> GitState | None:
    """HEAD of the repository containing ``path`` (None outside git or without commits)."""
    if shutil.which("git") is None:
        return None
    head = _git(path, "rev-parse", "HEAD")
    if head.returncode != 0:
        return None
    status = _git(path, "status", "--porcelain", "--untracked-files=normal")
    remote = _git(path, "config", "--get", "remote.origin.url")
    when = _git(path, "log", "-1", "--format=%ct")
    commit_time = int(when.stdout.strip()) if when.stdout.strip().isdigit() else 0
    return GitState(head.stdout.strip(), bool(status.stdout.strip()), remote.stdout.strip(),
                    commit_time)


def chart_app_version(path: Path) -> str | None:
    """``appVersion`` of ``<path>/helm/Chart.yaml`` (the guide's service layout), if any."""
    chart = Path(path) / "helm" / "Chart.yaml"
    if not chart.is_file():
        return None
    try:
        data = yaml.safe_load(chart.read_text()) or {}
    except yaml.YAMLError as error:
        raise BuildError(f"{chart} is not valid YAML: {error}") from None
    value = data.get("appVersion")
    return str(value) if value is not None else None


def next_build_number(counter_file: Path, repository: str) -> int:
    """``GITHUB_RUN_NUMBER`` in CI; otherwise increment a per-repository local counter."""
    ci = os.environ.get("GITHUB_RUN_NUMBER", "")
    if ci:
        if not ci.isdigit():
            raise BuildError(f"GITHUB_RUN_NUMBER={ci!r} is not a number")
        return int(ci)
    counter_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        counters = json.loads(counter_file.read_text())
    except (FileNotFoundError, ValueError):
        counters = {}
    number = int(counters.get(repository, 0)) + 1
    counters[repository] = number
    fd, tmp = tempfile.mkstemp(dir=counter_file.parent, prefix=".counter-")
    with os.fdopen(fd, "w") as handle:
        json.dump(counters, handle, sort_keys=True)
    os.replace(tmp, counter_file)
    return number
