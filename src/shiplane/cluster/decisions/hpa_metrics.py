"""One HPA metric at a time, then all of them (k8s pkg/controller/podautoscaler/horizontal.go
computeReplicasForMetric, computeStatusForResourceMetricGeneric, computeStatusFor*Metric,
computeReplicasForMetrics; replica_calculator.go; metrics/rest_metrics_client.go).

Theory of operation: every entry of ``spec.metrics`` yields a :class:`MetricOutcome`: a replica
proposal and its ``status.currentMetrics`` entry, or an error with the ScalingActive=False
condition and the Warning event upstream records for it (``FailedGetResourceMetric``,
``FailedGetContainerResourceMetric``, ``FailedGetPodsMetric``, ``FailedGetObjectMetric``,
``FailedGetExternalMetric``). Resource and ContainerResource metrics come from
``metrics.k8s.io``. Pods and Object metrics need ``custom.metrics.k8s.io`` and External
metrics ``external.metrics.k8s.io``: the embedded cluster serves neither, so, as upstream
without an adapter, they fail with the metrics clients' own messages and are never scaled on.
:func:`combine_outcomes` is computeReplicasForMetrics: the largest valid proposal wins; if every
metric failed, or some failed and the valid ones would scale down, there is no proposal and
the first failure's condition is reported (an invalid metric never lets the HPA scale down,
but valid ones may still scale up). Failed metrics keep an empty status entry
(``{"type": ""}``), index-aligned with the spec, as upstream writes them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.hpa_replicas import (
    TOLERANCE,
    MetricSample,
    NoMetrics,
    Tolerance,
    average_value_replicas,
    resource_replicas,
)
from shiplane.cluster.decisions.quantity import milli_value

__all__ = [
    "CUSTOM_METRICS_GROUP",
    "EXTERNAL_METRICS_GROUP",
    "CombinedMetrics",
    "MetricOutcome",
    "combine_outcomes",
    "label_selector_string",
    "metric_outcome",
    "tolerances",
]

CUSTOM_METRICS_GROUP = "custom.metrics.k8s.io"
EXTERNAL_METRICS_GROUP = "external.metrics.k8s.io"
Obj = Mapping[str, Any]
# resource -> pod -> sample; pod -> container -> resource -> sample
PodSamples = Mapping[str, Mapping[str, MetricSample]]
ContainerSamples = Mapping[str, Mapping[str, Mapping[str, MetricSample]]]


@dataclass(frozen=True)
class MetricOutcome:
    replicas: int = 0
    name: str = ""  # "cpu resource utilization (percentage of request)"
    status: dict = field(default_factory=lambda: {"type": ""})
    error: str = ""  # computeReplicasForMetric's error; empty when valid
    condition: dict | None = None
    event: Event | None = None


@dataclass(frozen=True)
class CombinedMetrics:
    replicas: int | None  # None: no proposal (the HPA keeps its scale)
    name: str
    statuses: tuple[dict, ...]
    condition: dict
    events: tuple[Event, ...]
    error: str = ""


def label_selector_string(selector: Obj | None) -> str:
    """``%+v`` of a *metav1.LabelSelector (its generated String method), as upstream's
    error messages print metric selectors."""
    if selector is None:
        return "nil"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    exprs = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or [])
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


def tolerances(behavior: Obj | None) -> tuple[float, float]:
    """horizontal.go tolerancesForHpa: (scale-down, scale-up) tolerance, the controller's 0.1
    unless behavior.scaleDown/scaleUp.tolerance sets one (HPAConfigurableTolerance)."""
    result = []
    for key in ("scaleDown", "scaleUp"):
        raw = ((behavior or {}).get(key) or {}).get("tolerance")
        result.append(TOLERANCE if raw is None else milli_value(raw) / 1000)
    return result[0], result[1]


def _failure(reason: str, inner: str, wrapped: str) -> MetricOutcome:
    """getUnableComputeReplicaCountCondition: the event carries the inner error, the
    condition says it was unable to compute the replica count."""
    condition = {"type": "ScalingActive", "status": "False", "reason": reason,
                 "message": f"the HPA was unable to compute the replica count: {inner}"}
    return MetricOutcome(error=wrapped, condition=condition,
                         event=Event("Warning", reason, inner))


def _quantity(resource: str, amount: int) -> str:
    if resource == "cpu":
        return f"{amount}m" if amount else "0"
    return str(amount)


def _resource(metric: Obj, current: int, pods: Sequence[Obj], samples: PodSamples,
              containers: ContainerSamples, now: datetime, tolerance: Tolerance
              ) -> MetricOutcome:
    """computeStatusForResourceMetric / computeStatusForContainerResourceMetric."""
    kind = metric.get("type")
    key = "resource" if kind == "Resource" else "containerResource"
    source = metric.get(key) or {}
    name, target = source.get("name", ""), source.get("target") or {}
    container = source.get("container", "") if kind == "ContainerResource" else ""
    reason = "FailedGetResourceMetric" if kind == "Resource" else \
        "FailedGetContainerResourceMetric"
    wrap = (f"failed to get {name} resource metric value: " if kind == "Resource"
            else f"failed to get {container} container metric value: ")
    if target.get("averageValue") is None and target.get("averageUtilization") is None:
        inner = ("invalid resource metric source: neither an average utilization target nor "
                 "an average value (usage) target was set")
        return _failure(reason, inner, wrap + inner)
    what = "usage" if target.get("averageValue") is not None else "utilization"
    try:
        usage = _container_usage(pods, containers, name, container) if container else \
            samples.get(name) or {}
        if target.get("averageValue") is not None:
            replicas = average_value_replicas(current, pods, usage, name, target, now,
                                              tolerance)
            status = {"name": name, "current": {}}
            label = f"{name} resource"
        else:
            replicas, utilization = resource_replicas(
                current, pods, usage, name, int(target["averageUtilization"]), now,
                tolerance, container=container)
            status = {"name": name, "current": {"averageUtilization": utilization}}
            label = (f"{name} resource utilization (percentage of request)" if not container
                     else f"{name} container resource utilization (percentage of request)")
    except NoMetrics as err:
        inner = f"failed to get {name} {what}: {err}"
        return _failure(reason, inner, wrap + inner)
    if container:
        live = {p["metadata"]["name"] for p in pods}
        values = [s.value for n, s in usage.items() if n in live]
        if values:  # the raw average (upstream: rawUtilization as a milli-quantity)
            status["current"]["averageValue"] = _quantity(name, sum(values) // len(values))
        status = {"name": name, "container": container, "current": status["current"]}
    return MetricOutcome(replicas, label, {"type": kind, key: status})


def _container_usage(pods: Sequence[Obj], containers: ContainerSamples, resource: str,
                     container: str) -> dict[str, MetricSample]:
    """getContainerMetrics: one container's usage per pod; a pod whose metrics lack it fails
    the whole metric."""
    usage: dict[str, MetricSample] = {}
    for pod in pods:
        meta = pod["metadata"]
        per_container = containers.get(meta["name"])
        if per_container is None:
            continue  # no metrics for the pod at all: a missing pod, as for Resource
        if container not in per_container:
            raise NoMetrics(
                f"unable to get metrics for resource {resource}: container {container} not "
                f"present in metrics for pod {meta.get('namespace', '')}/{meta['name']}")
        sample = per_container[container].get(resource)
        if sample is not None:
            usage[meta["name"]] = sample
    return usage


def _unavailable(group: str, served: Collection[str]) -> str:
    if group in served:  # an adapter is registered, but reading it is not implemented here
        return f"reading {group} is not supported by the embedded cluster's HPA controller"
    if group == CUSTOM_METRICS_GROUP:
        return f"no custom metrics API ({CUSTOM_METRICS_GROUP}) registered"
    return ""


def _custom(metric: Obj, namespace: str, served: Collection[str]) -> MetricOutcome:
    """Pods, Object and External metrics: the errors of their metrics clients."""
    kind = metric.get("type")
    if kind == "Pods":
        name = ((metric.get("pods") or {}).get("metric") or {}).get("name", "")
        inner = (f"unable to get metric {name}: unable to fetch metrics from custom metrics "
                 f"API: {_unavailable(CUSTOM_METRICS_GROUP, served)}")
        return _failure("FailedGetPodsMetric", inner, f"failed to get pods metric value: {inner}")
    if kind == "Object":
        source = metric.get("object") or {}
        name = (source.get("metric") or {}).get("name", "")
        ref = source.get("describedObject") or {}
        # replica_calculator.go GetObjectMetricReplicas formats its arguments in this order
        inner = (f"unable to get metric {name}: {ref.get('kind', '')} on {namespace} "
                 f"{ref.get('name', '')}/unable to fetch metrics from custom metrics API: "
                 f"{_unavailable(CUSTOM_METRICS_GROUP, served)}")
        return _failure("FailedGetObjectMetric", inner,
                        f"failed to get object metric value: {inner}")
    source = metric.get("external") or {}
    ident = source.get("metric") or {}
    name = ident.get("name", "")
    cause = _unavailable(EXTERNAL_METRICS_GROUP, served) or \
        f"the server could not find the requested resource (get {name}.{EXTERNAL_METRICS_GROUP})"
    inner = (f"unable to get external metric {namespace}/{name}/"
             f"{label_selector_string(ident.get('selector'))}: unable to fetch metrics from "
             f"external metrics API: {cause}")
    return _failure("FailedGetExternalMetric", inner,
                    f"failed to get {name} external metric value: {inner}")


def metric_outcome(metric: Obj, current: int, pods: Sequence[Obj], samples: PodSamples,
                   containers: ContainerSamples, served: Collection[str], namespace: str,
                   now: datetime, tolerance: Tolerance = TOLERANCE) -> MetricOutcome:
    """computeReplicasForMetric for one entry of ``spec.metrics``."""
    kind = metric.get("type")
    if kind in ("Resource", "ContainerResource"):
        return _resource(metric, current, pods, samples, containers, now, tolerance)
    if kind in ("Pods", "Object", "External"):
        return _custom(metric, namespace, served)
    inner = f'unknown metric source type "{kind}"'
    return _failure("InvalidMetricSourceType", inner, inner)


def combine_outcomes(outcomes: Sequence[MetricOutcome], current: int) -> CombinedMetrics:
    """computeReplicasForMetrics."""
    replicas, name = 0, ""
    for outcome in outcomes:
        if not outcome.error and (not name or outcome.replicas > replicas):
            replicas, name = outcome.replicas, outcome.name
    events = tuple(o.event for o in outcomes if o.event is not None)
    statuses = tuple(o.status for o in outcomes)
    invalid = [o for o in outcomes if o.error]
    if invalid and (len(invalid) >= len(outcomes) or replicas < current):
        first = invalid[0]
        error = (f"invalid metrics ({len(invalid)} invalid out of {len(outcomes)}), first error "
                 f"is: {first.error}")
        assert first.condition is not None
        return CombinedMetrics(None, "", statuses, first.condition,
                               (*events, Event("Warning", "FailedComputeMetricsReplicas", error)),
                               error)
    condition = {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                 "message": "the HPA was able to successfully calculate a replica count from "
                            f"{name}"}
    return CombinedMetrics(replicas, name, statuses, condition, events)
