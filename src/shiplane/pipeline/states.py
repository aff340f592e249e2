"""The state machines of a pipeline run and of its steps, as data.

Theory of operation (after h11's ``_state.py``): a run is an ordered list of
steps. Each step and the run itself have a status, and a status changes only
by an *event* looked up in a transition table; any other event is a bug and
raises :class:`InvalidTransition`. Nothing here does I/O.

Step::

    PENDING --start--> RUNNING --succeed--> SUCCEEDED
       |                  |----fail-------> FAILED
       |                  `----cancel-----> CANCELLED
       |----skip--------> SKIPPED       (an earlier step failed, or not requested)
       `----cancel------> CANCELLED     (the run was cancelled before it started)

Run::

    PENDING --start--> RUNNING --succeed--> SUCCEEDED
       |                  |----fail-------> FAILED
       |                  `----cancel-----> CANCELLED
       `----cancel------> CANCELLED

What happens next is decided by :func:`next_action` from the step statuses
alone: the first pending step starts while every earlier step succeeded or was
skipped; a failed step skips every pending step and fails the run (a failing
test or build "stops the run at that step"); a cancelled step cancels the
pending ones and the run. The runner only carries the decision out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shiplane.pipeline.errors import InvalidTransition

__all__ = [
    "RUN_TRANSITIONS",
    "STEP_TRANSITIONS",
    "Action",
    "Event",
    "FinishRun",
    "RunStatus",
    "StartStep",
    "StepStatus",
    "next_action",
    "run_transition",
    "step_transition",
]


class StepStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)


class RunStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


class Event(str, enum.Enum):
    START = "start"
    SUCCEED = "succeed"
    FAIL = "fail"
    SKIP = "skip"
    CANCEL = "cancel"


S, R, E = StepStatus, RunStatus, Event

STEP_TRANSITIONS: Mapping[tuple[StepStatus, Event], StepStatus] = {
    (S.PENDING, E.START): S.RUNNING,
    (S.PENDING, E.SKIP): S.SKIPPED,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.RUNNING, E.SUCCEED): S.SUCCEEDED,
    (S.RUNNING, E.FAIL): S.FAILED,
    (S.RUNNING, E.CANCEL): S.CANCELLED,
}

RUN_TRANSITIONS: Mapping[tuple[RunStatus, Event], RunStatus] = {
    (R.PENDING, E.START): R.RUNNING,
    (R.PENDING, E.CANCEL): R.CANCELLED,
    (R.RUNNING, E.SUCCEED): R.SUCCEEDED,
    (R.RUNNING, E.FAIL): R.FAILED,
    (R.RUNNING, E.CANCEL): R.CANCELLED,
}


def step_transition(status: StepStatus, event: Event) -> StepStatus:
    try:
        return STEP_TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(f"a {status.value} step cannot {event.value}") from None


def run_transition(status: RunStatus, event: Event) -> RunStatus:
    try:
        return RUN_TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(f"a {status.value} run cannot {event.value}") from None


@dataclass(frozen=True)
class StartStep:
    """Start the step at ``index``."""

    index: int


@dataclass(frozen=True)
class FinishRun:
    """Send ``event`` to the run and ``step_event`` to each step in ``pending``."""

    event: Event
    step_event: Event
    pending: tuple[int, ...]


Action = StartStep | FinishRun


def next_action(steps: Sequence[StepStatus]) -> Action:
    """What a sequential runner does next, given every step's status (in order)."""
    if S.RUNNING in steps:
        raise InvalidTransition("a step is still running: finish it before deciding")
    pending = tuple(i for i, status in enumerate(steps) if status is S.PENDING)
    if S.CANCELLED in steps:
        return FinishRun(E.CANCEL, E.CANCEL, pending)
    if S.FAILED in steps:
        return FinishRun(E.FAIL, E.SKIP, pending)
    if pending:
        return StartStep(pending[0])
    return FinishRun(E.SUCCEED, E.SKIP, ())
