"""How the kubelet stops a container (k8s pkg/kubelet/kuberuntime/kuberuntime_container.go
killContainer, executePreStopHook, setTerminationGracePeriod).

Timeline, in seconds after the kill starts: event Killing "Stopping container NAME"; the preStop
hook (if any and the grace period is > 0) runs for at most the grace period; what it used is
taken off the grace period, which is never less than 2 s (minimumGracePeriodInSeconds: the
one-time extension when preStop overruns); then SIGTERM, and SIGKILL when that remainder ends.
The grace period is the pod's deletionGracePeriodSeconds when it is being deleted, else
spec.terminationGracePeriodSeconds (default 30); a failed liveness/startup probe may carry its
own terminationGracePeriodSeconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions.events import Event

__all__ = ["MINIMUM_GRACE_SECONDS", "TerminationPlan", "grace_period", "plan_termination"]

MINIMUM_GRACE_SECONDS = 2
DEFAULT_GRACE_SECONDS = 30
Obj = Mapping[str, Any]


def grace_period(pod: Obj, probe: Obj | None = None) -> int:
    """setTerminationGracePeriod: deletion grace, else the probe's override, else the pod's."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        return int(meta["deletionGracePeriodSeconds"])
    if probe is not None and probe.get("terminationGracePeriodSeconds") is not None:
        return int(probe["terminationGracePeriodSeconds"])
    value = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_SECONDS if value is None else int(value)


@dataclass(frozen=True)
class TerminationPlan:
    events: tuple[Event, ...]
    prestop_until: float  # 0 when no hook ran
    sigterm_at: float
    sigkill_at: float
    exit_at: float  # when the process is gone
    exit_code: int  # 137 when SIGKILLed, else what the process returned on SIGTERM


def plan_termination(
    container: Obj,
    grace_seconds: int,
    *,
    prestop_seconds: float = 0.0,
    exits_after_sigterm: float | None = 0.0,
    exit_code_on_sigterm: int = 143,
    message: str = "",
) -> TerminationPlan:
    """The stop sequence for one container. ``prestop_seconds`` is how long its preStop hook
    would take; ``exits_after_sigterm`` how long the process takes to exit on SIGTERM (None:
    it ignores SIGTERM)."""
    name = container.get("name", "")
    event = Event("Normal", "Killing", message or f"Stopping container {name}")
    remaining = float(grace_seconds)
    prestop_until = 0.0
    has_prestop = bool((container.get("lifecycle") or {}).get("preStop"))
    if has_prestop and grace_seconds > 0:
        # the hook gets at most the grace period; upstream subtracts whole seconds used
        prestop_until = min(prestop_seconds, float(grace_seconds))
        remaining = grace_seconds - int(prestop_until)
    remaining = max(remaining, MINIMUM_GRACE_SECONDS)
    sigterm_at = prestop_until
    sigkill_at = sigterm_at + remaining
    if exits_after_sigterm is not None and exits_after_sigterm < remaining:
        return TerminationPlan((event,), prestop_until, sigterm_at, sigkill_at,
                               sigterm_at + exits_after_sigterm, exit_code_on_sigterm)  # fmt: skip
    return TerminationPlan((event,), prestop_until, sigterm_at, sigkill_at, sigkill_at, 137)
