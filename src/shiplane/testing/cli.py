"""Run the ``shiplane`` CLI in-process or as a real subprocess."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import shiplane

__all__ = ["CliResult", "run_cli", "shiplane_command"]


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(args: Sequence[str], *, cwd: Path | None = None) -> CliResult:
    """Call ``shiplane.cli.main`` in this process, capturing its output."""
    from shiplane.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = Path.cwd()
    os.environ["COLUMNS"] = os.environ.get("COLUMNS", "200")
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old_cwd)
    return CliResult(code, out.getvalue(), err.getvalue())


def shiplane_command(
    args: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
    timeout: float = 300, check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m shiplane ARGS`` as a subprocess using this very source tree."""
    src = str(Path(shiplane.__file__).resolve().parent.parent)
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = src + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.setdefault("COLUMNS", "200")
    return subprocess.run(
        [sys.executable, "-m", "shiplane", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=check,
    )
