"""HorizontalPodAutoscaler autoscaling/v1 <-> autoscaling/v2 conversion (k8s
pkg/apis/autoscaling/v1/conversion.go; annotations.go
DropRoundTripHorizontalPodAutoscalerAnnotations).

HPAs are stored at autoscaling/v2 and served at v1 too. v1 knows one metric (the cpu
utilization target, ``spec.targetCPUUtilizationPercentage`` / ``status.currentCPUUtilization
Percentage``); everything else travels in annotations so that a v1 read-modify-write keeps it:

* ``autoscaling.alpha.kubernetes.io/metrics``: every spec metric except cpu ``Utilization``
  ones, as v1 MetricSpecs (``targetAverageValue``-style fields);
* ``autoscaling.alpha.kubernetes.io/current-metrics``: all of ``status.currentMetrics`` (v1
  MetricStatuses; the cpu one too, for its raw value);
* ``autoscaling.alpha.kubernetes.io/behavior``: ``spec.behavior`` as upstream writes it, the
  *internal* Go type marshalled without json tags (``{"ScaleUp":{"StabilizationWindowSeconds":
  ...}}``), read back case-insensitively like encoding/json;
* ``autoscaling.alpha.kubernetes.io/conditions``: ``status.conditions``.

v2 -> v1 first drops stale round-trip annotations, v1 -> v2 consumes and drops them. A v1 object
without a cpu target and without other metrics gets upstream's implicit cpu 80 % (DefaultCPU
Utilization). Quirks kept from upstream: the spec target is the first cpu metric *with* an
averageUtilization (#101370), the status value the last one; v1 quantities that are not
pointers (``targetAverageValue`` of Pods, ``targetValue`` of Object, current values) come back
as ``"0"`` when they were unset. Functions are pure: dicts in, new dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shiplane.cluster.decisions.copying import copy_object

__all__ = [
    "BEHAVIOR_ANNOTATION",
    "CONDITIONS_ANNOTATION",
    "CURRENT_METRICS_ANNOTATION",
    "DEFAULT_CPU_UTILIZATION",
    "METRICS_ANNOTATION",
    "convert_hpa",
    "hpa_to_v1",
    "hpa_to_v2",
]

METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_ROUND_TRIP = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION,
               BEHAVIOR_ANNOTATION, "autoscaling.alpha.kubernetes.io/scale-down-tolerance",
               "autoscaling.alpha.kubernetes.io/scale-up-tolerance")
DEFAULT_CPU_UTILIZATION = 80
V1, V2 = "autoscaling/v1", "autoscaling/v2"
Obj = Mapping[str, Any]


def _go_json(value: Any) -> str:
    """encoding/json.Marshal: compact, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _put(out: dict, key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _is_cpu_utilization(metric: Obj) -> bool:
    res = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and res.get("name") == "cpu"
            and (res.get("target") or {}).get("averageUtilization") is not None)


# -- v2 -> v1 --------------------------------------------------------------------------------


def _spec_v1(metric: Obj) -> dict:
    """Convert_autoscaling_MetricSpec_To_v1_MetricSpec (field order as the Go structs)."""
    kind = metric.get("type", "")
    out: dict[str, Any] = {"type": kind}
    if kind == "Object" and metric.get("object") is not None:
        src = metric["object"]
        target, ident = src.get("target") or {}, src.get("metric") or {}
        obj: dict[str, Any] = {"target": dict(src.get("describedObject") or {}),
                               "metricName": ident.get("name", ""),
                               "targetValue": target.get("value") or "0"}
        _put(obj, "selector", ident.get("selector"))
        _put(obj, "averageValue", target.get("averageValue"))
        out["object"] = obj
    elif kind == "Pods" and metric.get("pods") is not None:
        src = metric["pods"]
        ident = src.get("metric") or {}
        pods = {"metricName": ident.get("name", ""),
                "targetAverageValue": (src.get("target") or {}).get("averageValue") or "0"}
        _put(pods, "selector", ident.get("selector"))
        out["pods"] = pods
    elif kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = metric.get(key)
        if src is not None:
            target = src.get("target") or {}
            res: dict[str, Any] = {"name": src.get("name", "")}
            _put(res, "targetAverageUtilization", target.get("averageUtilization"))
            _put(res, "targetAverageValue", target.get("averageValue"))
            if kind == "ContainerResource":
                res["container"] = src.get("container", "")
            out[key] = res
    elif kind == "External" and metric.get("external") is not None:
        src = metric["external"]
        target, ident = src.get("target") or {}, src.get("metric") or {}
        ext: dict[str, Any] = {"metricName": ident.get("name", "")}
        _put(ext, "metricSelector", ident.get("selector"))
        _put(ext, "targetValue", target.get("value"))
        _put(ext, "targetAverageValue", target.get("averageValue"))
        out["external"] = ext
    return out


def _status_v1(metric: Obj) -> dict:
    """Convert_autoscaling_MetricStatus_To_v1_MetricStatus."""
    kind = metric.get("type", "")
    out: dict[str, Any] = {"type": kind}
    if kind == "Object" and metric.get("object") is not None:
        src = metric["object"]
        current, ident = src.get("current") or {}, src.get("metric") or {}
        obj: dict[str, Any] = {"target": dict(src.get("describedObject") or {}),
                               "metricName": ident.get("name", ""),
                               "currentValue": current.get("value") or "0"}
        _put(obj, "selector", ident.get("selector"))
        _put(obj, "averageValue", current.get("averageValue"))
        out["object"] = obj
    elif kind == "Pods" and metric.get("pods") is not None:
        src = metric["pods"]
        ident = src.get("metric") or {}
        pods = {"metricName": ident.get("name", ""),
                "currentAverageValue": (src.get("current") or {}).get("averageValue") or "0"}
        _put(pods, "selector", ident.get("selector"))
        out["pods"] = pods
    elif kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = metric.get(key)
        if src is not None:
            current = src.get("current") or {}
            res: dict[str, Any] = {"name": src.get("name", "")}
            _put(res, "currentAverageUtilization", current.get("averageUtilization"))
            res["currentAverageValue"] = current.get("averageValue") or "0"
            if kind == "ContainerResource":
                res["container"] = src.get("container", "")
            out[key] = res
    elif kind == "External" and metric.get("external") is not None:
        src = metric["external"]
        current, ident = src.get("current") or {}, src.get("metric") or {}
        ext: dict[str, Any] = {"metricName": ident.get("name", "")}
        _put(ext, "metricSelector", ident.get("selector"))
        ext["currentValue"] = current.get("value") or "0"
        _put(ext, "currentAverageValue", current.get("averageValue"))
        out["external"] = ext
    return out


def _rules_internal(rules: Obj | None) -> dict | None:
    """One HPAScalingRules as the internal Go type marshals (no json tags: field names)."""
    if rules is None:
        return None
    out: dict[str, Any] = {
        "StabilizationWindowSeconds": rules.get("stabilizationWindowSeconds"),
        "SelectPolicy": rules.get("selectPolicy"),
        "Policies": None if rules.get("policies") is None else [
            {"Type": p.get("type", ""), "Value": p.get("value", 0),
             "PeriodSeconds": p.get("periodSeconds", 0)} for p in rules["policies"]],
    }
    if rules.get("tolerance") is not None:
        out["Tolerance"] = rules["tolerance"]
    return out


def _condition_v1(cond: Obj) -> dict:
    out = {"type": cond.get("type", ""), "status": cond.get("status", ""),
           "lastTransitionTime": cond.get("lastTransitionTime")}
    _put(out, "reason", cond.get("reason") or None)
    _put(out, "message", cond.get("message") or None)
    return out


def hpa_to_v1(obj: Obj) -> dict:
    """An autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1
    (Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler)."""
    source = copy_object(dict(obj))
    spec, status = source.get("spec") or {}, source.get("status") or {}
    meta = dict(source.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in _ROUND_TRIP}
    metrics = spec.get("metrics") or []
    others = [_spec_v1(m) for m in metrics if not _is_cpu_utilization(m)]
    if others:
        annotations[METRICS_ANNOTATION] = _go_json(others)
    if status.get("currentMetrics"):
        annotations[CURRENT_METRICS_ANNOTATION] = _go_json(
            [_status_v1(m) for m in status["currentMetrics"]])
    if spec.get("behavior") is not None:
        behavior = spec["behavior"]
        annotations[BEHAVIOR_ANNOTATION] = _go_json({
            "ScaleUp": _rules_internal(behavior.get("scaleUp")),
            "ScaleDown": _rules_internal(behavior.get("scaleDown"))})
    if status.get("conditions"):
        annotations[CONDITIONS_ANNOTATION] = _go_json(
            [_condition_v1(c) for c in status["conditions"]])
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    spec_v1: dict[str, Any] = {"scaleTargetRef": spec.get("scaleTargetRef") or {}}
    _put(spec_v1, "minReplicas", spec.get("minReplicas"))
    spec_v1["maxReplicas"] = spec.get("maxReplicas", 0)
    # #101370: the first cpu metric that has a utilization target
    target = next((m["resource"]["target"]["averageUtilization"] for m in metrics
                   if _is_cpu_utilization(m)), None)
    _put(spec_v1, "targetCPUUtilizationPercentage", target)
    status_v1: dict[str, Any] = {}
    _put(status_v1, "observedGeneration", status.get("observedGeneration"))
    _put(status_v1, "lastScaleTime", status.get("lastScaleTime"))
    status_v1["currentReplicas"] = status.get("currentReplicas", 0)
    status_v1["desiredReplicas"] = status.get("desiredReplicas", 0)
    for metric in status.get("currentMetrics") or []:  # no break: the last one wins
        res = metric.get("resource") or {}
        used = (res.get("current") or {}).get("averageUtilization")
        if metric.get("type") == "Resource" and res.get("name") == "cpu" and used is not None:
            status_v1["currentCPUUtilizationPercentage"] = used
    out = {k: v for k, v in source.items() if k not in ("apiVersion", "kind", "metadata",
                                                        "spec", "status")}
    return {"apiVersion": V1, "kind": source.get("kind", "HorizontalPodAutoscaler"),
            "metadata": meta, **out, "spec": spec_v1, "status": status_v1}


# -- v1 -> v2 --------------------------------------------------------------------------------


def _field(data: Any, name: str) -> Any:
    """encoding/json field lookup: exact name first, then case-insensitive."""
    if not isinstance(data, Mapping):
        return None
    if name in data:
        return data[name]
    lowered = name.lower()
    return next((v for k, v in data.items() if k.lower() == lowered), None)


def _target(**fields: Any) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _spec_v2(metric: Obj) -> dict:
    """Convert_v1_MetricSpec_To_autoscaling_MetricSpec."""
    kind = _field(metric, "type") or ""
    out: dict[str, Any] = {"type": kind}
    if kind == "Object" and _field(metric, "object") is not None:
        src = _field(metric, "object")
        average = _field(src, "averageValue")
        out["object"] = {
            "describedObject": dict(_field(src, "target") or {}),
            "metric": _target(name=_field(src, "metricName") or "",
                              selector=_field(src, "selector")),
            "target": _target(type="Value" if average is None else "AverageValue",
                              value=_field(src, "targetValue") or "0", averageValue=average)}
    elif kind == "Pods" and _field(metric, "pods") is not None:
        src = _field(metric, "pods")
        out["pods"] = {
            "metric": _target(name=_field(src, "metricName") or "",
                              selector=_field(src, "selector")),
            "target": {"type": "AverageValue",
                       "averageValue": _field(src, "targetAverageValue") or "0"}}
    elif kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = _field(metric, key)
        if src is not None:
            utilization = _field(src, "targetAverageUtilization")
            res: dict[str, Any] = {"name": _field(src, "name") or ""}
            if kind == "ContainerResource":
                res["container"] = _field(src, "container") or ""
            res["target"] = _target(
                type="AverageValue" if utilization is None else "Utilization",
                averageUtilization=utilization, averageValue=_field(src, "targetAverageValue"))
            out[key] = res
    elif kind == "External" and _field(metric, "external") is not None:
        src = _field(metric, "external")
        value = _field(src, "targetValue")
        out["external"] = {
            "metric": _target(name=_field(src, "metricName") or "",
                              selector=_field(src, "metricSelector")),
            "target": _target(type="AverageValue" if value is None else "Value", value=value,
                              averageValue=_field(src, "targetAverageValue"))}
    return out


def _status_v2(metric: Obj) -> dict:
    """Convert_v1_MetricStatus_To_autoscaling_MetricStatus."""
    kind = _field(metric, "type") or ""
    out: dict[str, Any] = {"type": kind}
    if kind == "Object" and _field(metric, "object") is not None:
        src = _field(metric, "object")
        out["object"] = {
            "describedObject": dict(_field(src, "target") or {}),
            "metric": _target(name=_field(src, "metricName") or "",
                              selector=_field(src, "selector")),
            "current": _target(value=_field(src, "currentValue") or "0",
                               averageValue=_field(src, "averageValue"))}
    elif kind == "Pods" and _field(metric, "pods") is not None:
        src = _field(metric, "pods")
        out["pods"] = {
            "metric": _target(name=_field(src, "metricName") or "",
                              selector=_field(src, "selector")),
            "current": {"averageValue": _field(src, "currentAverageValue") or "0"}}
    elif kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = _field(metric, key)
        if src is not None:
            res: dict[str, Any] = {"name": _field(src, "name") or ""}
            if kind == "ContainerResource":
                res["container"] = _field(src, "container") or ""
            res["current"] = _target(
                averageValue=_field(src, "currentAverageValue") or "0",
                averageUtilization=_field(src, "currentAverageUtilization"))
            out[key] = res
    elif kind == "External" and _field(metric, "external") is not None:
        src = _field(metric, "external")
        out["external"] = {
            "metric": _target(name=_field(src, "metricName") or "",
                              selector=_field(src, "metricSelector")),
            "current": _target(value=_field(src, "currentValue") or "0",
                               averageValue=_field(src, "currentAverageValue"))}
    return out


def _rules_v2(rules: Any) -> dict | None:
    if not isinstance(rules, Mapping):
        return None
    policies = _field(rules, "Policies")
    return _target(
        stabilizationWindowSeconds=_field(rules, "StabilizationWindowSeconds"),
        selectPolicy=_field(rules, "SelectPolicy"),
        policies=None if policies is None else [
            {"type": _field(p, "Type") or "", "value": _field(p, "Value") or 0,
             "periodSeconds": _field(p, "PeriodSeconds") or 0} for p in policies],
        tolerance=_field(rules, "Tolerance"))


def _annotation_json(annotations: Mapping[str, str], key: str) -> Any:
    """The decoded annotation; a value that is not JSON counts as absent (upstream fails the
    conversion; the API server here never writes such a value itself)."""
    try:
        return json.loads(annotations[key]) if key in annotations else None
    except ValueError:
        return None


def hpa_to_v2(obj: Obj) -> dict:
    """An autoscaling/v1 HorizontalPodAutoscaler as autoscaling/v2
    (Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler)."""
    source = copy_object(dict(obj))
    spec, status = source.get("spec") or {}, source.get("status") or {}
    meta = dict(source.get("metadata") or {})
    given = meta.get("annotations") or {}
    spec_v2: dict[str, Any] = {"scaleTargetRef": spec.get("scaleTargetRef") or {}}
    _put(spec_v2, "minReplicas", spec.get("minReplicas"))
    spec_v2["maxReplicas"] = spec.get("maxReplicas", 0)
    metrics = [_spec_v2(m) for m in _annotation_json(given, METRICS_ANNOTATION) or []]
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization",
            "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
    if not metrics:  # v1's implicit default, made explicit
        metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    spec_v2["metrics"] = metrics
    behavior = _annotation_json(given, BEHAVIOR_ANNOTATION)
    if isinstance(behavior, Mapping):
        spec_v2["behavior"] = _target(scaleUp=_rules_v2(_field(behavior, "ScaleUp")),
                                      scaleDown=_rules_v2(_field(behavior, "ScaleDown")))
    status_v2: dict[str, Any] = {}
    for key in ("observedGeneration", "lastScaleTime"):
        _put(status_v2, key, status.get(key))
    if status.get("currentReplicas"):  # v2: `json:"currentReplicas,omitempty"`
        status_v2["currentReplicas"] = status["currentReplicas"]
    status_v2["desiredReplicas"] = status.get("desiredReplicas", 0)
    current = _annotation_json(given, CURRENT_METRICS_ANNOTATION)
    if current is not None:  # the annotation has more than currentCPUUtilizationPercentage
        status_v2["currentMetrics"] = [_status_v2(m) for m in current]
    elif status.get("currentCPUUtilizationPercentage") is not None:
        status_v2["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    conditions = _annotation_json(given, CONDITIONS_ANNOTATION)
    if conditions:
        status_v2["conditions"] = [
            {k: _field(c, k) for k in ("type", "status", "lastTransitionTime", "reason",
                                       "message") if _field(c, k) is not None}
            for c in conditions]
    annotations = {k: v for k, v in given.items() if k not in _ROUND_TRIP}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out = {k: v for k, v in source.items() if k not in ("apiVersion", "kind", "metadata",
                                                        "spec", "status")}
    result = {"apiVersion": V2, "kind": source.get("kind", "HorizontalPodAutoscaler"),
              "metadata": meta, **out, "spec": spec_v2}
    if "status" in source:
        result["status"] = status_v2
    return result


def convert_hpa(obj: Obj, api_version: str) -> dict:
    """``obj`` (at either version) at ``api_version``: the registry's converter for HPAs."""
    if obj.get("apiVersion") == api_version:
        return dict(obj)
    return hpa_to_v1(obj) if api_version == V1 else hpa_to_v2(obj)
