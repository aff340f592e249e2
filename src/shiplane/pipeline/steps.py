"""Step implementations and the registry the runner looks them up in.

A step implementation is a plain callable ``(StepContext) -> StepOutputs | None``.
It writes its log through ``context.log``, raises :class:`StepFailed` (or any
``ShiplaneError``) to fail with a reason, and returns what it produced (image
digest, tags, release revision). The runner knows steps only by name through a
:class:`StepRegistry`, so a new step (the Model 1 ``deploy`` of
``shiplane.release``) is added by registering it, without touching the runner.
A step with no registered implementation fails and says so; nothing pretends.

The implementations here: ``checkout`` (the pushed commit, with the ``git`` CLI)
and ``test`` (the service repo's own pytest, for real, in a subprocess).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.config import Environment, Workspace
from shiplane.pipeline.errors import StepFailed
from shiplane.pipeline.records import RunRecord

__all__ = [
    "RunSettings",
    "StepContext",
    "StepImplementation",
    "StepLog",
    "StepOutputs",
    "StepRegistry",
    "checkout_step",
    "run_logged",
    "test_python",
    "test_step",
]


@dataclass(frozen=True)
class RunSettings:
    """Per-run knobs that are not part of the run record."""

    registry: str | None = None  # push here instead of the environment's registry
    platform_repo: Path | None = None  # Model 2: the platform repo `bump` commits to
    test_command: Sequence[str] | None = None  # default: this Python's pytest
    build_args: Mapping[str, str] = field(default_factory=dict)  # docker build --build-arg
    step_timeout: float = 900.0


class StepLog:
    """The captured output of one step; ``listener`` sees each piece as it is written."""

    def __init__(self, listener: Callable[[str], None] | None = None) -> None:
        self._parts: list[str] = []
        self._listener = listener
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        if not text:
            return
        if not text.endswith("\n"):
            text += "\n"
        with self._lock:
            self._parts.append(text)
        if self._listener is not None:
            self._listener(text)

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


@dataclass
class StepContext:
    run: RunRecord  # a copy: read it, do not change it (return StepOutputs instead)
    workdir: Path  # the service repository's working tree
    state_dir: Path
    environment: Environment
    settings: RunSettings
    log: StepLog
    outputs: dict[str, Any] = field(default_factory=dict)  # shared by the steps of one run
    cancelled: threading.Event = field(default_factory=threading.Event)
    workspace: Workspace | None = None  # the whole config (``deploy`` resolves the env's cluster)


@dataclass(frozen=True)
class StepOutputs:
    """What a step produced; the runner copies the fields that are set into the run."""

    summary: str = ""
    image_reference: str | None = None
    image_digest: str | None = None
    image_tags: Sequence[str] = ()
    release_revision: int | None = None


StepImplementation = Callable[[StepContext], "StepOutputs | None"]


class StepRegistry:
    """Step name → implementation."""

    def __init__(self, implementations: Mapping[str, StepImplementation] | None = None) -> None:
        self._steps: dict[str, StepImplementation] = dict(implementations or {})

    def register(self, name: str, implementation: StepImplementation) -> None:
        self._steps[name] = implementation

    def get(self, name: str) -> StepImplementation | None:
        return self._steps.get(name)

    def names(self) -> list[str]:
        return sorted(self._steps)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def _child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The service's tests must not inherit our pytest's settings or plugins.
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_CURRENT_TEST", "PYTHONPATH"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the work tree clean (the build tags -dirty)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


def run_logged(
    context: StepContext, argv: Sequence[str], *, cwd: Path | None = None,
    env: Mapping[str, str] | None = None, timeout: float | None = None,
) -> int:
    """Run ``argv``, streaming stdout+stderr into the step log; returns the exit status.

    The child gets its own process group so a timeout or a cancel ends its children too.
    """
    context.log.write("$ " + " ".join(argv))
    try:
        process = subprocess.Popen(
            list(argv), cwd=cwd or context.workdir, env=_child_environment(env),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", bufsize=1, start_new_session=True,
        )
    except OSError as error:
        raise StepFailed(f"cannot run {argv[0]}: {error.strerror}") from None
    limit = timeout if timeout is not None else context.settings.step_timeout
    timed_out = threading.Event()

    def stop() -> None:
        if process.poll() is None:
            timed_out.set()
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(limit, stop)
    timer.daemon = True
    timer.start()

    def watch_cancel() -> None:
        while process.poll() is None:
            if context.cancelled.wait(0.2):
                stop()
                return

    threading.Thread(target=watch_cancel, daemon=True).start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            context.log.write(line)
        status = process.wait()
    except BaseException:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise
    finally:
        timer.cancel()
    if timed_out.is_set() and not context.cancelled.is_set():
        raise StepFailed(f"{argv[0]} did not finish within {limit:g} s and was stopped")
    return status


def checkout_step(context: StepContext) -> StepOutputs:
    """Clone ``run.source`` and check out ``run.commit`` (detached) into the work dir."""
    run = context.run
    if not run.commit:
        raise StepFailed("the run names no commit to check out")
    target = context.workdir
    if target.exists() and any(target.iterdir()):
        raise StepFailed(f"the work folder {target} is not empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    if run_logged(context, ["git", "clone", "--quiet", "--no-checkout", run.source, str(target)],
                  cwd=target.parent) != 0:
        raise StepFailed(f"git clone {run.source} failed")
    if run_logged(context, ["git", "-c", "advice.detachedHead=false", "checkout", "--quiet",
                            "--detach", run.commit], cwd=target) != 0:
        raise StepFailed(f"commit {run.commit} is not in {run.source}")
    return StepOutputs(summary=f"checked out {run.commit[:7]}")


# pytest's exit codes (pytest.ExitCode): 1 tests failed, 2 interrupted, 3 internal
# error, 4 usage error, 5 no tests collected.
_PYTEST_EXIT = {1: "tests failed", 2: "the test run was interrupted",
                3: "pytest hit an internal error", 4: "pytest was called wrongly",
                5: "no tests were collected"}


def test_python(workdir: Path) -> str:
    """The repository's own virtualenv (``.venv``/``venv``) if it has one, else this Python."""
    for folder in (".venv", "venv"):
        candidate = workdir / folder / "bin" / "python"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    if importlib.util.find_spec("pytest") is None:
        raise StepFailed(
            f"pytest is not installed for {sys.executable}",
            hint="install it (pip install pytest) or give the repo a .venv with pytest",
        )
    return sys.executable


def test_step(context: StepContext) -> StepOutputs:
    """Run the repository's tests with pytest (``-p no:cacheprovider``: no files written)."""
    argv = list(context.settings.test_command or (
        test_python(context.workdir), "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--color=no",
    ))
    status = run_logged(context, argv)
    if context.cancelled.is_set():
        raise StepFailed("cancelled")
    if status != 0:
        reason = _PYTEST_EXIT.get(status, "the test command failed") \
            if context.settings.test_command is None else "the test command failed"
        raise StepFailed(f"{reason} (exit status {status})")
    lines = [line for line in context.log.text.splitlines() if line.strip()]
    return StepOutputs(summary=lines[-1].strip("= ") if lines else "tests passed")


test_step.__test__ = False  # type: ignore[attr-defined]  # not pytest test functions
test_python.__test__ = False  # type: ignore[attr-defined]
