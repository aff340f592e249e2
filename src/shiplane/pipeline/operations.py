"""Plain functions behind ``shiplane pipeline …`` and ``shiplane git …``.

* :func:`resolve_workspace` — the workspace config and its state dir (flag > env > file);
* :func:`run_pipeline` — one manual run of a service repo's working tree;
* :func:`list_runs`, :func:`get_run`, :func:`run_logs`, :func:`follow_run` — read the run store;
* :func:`serve_git` — the local git server with push-triggered runs, in the foreground.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shiplane.config import (
    STATE_DIR_ENV_VAR,
    Workspace,
    find_config,
    load_workspace,
    resolve_setting,
)
from shiplane.pipeline.definition import read_service_info
from shiplane.pipeline.errors import (
    NotAServiceRepo,
    PipelineError,
    UnknownEnvironment,
    UnknownStep,
)
from shiplane.pipeline.records import RunRecord, Trigger
from shiplane.pipeline.recovery import recover_abandoned
from shiplane.pipeline.runner import PipelineRunner, RunObserver, RunRequest
from shiplane.pipeline.steps import RunSettings, StepRegistry
from shiplane.pipeline.store import RunStore, open_run_store

if TYPE_CHECKING:
    from shiplane.pipeline.embedded import PipelineServer

__all__ = [
    "WorkspacePaths",
    "follow_run",
    "get_run",
    "list_runs",
    "resolve_workspace",
    "run_logs",
    "run_pipeline",
    "serve_git",
]


@dataclass(frozen=True)
class WorkspacePaths:
    workspace: Workspace
    state_dir: Path


def resolve_workspace(state_dir: Path | None = None) -> WorkspacePaths:
    path = find_config()
    workspace = load_workspace(path)
    resolved = resolve_setting(
        flag=state_dir, env_var=STATE_DIR_ENV_VAR,
        file_value=workspace.state_dir if path else None, default=workspace.state_dir,
        convert=Path,
    )
    return WorkspacePaths(workspace, Path(resolved.value).resolve())


def _current_branch(repo: Path) -> str | None:
    head = repo / ".git" / "HEAD"
    try:
        text = head.read_text().strip()
    except OSError:
        return None
    return text.removeprefix("ref: ") if text.startswith("ref: ") else None


def run_pipeline(
    repo: Path, *, env: str = "dev", until: str | None = None, model: int | None = None,
    state_dir: Path | None = None, settings: RunSettings | None = None,
    observer: RunObserver | None = None, store: RunStore | None = None,
    steps: StepRegistry | None = None,
) -> RunRecord:
    """Run the pipeline on the working tree ``repo`` as it is (trigger ``manual``)."""
    repo = Path(repo).resolve()
    if not repo.is_dir():
        raise NotAServiceRepo(f"{repo} is not a folder")
    info = read_service_info(repo)
    paths = resolve_workspace(state_dir)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD"],
                          capture_output=True, text=True)
    commit = head.stdout.strip() if head.returncode == 0 and (repo / ".git").exists() else None
    own_store = store is None
    store = store if store is not None else open_run_store(paths.state_dir)
    try:
        recover_abandoned(store)
        runner = PipelineRunner(store, state_dir=paths.state_dir, workspace=paths.workspace,
                                steps=steps)
        request = RunRequest(
            source=str(repo), service=info.name, model=model or info.model, env=env,
            trigger=Trigger.MANUAL, commit=commit, ref=_current_branch(repo), until=until,
            settings=settings or RunSettings(),
        )
        return runner.run(request, observer)
    finally:
        if own_store:
            store.close()


def list_runs(
    *, service: str | None = None, limit: int = 20, state_dir: Path | None = None
) -> list[RunRecord]:
    store = open_run_store(resolve_workspace(state_dir).state_dir)
    try:
        recover_abandoned(store)
        return store.list(service=service, limit=limit)
    finally:
        store.close()


def get_run(run_id: int, *, state_dir: Path | None = None) -> RunRecord:
    store = open_run_store(resolve_workspace(state_dir).state_dir)
    try:
        recover_abandoned(store)
        return store.get(run_id)
    finally:
        store.close()


def run_logs(
    run_id: int, *, step: str | None = None, state_dir: Path | None = None
) -> list[tuple[str, str]]:
    """``(step name, log)`` of every step of the run, or of ``step`` only."""
    run = get_run(run_id, state_dir=state_dir)
    if step is None:
        return [(s.name, s.log) for s in run.steps]
    try:
        return [(step, run.step(step).log)]
    except KeyError:
        raise UnknownStep(
            f"run {run_id} has no step {step!r}",
            hint=f"steps: {', '.join(s.name for s in run.steps)}",
        ) from None


def follow_run(
    run_id: int, *, state_dir: Path | None = None, interval: float = 0.5,
    timeout: float | None = None,
) -> Iterator[tuple[str, str]]:
    """``(step, new log text)`` as the run's logs grow, until the run has finished."""
    store = open_run_store(resolve_workspace(state_dir).state_dir)
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, int] = {}
    try:
        while True:
            run = store.get(run_id)
            for step in run.steps:
                if len(step.log) > seen.get(step.name, 0):
                    yield step.name, step.log[seen.get(step.name, 0):]
                    seen[step.name] = len(step.log)
            if run.status.finished:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise PipelineError(f"run {run_id} is still {run.status.value}",
                                    hint="follow it again, or see `shiplane pipeline show`")
            time.sleep(interval)
    finally:
        store.close()


def serve_git(
    *, host: str = "127.0.0.1", port: int = 8418, env: str = "dev", until: str | None = None,
    webhook_secret: str | None = None, state_dir: Path | None = None,
    settings: RunSettings | None = None, observer: RunObserver | None = None,
    on_start: Callable[[PipelineServer], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``<state dir>/git`` and run the pipeline on pushes to main, until ``stop``."""
    from shiplane.pipeline.embedded import PipelineServer  # a web server: loaded when serving

    paths = resolve_workspace(state_dir)
    if env not in paths.workspace.environments:
        raise UnknownEnvironment(f"unknown environment {env!r}",
                          hint=f"known: {', '.join(paths.workspace.environments)}")
    server = PipelineServer(
        paths.state_dir, workspace=paths.workspace, env=env, until=until, settings=settings,
        webhook_secret=webhook_secret, observer=observer, host=host, port=port,
    )
    stop = stop or threading.Event()
    with server:
        if on_start is not None:
            on_start(server)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
