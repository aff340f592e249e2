"""Container termination timeline (k8s kuberuntime_container.go killContainer and its tests)."""

import pytest

from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.termination import grace_period, plan_termination

WEB = {"name": "web"}
HOOKED = {"name": "web", "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}}}


def test_grace_period_sources():
    assert grace_period({"spec": {}}) == 30
    assert grace_period({"spec": {"terminationGracePeriodSeconds": 60}}) == 60
    assert (
        grace_period(
            {
                "metadata": {"deletionGracePeriodSeconds": 0},
                "spec": {"terminationGracePeriodSeconds": 60},
            }
        )
        == 0
    )
    assert (
        grace_period(
            {"spec": {"terminationGracePeriodSeconds": 60}}, {"terminationGracePeriodSeconds": 5}
        )
        == 5
    )


def test_plain_container_gets_sigterm_at_once():
    plan = plan_termination(WEB, 30, exits_after_sigterm=1.5, exit_code_on_sigterm=0)
    assert plan.events == (Event("Normal", "Killing", "Stopping container web"),)
    assert (plan.prestop_until, plan.sigterm_at, plan.sigkill_at, plan.exit_at, plan.exit_code) == (
        0,
        0,
        30,
        1.5,
        0,
    )


def test_prestop_runs_first_and_uses_up_grace():
    plan = plan_termination(HOOKED, 30, prestop_seconds=5, exits_after_sigterm=None)
    assert (plan.prestop_until, plan.sigterm_at, plan.sigkill_at, plan.exit_at, plan.exit_code) == (
        5,
        5,
        30,
        30,
        137,
    )


@pytest.mark.parametrize("grace,prestop,kill_at", [(10, 30, 12), (10, 9.5, 11.5), (0, 5, 2)])
def test_overrunning_prestop_gets_the_two_second_minimum(grace, prestop, kill_at):
    plan = plan_termination(HOOKED, grace, prestop_seconds=prestop, exits_after_sigterm=None)
    assert plan.sigkill_at == kill_at
    if grace == 0:
        assert plan.prestop_until == 0  # no hook without grace


def test_custom_message():
    plan = plan_termination(
        WEB, 30, message="Container web failed liveness probe, will be restarted"
    )
    assert plan.events[0].message == "Container web failed liveness probe, will be restarted"
