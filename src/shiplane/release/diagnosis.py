"""Why a rollout is not progressing, from pods and events (pure).

``diagnose`` looks at the pods of the new ReplicaSets and the Warning events about
them and keeps, per pod, the reasons a human needs: container waiting reasons
(``ImagePullBackOff``/``ErrImagePull`` with the registry's answer, e.g. a 403),
readiness failures (``Unhealthy`` events, ``Ready=False``), ``FailedScheduling``
with the scheduler's message, crash loops with the last termination.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shiplane.release.progress import FAILURE_REASONS

__all__ = ["Diagnosis", "PodProblem", "diagnose"]

_WARNING_REASONS = ("Failed", "FailedScheduling", "Unhealthy", "BackOff", "InspectFailed")


@dataclass(frozen=True)
class PodProblem:
    pod: str
    reasons: tuple[str, ...]  # short reasons: ImagePullBackOff, Unhealthy, FailedScheduling...
    messages: tuple[str, ...]  # the kubelet's/scheduler's words, oldest first, deduplicated


@dataclass(frozen=True)
class Diagnosis:
    problems: tuple[PodProblem, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        if not self.problems:
            return "no failing pod found (the wait timed out)"
        lines = []
        for problem in self.problems:
            lines.append(f"pod {problem.pod}: {', '.join(problem.reasons)}")
            lines.extend(f"  {message}" for message in problem.messages)
        return "\n".join(lines)

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"pod": p.pod, "reasons": list(p.reasons), "messages": list(p.messages)}
            for p in self.problems
        ]


def _add(items: list[str], value: str) -> None:
    if value and value not in items:
        items.append(value)


def diagnose(pods: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> Diagnosis:
    """The failing pods among ``pods`` (the new ones) and what their events say."""
    by_pod: dict[str, tuple[list[str], list[str]]] = {}
    names: list[str] = []
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name") or "")
        names.append(name)
        reasons, messages = by_pod.setdefault(name, ([], []))
        status = pod.get("status") or {}
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in FAILURE_REASONS:
                _add(reasons, str(waiting["reason"]))
                _add(messages, str(waiting.get("message") or ""))
            terminated = (container.get("lastState") or {}).get("terminated") or {}
            if terminated and waiting.get("reason") == "CrashLoopBackOff":
                _add(messages, f"last exit code {terminated.get('exitCode')} "
                               f"({terminated.get('reason') or 'Error'})")
        for condition in status.get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                _add(reasons, "FailedScheduling")
                _add(messages, str(condition.get("message") or ""))
    ordered = sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    for event in ordered:
        involved = event.get("involvedObject") or {}
        pod = str(involved.get("name") or "")
        if involved.get("kind") != "Pod" or pod not in by_pod:
            continue
        if event.get("type") != "Warning" or event.get("reason") not in _WARNING_REASONS:
            continue
        reasons, messages = by_pod[pod]
        reason = str(event.get("reason"))
        message = str(event.get("message") or "")
        if reason == "Unhealthy":
            _add(reasons, "Unhealthy")
        elif reason == "FailedScheduling":
            _add(reasons, "FailedScheduling")
        if message.startswith("Error: "):
            _add(reasons, message.removeprefix("Error: "))
            continue
        _add(messages, message)
    problems = tuple(
        PodProblem(name, tuple(by_pod[name][0]), tuple(by_pod[name][1]))
        for name in dict.fromkeys(names)
        if by_pod[name][0]
    )
    return Diagnosis(problems)
