"""The HPA replica calculator (k8s pkg/controller/podautoscaler/replica_calculator.go
GetResourceReplicas, GetRawResourceReplicas, groupPods; metrics/utilization.go).

For one Resource metric: ``ceil(usageRatio × readyPods)``, unchanged within tolerance 0.1.
Pending pods and (for cpu) pods that are unready or still inside their initialisation period
are left out first; if that leaves a scale-up, they count as idle. Pods with no metrics count as
idle on a scale-up and as using their full request on a scale-down. A result that would flip the
scale direction is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shiplane.cluster.decisions.clock import parse_time
from shiplane.cluster.decisions.pod_resources import pod_requests
from shiplane.cluster.decisions.pods import get_condition
from shiplane.cluster.decisions.quantity import milli_value
from shiplane.cluster.decisions.quantity import value as quantity_value

__all__ = [
    "MetricSample",
    "NoMetrics",
    "TOLERANCE",
    "Tolerance",
    "average_value_replicas",
    "resource_replicas",
]

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
# one tolerance both ways, or (scale-down, scale-up) from behavior.scaleDown/scaleUp.tolerance
Tolerance = float | tuple[float, float]
CPU_INITIALIZATION_PERIOD = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
INITIAL_READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
Obj = Mapping[str, Any]


class NoMetrics(Exception):
    """The calculator cannot produce a proposal (no pods / no usable metrics)."""


@dataclass(frozen=True)
class MetricSample:
    """One pod's usage: millicores for cpu, bytes for memory (metrics.k8s.io PodMetrics)."""

    value: int
    timestamp: datetime
    window: float = 15.0


def _group_pods(
    pods: Sequence[Obj], metrics: Mapping[str, MetricSample], resource: str, now: datetime
):
    ready_count, unready, missing, ignored = 0, set(), set(), set()
    for pod in pods:
        name = pod["metadata"]["name"]
        phase = (pod.get("status") or {}).get("phase")
        if (pod.get("metadata") or {}).get("deletionTimestamp") or phase == "Failed":
            ignored.add(name)
            continue
        if phase == "Pending":
            unready.add(name)
            continue
        sample = metrics.get(name)
        if sample is None:
            missing.add(name)
            continue
        if resource == "cpu":
            cond = get_condition(pod, "Ready")
            start = parse_time((pod.get("status") or {}).get("startTime"))
            if cond is None or start is None:
                is_unready = True
            else:
                changed = parse_time(cond.get("lastTransitionTime")) or start
                if start + timedelta(seconds=CPU_INITIALIZATION_PERIOD) > now:
                    is_unready = cond.get(
                        "status"
                    ) == "False" or sample.timestamp < changed + timedelta(seconds=sample.window)
                else:
                    is_unready = (
                        cond.get("status") == "False"
                        and start + timedelta(seconds=INITIAL_READINESS_DELAY) > changed
                    )
            if is_unready:
                unready.add(name)
                continue
        ready_count += 1
    return ready_count, unready, missing, ignored


def _requests(pods: Sequence[Obj], resource: str, container: str) -> dict[str, int]:
    """calculateRequests: the pod's request (all containers, sidecars, overhead), or only
    ``container``'s; a container without a request for ``resource`` is an error."""
    requests: dict[str, int] = {}
    for pod in pods:
        name = pod["metadata"]["name"]
        if not container:
            amount = pod_requests(pod).get(resource)
            if not amount:
                raise NoMetrics(f"missing request for {resource} in container(s) of pod {name}")
            requests[name] = amount
            continue
        total = 0
        for spec in (pod.get("spec") or {}).get("containers") or []:
            if spec.get("name") != container:
                continue
            raw = ((spec.get("resources") or {}).get("requests") or {}).get(resource)
            if raw is None:
                raise NoMetrics(
                    f"missing request for {resource} in container {container} of Pod {name}")
            total += milli_value(raw) if resource == "cpu" else quantity_value(raw)
        requests[name] = total
    return requests


def _within(ratio: float, tolerance: Tolerance) -> bool:
    """tolerances.isWithin: no change while 1 - scaleDown <= ratio <= 1 + scaleUp."""
    down, up = tolerance if isinstance(tolerance, tuple) else (tolerance, tolerance)
    return 1.0 - down <= ratio <= 1.0 + up


def _utilization_ratio(
    metrics: Mapping[str, int], requests: Mapping[str, int], target: int
) -> tuple[float, int]:
    total_metric = total_request = 0
    for name, value in metrics.items():
        if name not in requests:
            continue
        total_metric += value
        total_request += requests[name]
    if total_request == 0:
        raise NoMetrics("no metrics returned matched known pods")
    utilization = total_metric * 100 // total_request
    return utilization / target, utilization


def resource_replicas(
    current: int,
    pods: Sequence[Obj],
    metrics: Mapping[str, MetricSample],
    resource: str,
    target_utilization: int,
    now: datetime,
    tolerance: Tolerance = TOLERANCE,
    container: str = "",
) -> tuple[int, int]:
    """GetResourceReplicas: (proposed replicas, current utilization %); with ``container``
    (ContainerResource metrics) ``metrics`` are that container's usage and only its request
    counts."""
    if not pods:
        raise NoMetrics("no pods returned by selector while calculating replica count")
    ready_count, unready, missing, ignored = _group_pods(pods, metrics, resource, now)
    usable = {n: s.value for n, s in metrics.items() if n not in unready and n not in ignored}
    usable = {n: v for n, v in usable.items() if n in {p["metadata"]["name"] for p in pods}}
    if not usable:
        raise NoMetrics("did not receive metrics for targeted pods (pods might be unready)")
    requests = _requests(pods, resource, container)
    ratio, utilization = _utilization_ratio(usable, requests, target_utilization)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if _within(ratio, tolerance):
            return current, utilization
        return math.ceil(ratio * ready_count), utilization
    if missing:
        if ratio < 1.0:  # scale-down: missing pods count as using their request (or the target)
            fallback = max(100, target_utilization)
            for name in missing:
                usable[name] = requests[name] * fallback // 100
        elif ratio > 1.0:  # scale-up: missing pods count as idle
            for name in missing:
                usable[name] = 0
    if scale_up_with_unready:
        for name in unready:
            usable[name] = 0
    new_ratio, _ = _utilization_ratio(usable, requests, target_utilization)
    if _within(new_ratio, tolerance) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current, utilization
    proposed = math.ceil(new_ratio * len(usable))
    if (new_ratio < 1.0 and proposed > current) or (new_ratio > 1.0 and proposed < current):
        return current, utilization
    return proposed, utilization


def average_value_replicas(current: int, pods, samples, name, target, now,
                           tolerance: Tolerance = TOLERANCE) -> int:
    """GetRawResourceReplicas: usage ratio from the average absolute usage."""
    raw = target["averageValue"]
    wanted = milli_value(raw) if name == "cpu" else quantity_value(raw)
    ready_count, unready, missing, ignored = _group_pods(pods, samples, name, now)
    usable = [s.value for n, s in samples.items() if n not in unready and n not in ignored]
    if not usable:
        raise NoMetrics("did not receive metrics for targeted pods (pods might be unready)")
    ratio = (sum(usable) // len(usable)) / wanted
    if _within(ratio, tolerance):
        return current
    return math.ceil(ratio * ready_count)
