"""Runs whose process died are ended, so no run stays "running" forever.

Every run records the ``<host>:<pid>`` of the process that owns it (the one that
created it and executes it: ``pipeline run``, or the git server's run queue).
When that process is gone — killed, or the machine rebooted — the run is
*abandoned*: its running step fails ("the runner … stopped"), its pending steps
are skipped and the run fails (a run that never started is cancelled). This is
checked when a run starts, when a git server starts and when runs are listed.

Only runs of this host are judged (another host's pids mean nothing here). A pid
reused by an unrelated process after a reboot keeps a run "running" until that
process exits too — the price of not recording process start times.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from shiplane.pipeline.records import RunRecord
from shiplane.pipeline.states import Event, RunStatus, StepStatus
from shiplane.pipeline.store import RunStore

__all__ = ["is_abandoned", "pid_alive", "recover_abandoned", "runner_id", "settle_abandoned"]


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_abandoned(run: RunRecord, *, host: str, alive: Callable[[int], bool]) -> bool:
    if run.status.finished or not run.runner:
        return False
    runner_host, _, pid = run.runner.rpartition(":")
    return runner_host == host and pid.isdigit() and not alive(int(pid))


def settle_abandoned(run: RunRecord) -> None:
    """End an abandoned run through the state machines (no I/O)."""
    reason = f"the runner {run.runner} stopped"
    for step in run.steps:
        if step.status is StepStatus.RUNNING:
            step.apply(Event.FAIL, summary=reason)
            run.error = f"{step.name}: {reason}"
        elif step.status is StepStatus.PENDING:
            step.apply(Event.SKIP, summary=f"skipped: {reason}")
    run.error = run.error or reason
    run.apply(Event.FAIL if run.status is RunStatus.RUNNING else Event.CANCEL)


def recover_abandoned(
    store: RunStore, *, host: str | None = None, alive: Callable[[int], bool] = pid_alive
) -> list[RunRecord]:
    """Settle and save every abandoned run of this host; returns them."""
    host = host or socket.gethostname()
    settled = []
    for run in store.list(unfinished=True, limit=10_000):
        if is_abandoned(run, host=host, alive=alive):
            settle_abandoned(run)
            store.save(run)
            settled.append(run)
    return settled
