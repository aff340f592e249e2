"""HorizontalPodAutoscaler (autoscaling/v2) decisions (k8s pkg/controller/podautoscaler/
replica_calculator.go GetResourceReplicas / groupPods, horizontal.go reconcileAutoscaler,
stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate).

Theory of operation: :func:`plan_hpa` is one reconcile. Per metric (:mod:`.hpa_metrics`: one
outcome per metric type; Pods/Object/External fail without a metrics adapter) the replica
calculator computes ``ceil(usageRatio × readyPods)`` (no change within the tolerance, 0.1 or
behavior's per direction); pods still starting, unready or without metrics are first left out
and then counted pessimistically, and the result is dropped if that would flip the scale
direction. The largest metric proposal wins; a failed metric forbids scaling down. Then the
stabilisation window (scale-down: the highest recommendation of the last 300 s; scale-up: the
lowest of the scale-up window, 0 s by default) and the rate policies (defaults: up by max(4 pods,
100%) per 15 s, down by 100% per 15 s) limit the result, clamped to min/max replicas. The
controller's memory (recent recommendations and scale events) is the immutable
:class:`AutoscalerMemory` threaded through calls.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.hpa_metrics import combine_outcomes, metric_outcome, tolerances
from shiplane.cluster.decisions.hpa_replicas import (
    TOLERANCE,
    MetricSample,
    NoMetrics,
    resource_replicas,
)

__all__ = [
    "AutoscalerMemory",
    "HPADecision",
    "MetricSample",
    "NoMetrics",
    "TOLERANCE",
    "default_behavior",
    "plan_hpa",
    "resource_replicas",
]

DOWNSCALE_STABILIZATION = 300  # --horizontal-pod-autoscaler-downscale-stabilization
Obj = Mapping[str, Any]


def default_behavior(behavior: Obj | None) -> dict:
    """apis/autoscaling/v2/defaults.go: fill in scaleUp/scaleDown rules."""
    behavior = dict(behavior or {})
    up = dict(behavior.get("scaleUp") or {})
    up.setdefault("stabilizationWindowSeconds", 0)
    up.setdefault("selectPolicy", "Max")
    up.setdefault(
        "policies",
        [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    )
    down = dict(behavior.get("scaleDown") or {})
    if down.get("stabilizationWindowSeconds") is None:
        down["stabilizationWindowSeconds"] = DOWNSCALE_STABILIZATION
    down.setdefault("selectPolicy", "Max")
    down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    return {"scaleUp": up, "scaleDown": down}


@dataclass(frozen=True)
class AutoscalerMemory:
    recommendations: tuple[tuple[datetime, int], ...] = ()
    scale_up_events: tuple[tuple[datetime, int], ...] = ()
    scale_down_events: tuple[tuple[datetime, int], ...] = ()
    initialised: bool = False  # maybeInitScaleDownStabilizationWindow has run


@dataclass(frozen=True)
class HPADecision:
    desired: int
    rescale: bool
    reason: str = ""
    events: tuple[Event, ...] = ()
    conditions: tuple[dict, ...] = ()
    current_metrics: tuple[dict, ...] = ()
    memory: AutoscalerMemory = field(default_factory=AutoscalerMemory)


def _changed_within(events: Sequence[tuple[datetime, int]], period: int, now: datetime) -> int:
    cutoff = now - timedelta(seconds=period)
    return sum(change for ts, change in events if ts > cutoff)


def _scale_limit(
    current: int, rules: Obj, memory: AutoscalerMemory, now: datetime, up: bool
) -> int:
    """calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    # Max means the biggest change: the highest limit up, the lowest limit down
    pick = max if (select == "Max") == up else min
    result = None
    for policy in rules.get("policies") or []:
        period = int(policy.get("periodSeconds") or 15)
        start = (
            current
            - _changed_within(memory.scale_up_events, period, now)
            + _changed_within(memory.scale_down_events, period, now)
        )
        value = int(policy["value"])
        if policy["type"] == "Pods":
            proposed = start + value if up else start - value
        elif up:
            proposed = math.ceil(start * (1 + value / 100))
        else:
            proposed = int(start * (1 - value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def _condition(kind: str, status: str, reason: str, message: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def plan_hpa(
    hpa: Obj,
    current: int,
    pods: Sequence[Obj],
    metrics: Mapping[str, Mapping[str, MetricSample]],
    memory: AutoscalerMemory,
    now: datetime,
    *,
    containers: Mapping[str, Mapping[str, Mapping[str, MetricSample]]] | None = None,
    metric_apis: Collection[str] = (),
) -> HPADecision:
    """One reconcileAutoscaler.

    ``metrics`` maps a resource name (cpu, memory) to per-pod samples; ``containers`` maps a
    pod to its containers' samples (ContainerResource metrics); ``metric_apis`` are the
    custom/external metrics API groups the cluster serves (none here: Pods, Object and
    External metrics fail as upstream's do without an adapter, :mod:`.hpa_metrics`).
    """
    spec = hpa.get("spec") or {}
    min_replicas = int(spec.get("minReplicas") if spec.get("minReplicas") is not None else 1)
    max_replicas = int(spec["maxReplicas"])
    behavior = default_behavior(spec.get("behavior"))
    conditions: list[dict] = []
    current_metrics: tuple[dict, ...] = ()
    if current == 0 and min_replicas != 0:
        conditions.append(
            _condition(
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )
        )
        return HPADecision(0, False, "", (), tuple(conditions), (), memory)
    reason = ""
    metric_events: tuple[Event, ...] = ()
    if current > max_replicas:
        desired, reason = max_replicas, "Current number of replicas above Spec.MaxReplicas"
    elif current < min_replicas:
        desired, reason = min_replicas, "Current number of replicas below Spec.MinReplicas"
    else:
        namespace = (hpa.get("metadata") or {}).get("namespace", "default")
        tolerance = tolerances(spec.get("behavior"))
        outcomes = [
            metric_outcome(m, current, pods, metrics, containers or {}, metric_apis, namespace,
                           now, tolerance)
            for m in spec.get("metrics") or []
        ]
        combined = combine_outcomes(outcomes, current)
        current_metrics, metric_events = combined.statuses, combined.events
        conditions.append(combined.condition)
        if combined.replicas is None:
            # horizontal.go: all metrics invalid, or some invalid and we would scale down
            return HPADecision(current, False, "", metric_events, tuple(conditions),
                               current_metrics, memory)
        desired, metric_name = combined.replicas, combined.name
        if desired > current:
            reason = f"{metric_name} above target"
        elif desired < current:
            reason = "All metrics below target"
        desired, memory, extra = _normalize_with_behaviors(
            hpa, behavior, current, desired, min_replicas, max_replicas, memory, now
        )
        conditions.extend(extra)
    rescale = desired != current
    events: tuple[Event, ...] = metric_events
    if rescale:
        events = (*events,
                  Event("Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}"))
        change = desired - current
        if change > 0:
            memory = AutoscalerMemory(
                memory.recommendations,
                (*memory.scale_up_events, (now, change)),
                memory.scale_down_events,
                memory.initialised,
            )
        else:
            memory = AutoscalerMemory(
                memory.recommendations,
                memory.scale_up_events,
                (*memory.scale_down_events, (now, -change)),
                memory.initialised,
            )
    return HPADecision(
        desired,
        rescale,
        reason,
        events,
        tuple(conditions),
        tuple(current_metrics),
        _prune(memory, behavior, now),
    )


def _normalize_with_behaviors(
    hpa, behavior, current, proposed, min_replicas, max_replicas, memory, now
):
    if not memory.initialised:
        # maybeInitScaleDownStabilizationWindow: a controller that just (re)started remembers
        # status.desiredReplicas as a recommendation made now, so it does not scale down at once
        seed = int((hpa.get("status") or {}).get("desiredReplicas") or 0)
        memory = AutoscalerMemory(
            ((now, seed),), memory.scale_up_events, memory.scale_down_events, True
        )
    up_window = int(behavior["scaleUp"]["stabilizationWindowSeconds"])
    down_window = int(behavior["scaleDown"]["stabilizationWindowSeconds"])
    up_cutoff, down_cutoff = (
        now - timedelta(seconds=up_window),
        now - timedelta(seconds=down_window),
    )
    up_rec = down_rec = proposed
    for ts, rec in memory.recommendations:
        if ts > up_cutoff:
            up_rec = min(rec, up_rec)
        if ts > down_cutoff:
            down_rec = max(rec, down_rec)
    stabilized = min(max(current, up_rec), down_rec)
    recs = tuple(
        (ts, r) for ts, r in memory.recommendations if ts > min(up_cutoff, down_cutoff)
    ) + ((now, proposed),)
    memory = AutoscalerMemory(recs, memory.scale_up_events, memory.scale_down_events, True)
    conditions = []
    if stabilized != proposed:
        if proposed >= current:
            conditions.append(
                _condition(
                    "AbleToScale",
                    "True",
                    "ScaleUpStabilized",
                    "recent recommendations were lower than current one, applying the lowest recent recommendation",
                )
            )
        else:
            conditions.append(
                _condition(
                    "AbleToScale",
                    "True",
                    "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest recent recommendation",
                )
            )
    else:
        conditions.append(
            _condition(
                "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"
            )
        )
    desired, reason, message = (
        stabilized,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
    if stabilized > current:
        limit = max(_scale_limit(current, behavior["scaleUp"], memory, now, up=True), current)
        allowed = max_replicas
        if allowed > limit:
            allowed, why = (
                limit,
                (
                    "ScaleUpLimit",
                    "the desired replica count is increasing faster than the maximum scale rate",
                ),
            )
        else:
            why = (
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        if stabilized > allowed:
            desired, (reason, message) = allowed, why
    elif stabilized < current:
        limit = min(_scale_limit(current, behavior["scaleDown"], memory, now, up=False), current)
        allowed = min_replicas
        if allowed < limit:
            allowed, why = (
                limit,
                (
                    "ScaleDownLimit",
                    "the desired replica count is decreasing faster than the maximum scale rate",
                ),
            )
        else:
            why = (
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        if stabilized < allowed:
            desired, (reason, message) = allowed, why
    conditions.append(
        _condition("ScalingLimited", "False" if desired == stabilized else "True", reason, message)
    )
    return desired, memory, conditions


def _prune(
    memory: AutoscalerMemory, behavior: Mapping[str, Any], now: datetime
) -> AutoscalerMemory:
    longest = max(
        [
            int(p.get("periodSeconds") or 15)
            for rules in behavior.values()
            for p in rules.get("policies") or []
        ]
        or [15]
    )
    cutoff = now - timedelta(seconds=longest)
    return AutoscalerMemory(
        memory.recommendations,
        tuple(e for e in memory.scale_up_events if e[0] > cutoff),
        tuple(e for e in memory.scale_down_events if e[0] > cutoff),
        memory.initialised,
    )
