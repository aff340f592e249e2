"""Pod phase and conditions from container statuses (k8s pkg/kubelet/kubelet_pods.go getPhase,
pkg/kubelet/status/generate.go). Input and output are v1 PodStatus fragments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions.clock import format_time

__all__ = ["pod_conditions", "pod_phase", "update_conditions"]

Obj = Mapping[str, Any]


def _by_name(statuses: Sequence[Obj] | None) -> dict[str, Obj]:
    return {s["name"]: s for s in statuses or []}


def _restartable(container: Obj) -> bool:
    return container.get("restartPolicy") == "Always"


def pod_phase(
    spec: Obj, init_statuses: Sequence[Obj] | None, statuses: Sequence[Obj] | None
) -> str:
    """getPhase: Pending while initialising or any container waits without a previous run."""
    inits = _by_name(init_statuses)
    pending_init = failed_init = 0
    for container in spec.get("initContainers") or []:
        status = inits.get(container["name"])
        if _restartable(container):
            if not status or not status.get("started"):
                pending_init += 1
            continue
        state = (status or {}).get("state") or {}
        last = ((status or {}).get("lastState") or {}).get("terminated")
        if not status or "running" in state:
            pending_init += 1
        elif "terminated" in state:
            if state["terminated"].get("exitCode") != 0:
                failed_init += 1
        elif "waiting" in state:
            if last is not None:
                if last.get("exitCode") != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1
    main = _by_name(statuses)
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.get("containers") or []:
        status = main.get(container["name"])
        if status is None:
            unknown += 1
            continue
        state = status.get("state") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in state:
            if (status.get("lastState") or {}).get("terminated") is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    policy = spec.get("restartPolicy") or "Always"
    if failed_init > 0 and policy == "Never":
        return "Failed"
    if pending_init > 0 or waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"  # Go's %s of a []string


def pod_conditions(
    spec: Obj,
    phase: str,
    init_statuses: Sequence[Obj] | None,
    statuses: Sequence[Obj] | None,
    *,
    sandbox_ready: bool = True,
    existing_conditions: Sequence[Obj] = (),
) -> list[dict]:
    """PodReadyToStartContainers, Initialized, ContainersReady and Ready (status/generate.go),
    with readinessGates looked up in ``existing_conditions``. No timestamps (see
    update_conditions)."""
    out = [{"type": "PodReadyToStartContainers", "status": "True" if sandbox_ready else "False"}]
    inits = _by_name(init_statuses)
    incomplete, unknown_init = [], []
    for container in spec.get("initContainers") or []:
        status = inits.get(container["name"])
        if status is None:
            unknown_init.append(container["name"])
            continue
        state = status.get("state") or {}
        if _restartable(container):
            if not status.get("started"):
                incomplete.append(container["name"])
        elif not ("terminated" in state and state["terminated"].get("exitCode") == 0):
            incomplete.append(container["name"])
    if phase == "Succeeded" and not unknown_init:
        out.append({"type": "Initialized", "status": "True", "reason": "PodCompleted"})
    elif unknown_init or incomplete:
        parts = []
        if unknown_init:
            parts.append(f"containers with unknown status: {_names(unknown_init)}")
        if incomplete:
            parts.append(f"containers with incomplete status: {_names(incomplete)}")
        out.append(
            {
                "type": "Initialized",
                "status": "False",
                "reason": "ContainersNotInitialized",
                "message": ", ".join(parts),
            }
        )
    else:
        out.append({"type": "Initialized", "status": "True"})
    main = _by_name(statuses)
    unknown, unready = [], []
    for container in [c for c in spec.get("initContainers") or [] if _restartable(c)]:
        status = inits.get(container["name"])
        if status is None:
            unknown.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    for container in spec.get("containers") or []:
        status = main.get(container["name"])
        if status is None:
            unknown.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    if phase in ("Succeeded", "Failed") and (phase == "Failed" or not unknown):
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        containers_ready = {"type": "ContainersReady", "status": "False", "reason": reason}
        ready = {"type": "Ready", "status": "False", "reason": reason}
    else:
        parts = []
        if unknown:
            parts.append(f"containers with unknown status: {_names(unknown)}")
        if unready:
            parts.append(f"containers with unready status: {_names(unready)}")
        if parts:
            containers_ready = {
                "type": "ContainersReady",
                "status": "False",
                "reason": "ContainersNotReady",
                "message": ", ".join(parts),
            }
        else:
            containers_ready = {"type": "ContainersReady", "status": "True"}
        ready = dict(containers_ready, type="Ready")
        gates = [g.get("conditionType") for g in spec.get("readinessGates") or []]
        existing = {c.get("type"): c for c in existing_conditions}
        gate_msgs = []
        for gate in gates:
            cond = existing.get(gate)
            if cond is None:
                gate_msgs.append(
                    f'corresponding condition of pod readiness gate "{gate}" does not exist.'
                )
            elif cond.get("status") != "True":
                gate_msgs.append(
                    f'the status of pod readiness gate "{gate}" is not "True", but {cond.get("status")}'
                )
        if gate_msgs:
            if ready["status"] == "True":
                ready = {
                    "type": "Ready",
                    "status": "False",
                    "reason": "ReadinessGatesNotReady",
                    "message": ", ".join(gate_msgs),
                }
            else:
                ready["message"] = ", ".join([*parts, *gate_msgs])
    out.extend([containers_ready, ready])
    return out


def update_conditions(previous: Sequence[Obj], fresh: Sequence[Obj], now: datetime) -> list[dict]:
    """Merge ``fresh`` into ``previous``: lastTransitionTime only moves when the status changes
    (status_manager.updateLastTransitionTime); conditions owned by others are kept."""
    old = {c.get("type"): c for c in previous}
    merged: dict[str, dict] = {c.get("type"): dict(c) for c in previous}
    for cond in fresh:
        cond = dict(cond)
        before = old.get(cond["type"])
        if (
            before is not None
            and before.get("status") == cond["status"]
            and before.get("lastTransitionTime")
        ):
            cond["lastTransitionTime"] = before["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = format_time(now)
        cond.setdefault("lastProbeTime", None)
        merged[cond["type"]] = cond
    return list(merged.values())
