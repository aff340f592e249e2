"""Probe workers (k8s pkg/kubelet/prober/worker.go doProbe, prober_manager.go UpdatePodStatus).

Theory of operation: the kubelet keeps one worker per (container, probe kind) and calls
:func:`probe_step` every ``periodSeconds``. A worker reports a result only after
``successThreshold`` / ``failureThreshold`` equal results in a row; until the startup probe has
succeeded the readiness and liveness workers do nothing; nothing is probed during
``initialDelaySeconds``. Results start as Failure (readiness), Success (liveness) and Unknown
(startup). A failed liveness/startup result asks for a restart and puts the worker on hold until
a new container (id) appears. :func:`container_started_and_ready` turns the results into the
container status' ``started`` / ``ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from shiplane.cluster.decisions.events import Event

__all__ = [
    "ProbeSpec",
    "ProbeStep",
    "ProbeWorker",
    "container_started_and_ready",
    "new_worker",
    "probe_step",
]

SUCCESS, FAILURE, UNKNOWN = "Success", "Failure", "Unknown"
_INITIAL = {"readiness": FAILURE, "liveness": SUCCESS, "startup": UNKNOWN}
_LABEL = {"readiness": "Readiness", "liveness": "Liveness", "startup": "Startup"}


@dataclass(frozen=True)
class ProbeSpec:
    """A v1.Probe's timing with API defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe)."""

    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def from_probe(cls, probe: Mapping[str, Any]) -> "ProbeSpec":
        return cls(
            int(probe.get("initialDelaySeconds") or 0),
            int(probe.get("periodSeconds") or 10),
            int(probe.get("timeoutSeconds") or 1),
            int(probe.get("successThreshold") or 1),
            int(probe.get("failureThreshold") or 3),
        )


@dataclass(frozen=True)
class ProbeWorker:
    kind: str  # readiness | liveness | startup
    spec: ProbeSpec
    result: str  # what the results manager holds for the container
    container_id: str = ""
    last_result: str | None = None
    result_run: int = 0
    on_hold: bool = False


def new_worker(kind: str, probe: Mapping[str, Any]) -> ProbeWorker:
    if kind not in _INITIAL:
        raise ValueError(f"unknown probe kind {kind!r}")
    return ProbeWorker(kind, ProbeSpec.from_probe(probe), _INITIAL[kind])


@dataclass(frozen=True)
class ProbeStep:
    worker: ProbeWorker
    probed: bool = False
    restart: bool = False  # liveness/startup failure reached its threshold
    events: tuple[Event, ...] = ()


def probe_step(
    worker: ProbeWorker,
    *,
    container_name: str,
    container_id: str,
    running: bool,
    seconds_since_start: float,
    started: bool,
    deleting: bool = False,
    run_probe: Callable[[], tuple[bool, str]],
) -> ProbeStep:
    """One doProbe tick. ``run_probe`` returns (ok, output) and is only called when probing."""
    if container_id != worker.container_id:
        # a new container: results reset to the initial value and probing resumes
        worker = replace(
            worker, container_id=container_id, result=_INITIAL[worker.kind], on_hold=False
        )
    if worker.on_hold:
        return ProbeStep(worker)
    if not running:
        return ProbeStep(replace(worker, result=FAILURE) if container_id else worker)
    if deleting and worker.kind in ("liveness", "startup"):
        return ProbeStep(replace(worker, result=SUCCESS))
    if int(seconds_since_start) < worker.spec.initial_delay_seconds:
        return ProbeStep(worker)
    if started and worker.kind == "startup":
        return ProbeStep(worker)
    if not started and worker.kind != "startup":
        return ProbeStep(worker)
    ok, output = run_probe()
    result = SUCCESS if ok else FAILURE
    events: tuple[Event, ...] = ()
    if not ok:
        events = (Event("Warning", "Unhealthy", f"{_LABEL[worker.kind]} probe failed: {output}"),)
    run = worker.result_run + 1 if worker.last_result == result else 1
    worker = replace(worker, last_result=result, result_run=run)
    threshold = (
        worker.spec.failure_threshold if result == FAILURE else worker.spec.success_threshold
    )
    if run < threshold:
        return ProbeStep(worker, True, False, events)
    worker = replace(worker, result=result)
    if worker.kind in ("liveness", "startup") and result == FAILURE:
        events += (
            Event(
                "Normal",
                "Killing",
                f"Container {container_name} failed {worker.kind} probe, will be restarted",
            ),
        )
        return ProbeStep(replace(worker, on_hold=True, result_run=0), True, True, events)
    return ProbeStep(worker, True, False, events)


def container_started_and_ready(
    running: bool, startup: ProbeWorker | None, readiness: ProbeWorker | None
) -> tuple[bool, bool]:
    """prober_manager UpdatePodStatus: started needs the startup probe's Success (if any);
    ready needs started and the readiness probe's Success (if any)."""
    if not running:
        return False, False
    started = startup is None or startup.result == SUCCESS
    if not started:
        return False, False
    return True, readiness is None or readiness.result == SUCCESS
