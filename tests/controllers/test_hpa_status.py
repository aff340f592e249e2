"""The HPA controller's adapters between the API shapes and the pure plan: PodMetrics to
samples, the /scale path, status conditions and current metrics (horizontal.go setCondition,
setCurrentReplicasAndMetricsInStatus)."""

from __future__ import annotations

from datetime import datetime, timezone

from shiplane.cluster.controllers.hpa import (
    _merge_conditions,
    _samples,
    _scale_path,
    _with_average_values,
)
from shiplane.cluster.decisions.autoscaling import MetricSample

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 25, 12, 5, tzinfo=timezone.utc)


def test_pod_metrics_become_per_resource_samples_summed_over_containers() -> None:
    item = {"metadata": {"name": "p"}, "timestamp": "2026-11-25T12:00:00Z", "window": "30s",
            "containers": [{"name": "a", "usage": {"cpu": "250000000n", "memory": "1Ki"}},
                           {"name": "b", "usage": {"cpu": "50m", "memory": "1Mi"}}]}
    samples = _samples([item])
    assert samples["cpu"]["p"] == MetricSample(300, T0, 30.0)
    assert samples["memory"]["p"] == MetricSample(1024 + 1024 * 1024, T0, 30.0)


def test_scale_path_follows_the_target_reference() -> None:
    hpa = {"metadata": {"namespace": "shop"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                       "name": "db"}}}
    assert _scale_path(hpa) == "/apis/apps/v1/namespaces/shop/statefulsets/db/scale"


def test_conditions_keep_their_transition_time_while_unchanged_and_stay_in_order() -> None:
    old = [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
            "message": "", "lastTransitionTime": "2026-11-25T11:00:00Z"},
           {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
            "message": "", "lastTransitionTime": "2026-11-25T11:00:00Z"}]
    new = [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": "x"},
           {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
            "message": "y"}]
    merged = _merge_conditions(old, new, T1)
    assert [c["type"] for c in merged] == ["AbleToScale", "ScalingActive"]
    assert merged[0]["lastTransitionTime"] == "2026-11-25T12:05:00Z"  # status changed
    assert merged[1]["lastTransitionTime"] == "2026-11-25T11:00:00Z"  # status kept
    assert merged[1]["message"] == "y"


def test_current_metrics_get_the_average_usage_of_live_pods() -> None:
    pods = [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}},
            {"metadata": {"name": "gone", "deletionTimestamp": "2026-11-25T12:00:00Z"}}]
    metrics = {"cpu": {"a": MetricSample(100, T0), "b": MetricSample(51, T0),
                       "gone": MetricSample(900, T0)}}
    current = ({"type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 75}}},)
    assert _with_average_values(current, pods, metrics) == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 75, "averageValue": "75m"}}}]
    idle = {"cpu": {"a": MetricSample(0, T0)}}
    assert _with_average_values(current, pods, idle)[0]["resource"]["current"][
        "averageValue"] == "0"
