"""What a pipeline run records: the run, its steps, their logs and what they produced.

Records are plain dataclasses that round-trip through ``to_dict``/``from_dict``
(the JSON of ``--output json`` and the rows of the SQLite store). Their status
fields change only through :mod:`shiplane.pipeline.states`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shiplane.pipeline.states import Event, RunStatus, StepStatus, run_transition, step_transition

__all__ = ["RunRecord", "StepRecord", "Trigger", "log_tail", "utc_now"]


class Trigger(str, enum.Enum):
    MANUAL = "manual"  # `shiplane pipeline run`
    PUSH = "push"  # `git push` to the local git server
    WEBHOOK = "webhook"  # a GitHub/Gitea push webhook


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def log_tail(log: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a log (what a failed run shows)."""
    return "\n".join(log.rstrip("\n").splitlines()[-lines:])


@dataclass
class StepRecord:
    name: str
    status: StepStatus = StepStatus.PENDING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    summary: str = ""  # one line: the outcome, or why the step was skipped
    log: str = ""

    def apply(self, event: Event, *, at: datetime | None = None, summary: str | None = None) -> None:
        self.status = step_transition(self.status, event)
        moment = at or utc_now()
        if event is Event.START:
            self.started_at = moment
        elif self.started_at is not None:
            self.ended_at = moment
        if summary is not None:
            self.summary = summary

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "seconds": self.seconds,
            "summary": self.summary,
            "log": self.log,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(
            name=data["name"],
            status=StepStatus(data["status"]),
            started_at=_parse(data.get("started_at")),
            ended_at=_parse(data.get("ended_at")),
            summary=data.get("summary") or "",
            log=data.get("log") or "",
        )


@dataclass
class RunRecord:
    """One pipeline run; ``id`` is 0 until a store numbers it (1, 2, 3, ... per workspace)."""

    service: str
    env: str
    model: int
    trigger: Trigger
    source: str  # the working tree (manual runs) or the repository the commit came from
    commit: str | None = None
    ref: str | None = None
    id: int = 0
    status: RunStatus = RunStatus.PENDING
    created_at: datetime = field(default_factory=utc_now)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    steps: list[StepRecord] = field(default_factory=list)
    image_reference: str | None = None  # repository:tag@digest, as deployed
    image_digest: str | None = None
    image_tags: list[str] = field(default_factory=list)
    release_revision: int | None = None
    error: str | None = None  # why the run failed: "<step>: <reason>"
    runner: str | None = None  # "<host>:<pid>" of the process that owns the run

    def apply(self, event: Event, *, at: datetime | None = None) -> None:
        self.status = run_transition(self.status, event)
        moment = at or utc_now()
        if event is Event.START:
            self.started_at = moment
        else:
            self.ended_at = moment

    def step(self, name: str) -> StepRecord:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def failed_step(self) -> StepRecord | None:
        for step in self.steps:
            if step.status in (StepStatus.FAILED, StepStatus.CANCELLED):
                return step
        return None

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None

    def to_dict(self, *, logs: bool = True) -> dict[str, Any]:
        steps = [step.to_dict() for step in self.steps]
        if not logs:
            for step in steps:
                step.pop("log")
        return {
            "id": self.id,
            "service": self.service,
            "env": self.env,
            "model": self.model,
            "trigger": self.trigger.value,
            "source": self.source,
            "commit": self.commit,
            "ref": self.ref,
            "status": self.status.value,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "seconds": self.seconds,
            "image_reference": self.image_reference,
            "image_digest": self.image_digest,
            "image_tags": list(self.image_tags),
            "release_revision": self.release_revision,
            "error": self.error,
            "runner": self.runner,
            "steps": steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        return cls(
            id=int(data["id"]),
            service=data["service"],
            env=data["env"],
            model=int(data["model"]),
            trigger=Trigger(data["trigger"]),
            source=data["source"],
            commit=data.get("commit"),
            ref=data.get("ref"),
            status=RunStatus(data["status"]),
            created_at=_parse(data["created_at"]) or utc_now(),
            started_at=_parse(data.get("started_at")),
            ended_at=_parse(data.get("ended_at")),
            steps=[StepRecord.from_dict(step) for step in data.get("steps", [])],
            image_reference=data.get("image_reference"),
            image_digest=data.get("image_digest"),
            image_tags=list(data.get("image_tags") or []),
            release_revision=data.get("release_revision"),
            error=data.get("error"),
            runner=data.get("runner"),
        )
