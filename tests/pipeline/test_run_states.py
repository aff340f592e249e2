"""The step and run state machines, every (state, event) pair, and next_action."""

from __future__ import annotations

import itertools

import pytest

from shiplane.pipeline import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    Event,
    FinishRun,
    InvalidTransition,
    RunStatus,
    StartStep,
    StepStatus,
    next_action,
    run_transition,
    step_transition,
)
from shiplane.pipeline.records import RunRecord, StepRecord, Trigger

S, R, E = StepStatus, RunStatus, Event

EXPECTED_STEP = {
    (S.PENDING, E.START): S.RUNNING,
    (S.PENDING, E.SKIP): S.SKIPPED,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.RUNNING, E.SUCCEED): S.SUCCEEDED,
    (S.RUNNING, E.FAIL): S.FAILED,
    (S.RUNNING, E.CANCEL): S.CANCELLED,
}
EXPECTED_RUN = {
    (R.PENDING, E.START): R.RUNNING,
    (R.PENDING, E.CANCEL): R.CANCELLED,
    (R.RUNNING, E.SUCCEED): R.SUCCEEDED,
    (R.RUNNING, E.FAIL): R.FAILED,
    (R.RUNNING, E.CANCEL): R.CANCELLED,
}


@pytest.mark.parametrize("status,event", list(itertools.product(StepStatus, Event)))
def test_every_step_state_and_event(status, event):
    if (status, event) in EXPECTED_STEP:
        assert step_transition(status, event) is EXPECTED_STEP[(status, event)]
    else:
        with pytest.raises(InvalidTransition, match=f"a {status.value} step cannot {event.value}"):
            step_transition(status, event)


@pytest.mark.parametrize("status,event", list(itertools.product(RunStatus, Event)))
def test_every_run_state_and_event(status, event):
    if (status, event) in EXPECTED_RUN:
        assert run_transition(status, event) is EXPECTED_RUN[(status, event)]
    else:
        with pytest.raises(InvalidTransition, match=f"a {status.value} run cannot {event.value}"):
            run_transition(status, event)


def test_tables_are_exactly_the_documented_ones():
    assert dict(STEP_TRANSITIONS) == EXPECTED_STEP
    assert dict(RUN_TRANSITIONS) == EXPECTED_RUN


def test_finished_states_have_no_way_out():
    for status in StepStatus:
        leaves = {event for (state, event) in STEP_TRANSITIONS if state is status}
        assert bool(leaves) != status.finished
    for status in RunStatus:
        leaves = {event for (state, event) in RUN_TRANSITIONS if state is status}
        assert bool(leaves) != status.finished


def test_next_action_examples():
    assert next_action([S.PENDING, S.PENDING]) == StartStep(0)
    assert next_action([S.SUCCEEDED, S.PENDING]) == StartStep(1)
    assert next_action([S.SKIPPED, S.PENDING, S.PENDING]) == StartStep(1)
    assert next_action([S.SUCCEEDED, S.FAILED, S.PENDING, S.PENDING]) == FinishRun(
        E.FAIL, E.SKIP, (2, 3))
    assert next_action([S.SUCCEEDED, S.CANCELLED, S.PENDING]) == FinishRun(
        E.CANCEL, E.CANCEL, (2,))
    assert next_action([S.SUCCEEDED, S.SKIPPED]) == FinishRun(E.SUCCEED, E.SKIP, ())
    assert next_action([]) == FinishRun(E.SUCCEED, E.SKIP, ())
    with pytest.raises(InvalidTransition, match="still running"):
        next_action([S.SUCCEEDED, S.RUNNING])


OUTCOMES = (E.SUCCEED, E.FAIL, E.CANCEL)


def _drive(length: int, outcomes: tuple[Event, ...], skipped: frozenset[int]) -> RunRecord:
    """Carry next_action out through the tables, as the runner does."""
    run = RunRecord(service="s", env="dev", model=1, trigger=Trigger.MANUAL, source=".",
                    steps=[StepRecord(f"s{i}") for i in range(length)])
    for index in skipped:
        run.steps[index].apply(E.SKIP)
    run.apply(E.START)
    given = iter(outcomes)
    while True:
        action = next_action([step.status for step in run.steps])
        if isinstance(action, FinishRun):
            for index in action.pending:
                run.steps[index].apply(action.step_event)
            run.apply(action.event)
            return run
        run.steps[action.index].apply(E.START)
        run.steps[action.index].apply(next(given))


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_every_outcome_sequence_ends_consistently(length):
    for skipped_count in range(length + 1):
        for skipped in itertools.combinations(range(length), skipped_count):
            executed = length - skipped_count
            for outcomes in itertools.product(OUTCOMES, repeat=executed):
                run = _drive(length, outcomes, frozenset(skipped))
                statuses = [step.status for step in run.steps]
                assert all(status.finished for status in statuses)
                assert run.status.finished
                stop = next((i for i, s in enumerate(statuses)
                             if s in (S.FAILED, S.CANCELLED)), None)
                if stop is None:
                    assert run.status is R.SUCCEEDED
                    assert set(statuses) <= {S.SUCCEEDED, S.SKIPPED}
                    continue
                # the first failure stops the run; nothing after it ran
                expected_after = S.SKIPPED if statuses[stop] is S.FAILED else S.CANCELLED
                assert run.status is (R.FAILED if statuses[stop] is S.FAILED else R.CANCELLED)
                for index in range(stop + 1, length):
                    if index not in skipped:
                        assert statuses[index] is expected_after
                assert all(s in (S.SUCCEEDED, S.SKIPPED) for s in statuses[:stop])
