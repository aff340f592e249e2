"""autoscaling/v1 <-> v2 HorizontalPodAutoscaler conversion (k8s pkg/apis/autoscaling/v1/
conversion.go and conversion_test.go, annotations.go)."""

from __future__ import annotations

import json

from shiplane.cluster.resources.hpa_conversion import (
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    METRICS_ANNOTATION,
    hpa_to_v1,
    hpa_to_v2,
)

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
CPU70 = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 70}}}
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "100Mi"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
    "type": "AverageValue", "averageValue": "10"}}}
EXTERNAL = {"type": "External", "external": {
    "metric": {"name": "queue", "selector": {"matchLabels": {"q": "jobs"}}},
    "target": {"type": "Value", "value": "30"}}}
CONTAINER = {"type": "ContainerResource", "containerResource": {
    "name": "cpu", "container": "app", "target": {"type": "Utilization",
                                                  "averageUtilization": 60}}}
BEHAVIOR = {"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15}]},
    "scaleDown": {"selectPolicy": "Min", "policies": [
        {"type": "Percent", "value": 10, "periodSeconds": 60}]}}
CONDITION = {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
             "message": "ok", "lastTransitionTime": "2026-12-08T00:00:00Z"}


def v2(metrics, **spec) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
            "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                     "metrics": metrics, **spec},
            "status": {"currentReplicas": 2, "desiredReplicas": 3,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                                           "current": {"averageUtilization": 90,
                                                       "averageValue": "90m"}}}],
                       "conditions": [CONDITION]}}


def test_cpu_utilization_becomes_the_v1_fields_and_the_rest_annotations() -> None:
    out = hpa_to_v1(v2([MEMORY, CPU70, PODS], behavior=BEHAVIOR))
    assert out["apiVersion"] == "autoscaling/v1"
    assert out["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                           "targetCPUUtilizationPercentage": 70}
    assert out["status"] == {"currentReplicas": 2, "desiredReplicas": 3,
                             "currentCPUUtilizationPercentage": 90}
    notes = out["metadata"]["annotations"]
    assert notes["team"] == "a"
    assert json.loads(notes[METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}},
        {"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10"}}]
    assert notes[CURRENT_METRICS_ANNOTATION] == (
        '[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":90,'
        '"currentAverageValue":"90m"}}]')
    # the internal Go type, marshalled without json tags
    assert json.loads(notes[BEHAVIOR_ANNOTATION]) == {
        "ScaleUp": {"StabilizationWindowSeconds": 0, "SelectPolicy": "Max",
                    "Policies": [{"Type": "Pods", "Value": 4, "PeriodSeconds": 15}]},
        "ScaleDown": {"StabilizationWindowSeconds": None, "SelectPolicy": "Min",
                      "Policies": [{"Type": "Percent", "Value": 10, "PeriodSeconds": 60}]}}
    assert json.loads(notes[CONDITIONS_ANNOTATION]) == [CONDITION]


def test_v1_spec_target_is_the_first_cpu_metric_with_a_utilization() -> None:
    # conversion_test.go TestConversionWithCPUAverageValueAndUtilizationBoth1
    cpu_value = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "AverageValue", "averageValue": "300m"}}}
    out = hpa_to_v1(v2([cpu_value, CPU70]))
    assert out["spec"]["targetCPUUtilizationPercentage"] == 70
    assert json.loads(out["metadata"]["annotations"][METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "cpu", "targetAverageValue": "300m"}}]


def test_round_trip_v2_v1_v2_keeps_every_metric_behavior_and_condition() -> None:
    original = v2([CPU70, MEMORY, PODS, EXTERNAL, CONTAINER], behavior=BEHAVIOR)
    back = hpa_to_v2(hpa_to_v1(original))
    # the cpu utilization metric moves last (Convert_v1_HorizontalPodAutoscaler_To_autoscaling)
    assert back["spec"]["metrics"] == [MEMORY, PODS, EXTERNAL, CONTAINER, CPU70]
    assert back["spec"]["behavior"] == BEHAVIOR
    assert back["status"] == original["status"]
    assert back["metadata"] == original["metadata"]  # round-trip annotations consumed


def test_round_trip_v1_v2_v1() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "web"},
          "spec": {"scaleTargetRef": REF, "minReplicas": 2, "maxReplicas": 4,
                   "targetCPUUtilizationPercentage": 50},
          "status": {"currentReplicas": 2, "desiredReplicas": 2,
                     "currentCPUUtilizationPercentage": 12}}
    there = hpa_to_v2(v1)
    assert there["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}]
    assert there["status"]["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 12}}}]
    back = hpa_to_v1(there)
    # the raw value travels in the current-metrics annotation ("0": a non-pointer quantity)
    assert json.loads(back["metadata"]["annotations"].pop(CURRENT_METRICS_ANNOTATION)) == [
        {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 12,
                                          "currentAverageValue": "0"}}]
    assert back == {**v1, "metadata": {"name": "web", "annotations": {}}}


def test_v1_without_a_cpu_target_gets_the_implicit_80_percent() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "web"}, "spec": {"scaleTargetRef": REF, "maxReplicas": 3}}
    assert hpa_to_v2(v1)["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    # ... but not when other metrics came in the annotation
    v1["metadata"]["annotations"] = {METRICS_ANNOTATION: json.dumps(
        [{"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10"}}])}
    assert hpa_to_v2(v1)["spec"]["metrics"] == [PODS]


def test_stale_round_trip_annotations_are_replaced_and_behavior_read_case_insensitively() -> None:
    original = v2([CPU70])
    original["metadata"]["annotations"][METRICS_ANNOTATION] = "stale"
    out = hpa_to_v1(original)
    assert METRICS_ANNOTATION not in out["metadata"]["annotations"]
    v1 = dict(out, metadata={"name": "web", "annotations": {
        BEHAVIOR_ANNOTATION: '{"scaleup":{"selectpolicy":"Disabled"}}'}})
    assert hpa_to_v2(v1)["spec"]["behavior"] == {"scaleUp": {"selectPolicy": "Disabled"}}


def test_object_and_external_targets_pick_their_type_from_the_v1_fields() -> None:
    # Convert_v1_ObjectMetricSource_To_autoscaling / Convert_v1_ExternalMetricSource_To_autoscaling
    obj = {"type": "Object", "object": {"target": {"kind": "Ingress", "name": "main"},
                                        "metricName": "hits", "targetValue": "0",
                                        "averageValue": "5"}}
    ext = {"type": "External", "external": {"metricName": "queue", "targetAverageValue": "3"}}
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "web", "annotations": {METRICS_ANNOTATION: json.dumps([obj, ext])}},
          "spec": {"scaleTargetRef": REF, "maxReplicas": 3}}
    metrics = hpa_to_v2(v1)["spec"]["metrics"]
    assert metrics[0]["object"]["target"] == {"type": "AverageValue", "value": "0",
                                              "averageValue": "5"}
    assert metrics[0]["object"]["describedObject"] == {"kind": "Ingress", "name": "main"}
    assert metrics[1]["external"]["target"] == {"type": "AverageValue", "averageValue": "3"}


def test_table_targets_match_printers_go_format_hpa_metrics() -> None:
    from datetime import datetime, timezone

    from shiplane.cluster.resources.registry import REGISTRY

    obj = v2([CPU70, PODS, EXTERNAL, CONTAINER])
    obj["status"]["currentMetrics"] = [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 90}}},
        {"type": ""}, {"type": ""}, {"type": ""}]
    now = datetime(2026, 12, 8, tzinfo=timezone.utc)
    v2_row = REGISTRY.by_kind("autoscaling/v2", "HorizontalPodAutoscaler").table.cells(obj, now)
    assert v2_row[2] == "cpu: 90%/70%, <unknown>/10 + 2 more..."
    # the v1 table prints the converted object: the same row
    v1_row = REGISTRY.by_kind("autoscaling/v1", "HorizontalPodAutoscaler").table.cells(
        hpa_to_v1(obj), now)
    # (a v1 object converts back with the cpu metric last: statuses no longer line up)
    assert v1_row[2] == "<unknown>/10, <unknown>/30 + 2 more..."
    container = v2([CONTAINER])
    container["status"]["currentMetrics"] = [{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "current": {"averageUtilization": 75}}}]
    assert REGISTRY.by_kind("autoscaling/v2", "HorizontalPodAutoscaler").table.cells(
        container, now)[2] == "cpu: 75%/60%"
    only_cpu = hpa_to_v1(v2([CPU70]))
    assert REGISTRY.by_kind("autoscaling/v1", "HorizontalPodAutoscaler").table.cells(
        only_cpu, now)[2:6] == ["cpu: 90%/70%", 1, 5, 2]
