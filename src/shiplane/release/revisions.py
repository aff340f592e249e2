"""A release's revisions and what to do about one left pending (pure).

Helm stores each revision as a Secret ``sh.helm.release.v1.<name>.v<rev>`` whose
``status`` is one of Helm's release statuses (``pkg/release/common/status.go``).
A deploy killed while Helm waits leaves its revision ``pending-install``,
``pending-upgrade`` or ``pending-rollback`` for ever, and every later
``helm upgrade`` then fails with "another operation (install/upgrade/rollback)
is in progress" (helm/helm#5595, #7476 — Helm's most reported pain point).

shiplane's choice (documented in :func:`plan_recovery`): the next deploy marks
such a revision **failed** (with a description saying why) and proceeds — it does
not roll back first, because the deploy is about to replace the manifest anyway
and ``--rollback-on-failure`` covers a failing outcome. Helm upgrades a release
whose latest revision is failed (``action/upgrade.go`` falls back to the last
release when there is no deployed one), so history stays linear.

A pending revision is only "stuck" when its writer is gone: shiplane labels each
revision with the writer's host and pid, so a revision written on this host by a
process that no longer runs is stuck at once; one whose writer still runs (or
whose writer is unknown — another host, Helm's own CLI — and that changed less
than ``stale_after`` ago) is busy, and the deploy refuses with a clear message.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "PENDING_STATUSES",
    "OwnerState",
    "RecoveryAction",
    "RecoveryPlan",
    "Revision",
    "last_deployed",
    "plan_recovery",
]

PENDING_STATUSES = frozenset({"pending-install", "pending-upgrade", "pending-rollback"})


@dataclass(frozen=True)
class Revision:
    """One revision of a release as ``helm history`` shows it."""

    number: int
    status: str
    updated: datetime | None = None
    chart: str = ""
    app_version: str = ""
    description: str = ""
    owner_host: str | None = None  # label shiplane-host on the storage Secret
    owner_pid: int | None = None  # label shiplane-pid

    @property
    def pending(self) -> bool:
        return self.status in PENDING_STATUSES


class OwnerState(enum.Enum):
    ALIVE = "alive"  # the writing process still runs on this host
    DEAD = "dead"  # it ran on this host and is gone
    UNKNOWN = "unknown"  # another host, or a writer that did not label it


class RecoveryAction(enum.Enum):
    NONE = "none"
    MARK_FAILED = "mark-failed"
    BUSY = "busy"  # another operation really is in progress: refuse


@dataclass(frozen=True)
class RecoveryPlan:
    action: RecoveryAction
    revisions: tuple[int, ...] = ()  # the pending revisions to mark failed
    message: str = ""
    owner: dict[str, object] = field(default_factory=dict)


def last_deployed(history: Sequence[Revision]) -> Revision | None:
    """The newest revision with status deployed (what a rollback returns to)."""
    deployed = [r for r in history if r.status == "deployed"]
    return max(deployed, key=lambda r: r.number) if deployed else None


def _writer(revision: Revision) -> str:
    if revision.owner_host is None:
        return "a client that did not label it (e.g. helm)"
    return f"pid {revision.owner_pid} on {revision.owner_host}"


def plan_recovery(
    name: str,
    history: Sequence[Revision],
    *,
    owner_state: OwnerState,
    now: datetime,
    stale_after: float = 600.0,
    force: bool = False,
) -> RecoveryPlan:
    """Decide whether pending revisions block the next deploy and what to do.

    ``owner_state`` is the adapter's verdict on the newest pending revision's writer.
    ``force`` (``--force-unlock``) treats a busy-looking revision as stuck.
    """
    pending = sorted((r for r in history if r.pending), key=lambda r: r.number)
    if not pending:
        return RecoveryPlan(RecoveryAction.NONE)
    newest = pending[-1]
    age = (now - newest.updated).total_seconds() if newest.updated else None
    numbers = tuple(r.number for r in pending)
    owner = {"host": newest.owner_host, "pid": newest.owner_pid}
    started = newest.updated.strftime("%Y-%m-%d %H:%M:%S UTC") if newest.updated else "unknown"
    stuck_because = ""
    if force:
        stuck_because = "--force-unlock was given"
    elif owner_state is OwnerState.DEAD:
        stuck_because = f"its deploy ({_writer(newest)}) no longer runs"
    elif owner_state is OwnerState.UNKNOWN and age is not None and age >= stale_after:
        stuck_because = f"it has not changed for {int(age)}s (more than {int(stale_after)}s)"
    if not stuck_because:
        return RecoveryPlan(
            RecoveryAction.BUSY,
            numbers,
            f"release {name} revision {newest.number} is {newest.status}: another deploy "
            f"({_writer(newest)}, started {started}) is in progress",
            owner,
        )
    return RecoveryPlan(
        RecoveryAction.MARK_FAILED,
        numbers,
        f"release {name} revision {newest.number} was left {newest.status} (started {started}); "
        f"{stuck_because}: marked it failed and continuing",
        owner,
    )
