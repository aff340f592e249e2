"""What a rollout looks like from outside: cluster observations -> the guide's steps.

Theory of operation: while Helm waits, an adapter (``namespace_watch``) lists the
namespace's ReplicaSets, Pods, Events and Endpoints and feeds every new or changed
object to :func:`advance` as an :class:`Observation`. ``advance`` is pure: it takes
the tracker state and one observation and returns the new state and the
:class:`StepEvent`s that observation reveals, each at most once per subject:

    replicaset   new ReplicaSet NAME (pod-template-hash H)
    pod          pod NAME created (Pending)
    scheduled    pod NAME -> node N            (Scheduled event or spec.nodeName)
    pulling      Pulling image "I"
    cached       image already present on the node
    pulled       image pulled (size, time)     (the kubelet's Pulled message)
    started      container started (once per pod: the first container)
    probe        a probe failed (Unhealthy)    -- may repeat, the detail changes
    ready        pod Ready
    endpoints    pod IP added to the Service's endpoints
    terminating  an old pod is being deleted
    failed       a reason the rollout cannot progress (ImagePullBackOff, CrashLoopBackOff,
                 FailedScheduling, ErrImagePull...)

Objects that existed before the deploy (``baseline``) are "old": their pods only
produce ``terminating``; events recorded before the deploy are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "FAILURE_REASONS",
    "Observation",
    "StepEvent",
    "TrackerState",
    "advance",
    "initial_state",
]

# Container waiting reasons that mean "this pod will not become Ready by itself".
FAILURE_REASONS = frozenset({
    "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
    "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
})
_PULLED = re.compile(
    r'Successfully pulled image "(?P<image>[^"]+)" in (?P<time>\S+)'
    r"(?: \((?P<total>\S+) including waiting\))?\.?(?: Image size: (?P<size>\d+) bytes\.)?"
)
_ASSIGNED = re.compile(r"Successfully assigned (?P<ref>\S+) to (?P<node>\S+)")


@dataclass(frozen=True)
class Observation:
    """One object as listed or watched (``kind`` is ReplicaSet, Pod, Event or Endpoints)."""

    kind: str
    obj: dict[str, Any]
    deleted: bool = False


@dataclass(frozen=True)
class StepEvent:
    """One step of the guide's rollout picture (also a JSON-lines record)."""

    step: str
    subject: str  # "pod/NAME", "replicaset/NAME", "service/NAME"
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"step": self.step, "subject": self.subject, "detail": self.detail, **self.data}


@dataclass(frozen=True)
class TrackerState:
    """What has been seen: old objects, new ReplicaSets/pods, steps already reported."""

    baseline_replicasets: frozenset[str] = frozenset()
    baseline_pods: frozenset[str] = frozenset()
    baseline_events: frozenset[str] = frozenset()
    deployments: frozenset[str] = frozenset()  # the release's Deployments ("" = any)
    new_replicasets: frozenset[str] = frozenset()
    new_pods: frozenset[str] = frozenset()
    reported: frozenset[tuple[str, str, str]] = frozenset()  # (step, subject, key)


def initial_state(
    *,
    replicasets: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    events: list[dict[str, Any]],
    deployments: list[str],
) -> TrackerState:
    """The state before the deploy: everything listed now is old."""
    return TrackerState(
        baseline_replicasets=frozenset(_name(o) for o in replicasets),
        baseline_pods=frozenset(_name(o) for o in pods),
        baseline_events=frozenset(_event_key(o) for o in events),
        deployments=frozenset(deployments),
    )


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _event_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('name')}@{obj.get('count') or 1}"


def _owner(obj: dict[str, Any], kind: str) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return str(ref.get("name"))
    return None


def _emit(
    state: TrackerState, out: list[StepEvent], event: StepEvent, key: str = ""
) -> TrackerState:
    mark = (event.step, event.subject, key)
    if mark in state.reported:
        return state
    out.append(event)
    return replace(state, reported=state.reported | {mark})


def advance(state: TrackerState, obs: Observation) -> tuple[TrackerState, list[StepEvent]]:
    """Fold one observation into the state; return the steps it reveals."""
    handler = _HANDLERS.get(obs.kind)
    if handler is None:
        return state, []
    out: list[StepEvent] = []
    state = handler(state, obs, out)
    return state, out


def _replicaset(state: TrackerState, obs: Observation, out: list[StepEvent]) -> TrackerState:
    name = _name(obs.obj)
    if obs.deleted or name in state.baseline_replicasets:
        return state
    deployment = _owner(obs.obj, "Deployment")
    if state.deployments and deployment not in state.deployments:
        return state
    labels = (obs.obj.get("metadata") or {}).get("labels") or {}
    template_hash = labels.get("pod-template-hash", "")
    state = replace(state, new_replicasets=state.new_replicasets | {name})
    detail = f"new ReplicaSet {name}"
    if template_hash:
        detail += f" (pod-template-hash {template_hash})"
    return _emit(state, out, StepEvent(
        "replicaset", f"replicaset/{name}", detail,
        {"deployment": deployment, "hash": template_hash},
    ))


def _pod(state: TrackerState, obs: Observation, out: list[StepEvent]) -> TrackerState:
    pod = obs.obj
    name = _name(pod)
    subject = f"pod/{name}"
    meta = pod.get("metadata") or {}
    if name in state.baseline_pods:
        if obs.deleted:
            return _emit(state, out, StepEvent("terminated", subject, "old pod gone"))
        if meta.get("deletionTimestamp"):
            return _emit(state, out, StepEvent("terminating", subject, "old pod terminating"))
        return state
    if name not in state.new_pods:
        if _owner(pod, "ReplicaSet") not in state.new_replicasets:
            return state
        state = replace(state, new_pods=state.new_pods | {name})
    if obs.deleted:
        return state
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    state = _emit(state, out, StepEvent("pod", subject, "Pending", {"phase": "Pending"}))
    node = spec.get("nodeName")
    if node:
        state = _emit(state, out, StepEvent("scheduled", subject, f"scheduled on {node}",
                                            {"node": node}))
    for container in status.get("containerStatuses") or []:
        cstate = container.get("state") or {}
        waiting = cstate.get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FAILURE_REASONS:
            state = _emit(state, out, StepEvent(
                "failed", subject, f"{reason}: {waiting.get('message') or ''}".rstrip(": "),
                {"reason": reason, "container": container.get("name")},
            ), key=str(reason))
        if cstate.get("running"):
            state = _emit(state, out, StepEvent("started", subject,
                                                f"container {container.get('name')} started"))
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            ip = status.get("podIP") or ""
            state = _emit(state, out, StepEvent("ready", subject, "Ready", {"ip": ip}))
    if meta.get("deletionTimestamp"):
        state = _emit(state, out, StepEvent("terminating", subject, "pod terminating"))
    return state


def _event(state: TrackerState, obs: Observation, out: list[StepEvent]) -> TrackerState:
    event = obs.obj
    if obs.deleted or _event_key(event) in state.baseline_events:
        return state
    involved = event.get("involvedObject") or {}
    if involved.get("kind") != "Pod":
        return state
    pod = str(involved.get("name") or "")
    if pod in state.baseline_pods:
        if event.get("reason") == "Killing":  # the kubelet stops an old pod's containers
            return _emit(state, out, StepEvent("terminating", f"pod/{pod}",
                                               "old pod terminating"))
        return state
    # Events can arrive before the pod is listed: accept pods of a new ReplicaSet by name prefix.
    of_new_replicaset = any(pod.startswith(rs + "-") for rs in state.new_replicasets)
    if pod not in state.new_pods and not of_new_replicaset:
        return state
    subject = f"pod/{pod}"
    state = _emit(state, out, StepEvent("pod", subject, "Pending", {"phase": "Pending"}))
    reason = str(event.get("reason") or "")
    message = str(event.get("message") or "")
    if reason == "Scheduled":
        match = _ASSIGNED.search(message)
        node = match.group("node") if match else ""
        return _emit(state, out, StepEvent("scheduled", subject, f"scheduled on {node}",
                                           {"node": node}))
    if reason == "FailedScheduling":
        return _emit(state, out, StepEvent("failed", subject, f"FailedScheduling: {message}",
                                           {"reason": "FailedScheduling"}), key=message)
    if reason == "Pulling":
        return _emit(state, out, StepEvent("pulling", subject, message))
    if reason == "Pulled":
        match = _PULLED.search(message)
        if match is None:  # "Container image ... already present on machine"
            return _emit(state, out, StepEvent("cached", subject, message))
        data: dict[str, Any] = {"image": match.group("image"), "time": match.group("time")}
        detail = f"pulled {match.group('image')} in {match.group('time')}"
        if match.group("size"):
            data["size_bytes"] = int(match.group("size"))
            detail += f" ({_human_size(int(match.group('size')))})"
        return _emit(state, out, StepEvent("pulled", subject, detail, data))
    if reason == "Started":
        return _emit(state, out, StepEvent("started", subject, message or "container started"))
    if reason == "Unhealthy":
        return _emit(state, out, StepEvent("probe", subject, message, {"reason": "Unhealthy"}),
                     key=message)
    if reason == "Failed" and message.startswith("Failed to pull image"):
        return _emit(state, out, StepEvent("failed", subject, message,
                                           {"reason": "ErrImagePull"}), key=message)
    if reason == "BackOff" and "restarting failed container" in message:
        return _emit(state, out, StepEvent("failed", subject, message,
                                           {"reason": "CrashLoopBackOff"}), key="crashloop")
    return state


def _endpoints(state: TrackerState, obs: Observation, out: list[StepEvent]) -> TrackerState:
    if obs.deleted:
        return state
    service = _name(obs.obj)
    for subset in obs.obj.get("subsets") or []:
        for address in subset.get("addresses") or []:
            ref = address.get("targetRef") or {}
            pod = str(ref.get("name") or "")
            if ref.get("kind") == "Pod" and pod in state.new_pods:
                state = _emit(state, out, StepEvent(
                    "endpoints", f"pod/{pod}", f"{address.get('ip')} added to service {service}",
                    {"service": service, "ip": address.get("ip")},
                ))
    return state


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - loop always returns


_HANDLERS = {
    "ReplicaSet": _replicaset,
    "Pod": _pod,
    "Event": _event,
    "Endpoints": _endpoints,
}
