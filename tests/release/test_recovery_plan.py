"""Stuck-release detection: plan_recovery over release histories (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shiplane.release.revisions import (
    OwnerState,
    RecoveryAction,
    Revision,
    last_deployed,
    plan_recovery,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def rev(number: int, status: str, age: float = 3600, host: str | None = "ci-1",
        pid: int | None = 4242) -> Revision:
    return Revision(number, status, NOW - timedelta(seconds=age), owner_host=host, owner_pid=pid)


def test_no_pending_revision_means_nothing_to_do() -> None:
    history = [rev(1, "superseded"), rev(2, "deployed"), rev(3, "failed")]
    for state in OwnerState:
        plan = plan_recovery("svc", history, owner_state=state, now=NOW)
        assert plan.action is RecoveryAction.NONE
    empty = plan_recovery("svc", [], owner_state=OwnerState.UNKNOWN, now=NOW)
    assert empty.action is RecoveryAction.NONE


@pytest.mark.parametrize("status", ["pending-install", "pending-upgrade", "pending-rollback"])
def test_pending_revision_of_a_dead_writer_is_marked_failed_at_once(status: str) -> None:
    history = [rev(1, "deployed"), rev(2, status, age=1)]
    plan = plan_recovery("svc", history, owner_state=OwnerState.DEAD, now=NOW)
    assert plan.action is RecoveryAction.MARK_FAILED
    assert plan.revisions == (2,)
    assert f"revision 2 was left {status}" in plan.message
    assert "pid 4242 on ci-1" in plan.message and "marked it failed" in plan.message


def test_pending_revision_of_a_live_writer_is_busy_however_old() -> None:
    plan = plan_recovery("svc", [rev(1, "deployed"), rev(2, "pending-upgrade", age=99999)],
                         owner_state=OwnerState.ALIVE, now=NOW)
    assert plan.action is RecoveryAction.BUSY
    assert "another deploy (pid 4242 on ci-1" in plan.message
    assert plan.owner == {"host": "ci-1", "pid": 4242}


def test_unknown_writer_is_busy_until_stale() -> None:
    recent = [rev(1, "deployed"), rev(2, "pending-upgrade", age=30, host=None, pid=None)]
    plan = plan_recovery("svc", recent, owner_state=OwnerState.UNKNOWN, now=NOW, stale_after=600)
    assert plan.action is RecoveryAction.BUSY
    assert "did not label it" in plan.message
    old = [rev(1, "deployed"), rev(2, "pending-upgrade", age=601, host=None, pid=None)]
    plan = plan_recovery("svc", old, owner_state=OwnerState.UNKNOWN, now=NOW, stale_after=600)
    assert plan.action is RecoveryAction.MARK_FAILED
    assert "has not changed for 601s" in plan.message


def test_unknown_writer_without_timestamp_needs_force() -> None:
    history = [Revision(1, "pending-install")]
    assert plan_recovery("svc", history, owner_state=OwnerState.UNKNOWN,
                         now=NOW).action is RecoveryAction.BUSY
    forced = plan_recovery("svc", history, owner_state=OwnerState.UNKNOWN, now=NOW, force=True)
    assert forced.action is RecoveryAction.MARK_FAILED and "--force-unlock" in forced.message


def test_force_overrides_a_live_writer() -> None:
    plan = plan_recovery("svc", [rev(1, "pending-install", age=1)],
                         owner_state=OwnerState.ALIVE, now=NOW, force=True)
    assert plan.action is RecoveryAction.MARK_FAILED


def test_every_pending_revision_is_marked_not_only_the_newest() -> None:
    history = [rev(1, "deployed"), rev(2, "pending-upgrade"), rev(3, "pending-rollback")]
    plan = plan_recovery("svc", history, owner_state=OwnerState.DEAD, now=NOW)
    assert plan.revisions == (2, 3)
    assert "revision 3 was left pending-rollback" in plan.message


def test_last_deployed() -> None:
    assert last_deployed([rev(1, "superseded"), rev(2, "deployed"), rev(3, "failed")]).number == 2
    assert last_deployed([rev(1, "failed")]) is None
    assert last_deployed([]) is None
