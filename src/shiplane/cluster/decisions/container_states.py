"""Container lifecycle as a transition table, and how it shows in ``containerStatuses``.

Theory of operation (h11-style): a container is always in one :class:`Phase`; the kubelet feeds
it inputs (image ready, pull failed, started, exited, killed, back-off...) and
:func:`transition` returns the next :class:`ContainerRecord` or raises
:class:`InvalidTransition`. The table is the whole behaviour::

    PodInitializing --init done--> ContainerCreating --image failure--> ErrImagePull
        ErrImagePull --in back-off--> ImagePullBackOff --retry--> ContainerCreating
    ContainerCreating --started--> Running --exited/killed--> Terminated
    ContainerCreating --config error--> CreateContainerConfigError
    Terminated --restart now--> Running            (first restart is immediate, as upstream)
    Terminated --in back-off--> CrashLoopBackOff --restart--> Running

Waiting reasons and messages follow the kubelet (kuberuntime_container.go, kuberuntime_manager.go
doBackOff: "back-off 20s restarting failed container=web pod=web-abc_default(uid)").
Restart policy (ShouldContainerBeRestarted): Always restarts, OnFailure only non-zero exits,
Never does not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions.backoff import Backoff
from shiplane.cluster.decisions.clock import format_go_duration, format_time, parse_time
from shiplane.cluster.decisions.errors import DecisionInputError
from shiplane.cluster.decisions.events import Event

__all__ = [
    "ContainerRecord",
    "Input",
    "InvalidTransition",
    "Phase",
    "TRANSITIONS",
    "crash_loop_decision",
    "should_restart",
    "transition",
]


class Phase(enum.Enum):
    POD_INITIALIZING = "PodInitializing"
    CREATING = "ContainerCreating"
    ERR_IMAGE_PULL = "ErrImagePull"
    IMAGE_PULL_BACKOFF = "ImagePullBackOff"
    ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
    INVALID_IMAGE_NAME = "InvalidImageName"
    RUNNING = "Running"
    TERMINATED = "Terminated"
    CRASH_LOOP_BACKOFF = "CrashLoopBackOff"
    CREATE_CONFIG_ERROR = "CreateContainerConfigError"


class Input(enum.Enum):
    INIT_DONE = "init-done"
    PULL_FAILED = "pull-failed"
    PULL_BACKOFF = "pull-backoff"
    NEVER_PULL = "never-pull"
    INVALID_IMAGE = "invalid-image"
    RETRY = "retry"
    STARTED = "started"
    EXITED = "exited"
    KILLED = "killed"
    RESTART_BACKOFF = "restart-backoff"
    CONFIG_ERROR = "config-error"  # the container's config cannot be made (env source...)


_WAITING_FOR_IMAGE = (
    Phase.CREATING,
    Phase.ERR_IMAGE_PULL,
    Phase.IMAGE_PULL_BACKOFF,
    Phase.ERR_IMAGE_NEVER_PULL,
    Phase.INVALID_IMAGE_NAME,
)
TRANSITIONS: dict[Phase, dict[Input, Phase]] = {
    Phase.POD_INITIALIZING: {Input.INIT_DONE: Phase.CREATING},
    **{
        phase: {
            Input.PULL_FAILED: Phase.ERR_IMAGE_PULL,
            Input.PULL_BACKOFF: Phase.IMAGE_PULL_BACKOFF,
            Input.NEVER_PULL: Phase.ERR_IMAGE_NEVER_PULL,
            Input.INVALID_IMAGE: Phase.INVALID_IMAGE_NAME,
            Input.RETRY: Phase.CREATING,
            Input.STARTED: Phase.RUNNING,
            Input.CONFIG_ERROR: Phase.CREATE_CONFIG_ERROR,
        }
        for phase in _WAITING_FOR_IMAGE
    },
    # the kubelet's next pod sync tries again (the ConfigMap may exist by then)
    Phase.CREATE_CONFIG_ERROR: {Input.CONFIG_ERROR: Phase.CREATE_CONFIG_ERROR,
                                Input.STARTED: Phase.RUNNING},
    Phase.RUNNING: {Input.EXITED: Phase.TERMINATED, Input.KILLED: Phase.TERMINATED},
    Phase.TERMINATED: {
        Input.STARTED: Phase.RUNNING,
        Input.RESTART_BACKOFF: Phase.CRASH_LOOP_BACKOFF,
    },
    Phase.CRASH_LOOP_BACKOFF: {
        Input.STARTED: Phase.RUNNING,
        Input.RESTART_BACKOFF: Phase.CRASH_LOOP_BACKOFF,
    },
}


class InvalidTransition(DecisionInputError):
    """An input that the container's current phase does not accept."""


@dataclass(frozen=True)
class ContainerRecord:
    name: str
    image: str
    phase: Phase = Phase.CREATING
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    exit_reason: str = ""
    restart_count: int = 0
    last_terminated: dict | None = None  # lastState.terminated
    ready: bool = False
    started: bool = False
    container_id: str = ""

    def api_state(self) -> dict[str, Any]:
        if self.phase is Phase.RUNNING:
            return {"running": {"startedAt": format_time(self.started_at)}}
        if self.phase is Phase.TERMINATED:
            return {"terminated": self._terminated()}
        waiting: dict[str, Any] = {"reason": self.phase.value}
        if self.message:
            waiting["message"] = self.message
        return {"waiting": waiting}

    def _terminated(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exitCode": self.exit_code, "reason": self.exit_reason}
        if self.started_at:
            out["startedAt"] = format_time(self.started_at)
        if self.finished_at:
            out["finishedAt"] = format_time(self.finished_at)
        if self.container_id:
            out["containerID"] = self.container_id
        return out

    def api_status(self, image_id: str = "") -> dict[str, Any]:
        """A v1.ContainerStatus."""
        status: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "imageID": image_id,
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.api_state(),
            "lastState": {"terminated": self.last_terminated} if self.last_terminated else {},
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


def transition(
    record: ContainerRecord,
    event: Input,
    now: datetime,
    *,
    message: str = "",
    exit_code: int = 0,
    container_id: str = "",
) -> ContainerRecord:
    """The next record for ``event``; raises :class:`InvalidTransition` if the table has no edge."""
    target = TRANSITIONS.get(record.phase, {}).get(event)
    if target is None:
        raise InvalidTransition(
            f"container {record.name!r}: {event.value!r} is not valid in {record.phase.value}"
        )
    if target is Phase.RUNNING:
        restarted = record.phase in (Phase.TERMINATED, Phase.CRASH_LOOP_BACKOFF)
        last = record._terminated() if record.phase is Phase.TERMINATED else record.last_terminated
        return replace(
            record,
            phase=target,
            message="",
            started_at=now,
            finished_at=None,
            exit_code=None,
            exit_reason="",
            restart_count=record.restart_count + (1 if restarted else 0),
            last_terminated=last if restarted else record.last_terminated,
            container_id=container_id or record.container_id,
            ready=False,
            started=False,
        )
    if target is Phase.TERMINATED:
        if event is Input.KILLED:
            exit_code = exit_code or 137  # SIGKILL after a failed liveness probe
        reason = "Completed" if exit_code == 0 else "Error"
        return replace(
            record,
            phase=target,
            finished_at=now,
            exit_code=exit_code,
            exit_reason=reason,
            ready=False,
            started=False,
            message="",
        )
    if target is Phase.CRASH_LOOP_BACKOFF and record.phase is Phase.TERMINATED:
        return replace(record, phase=target, message=message, last_terminated=record._terminated())
    return replace(record, phase=target, message=message)


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """ShouldContainerBeRestarted for an exited container."""
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True


def crash_loop_decision(
    record: ContainerRecord, backoff: Backoff, key: str, now: datetime, pod_ref: str
) -> tuple[bool, Backoff, ContainerRecord, tuple[Event, ...]]:
    """doBackOff for a terminated container that should restart:
    (restart now?, back-off, record, events).

    ``pod_ref`` is format.Pod: ``name_namespace(uid)``.
    """
    if record.phase is Phase.TERMINATED:
        finished = record.finished_at or now
    else:  # already waiting in CrashLoopBackOff: measure from the last exit
        finished = parse_time((record.last_terminated or {}).get("finishedAt")) or now
    if backoff.in_backoff_since(key, finished, now):
        message = (
            f"back-off {format_go_duration(backoff.get(key))} restarting failed "
            f"container={record.name} pod={pod_ref}"
        )
        event = Event(
            "Warning",
            "BackOff",
            f"Back-off restarting failed container {record.name} in pod {pod_ref}",
        )
        return (
            False,
            backoff,
            transition(record, Input.RESTART_BACKOFF, now, message=message),
            (event,),
        )
    return True, backoff.next(key, now), record, ()
