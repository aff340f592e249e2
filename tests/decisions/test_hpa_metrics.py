"""HPA metric types beyond Resource (k8s pkg/controller/podautoscaler/horizontal.go
computeReplicasForMetric / computeReplicasForMetrics, replica_calculator.go GetResourceReplicas
with a container, metrics/rest_metrics_client.go getContainerMetrics) and the behavior field
(horizontal_test.go TestScaleUpOneMetricInvalid, TestScaleDownOneMetricInvalid,
TestConditionFailedGetMetrics, TestNormalizeDesiredReplicasWithBehavior)."""

from datetime import timedelta

from k8s_objects import T0, at

from shiplane.cluster.decisions.autoscaling import AutoscalerMemory, MetricSample, plan_hpa
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.hpa_metrics import label_selector_string

LONG_AGO = T0 - timedelta(minutes=10)


def pod(name, app_cpu="500m", sidecar_cpu="500m"):
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [
            {"name": "app", "resources": {"requests": {"cpu": app_cpu}}},
            {"name": "sidecar", "resources": {"requests": {"cpu": sidecar_cpu}}}]},
        "status": {"phase": "Running", "startTime": format_time(LONG_AGO), "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": format_time(LONG_AGO)}]},
    }


def usage(app, sidecar, n):
    """({resource: {pod: sample}}, {pod: {container: {resource: sample}}}) for n pods."""
    containers = {f"p{i}": {"app": {"cpu": MetricSample(app, T0)},
                            "sidecar": {"cpu": MetricSample(sidecar, T0)}} for i in range(n)}
    summed = {"cpu": {f"p{i}": MetricSample(app + sidecar, T0) for i in range(n)}}
    return summed, containers


CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 50}}}
APP_CPU = {"type": "ContainerResource", "containerResource": {
    "name": "cpu", "container": "app", "target": {"type": "Utilization",
                                                  "averageUtilization": 50}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
    "type": "AverageValue", "averageValue": "10"}}}
OBJECT = {"type": "Object", "object": {
    "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
    "metric": {"name": "hits"}, "target": {"type": "Value", "value": "100"}}}
EXTERNAL = {"type": "External", "external": {
    "metric": {"name": "queue", "selector": {"matchLabels": {"q": "jobs"}}},
    "target": {"type": "AverageValue", "averageValue": "30"}}}


def hpa(metrics, behavior=None, max_r=10):
    spec = {"minReplicas": 1, "maxReplicas": max_r, "metrics": metrics,
            "scaleTargetRef": {"kind": "Deployment", "name": "web"}}
    if behavior:
        spec["behavior"] = behavior
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def conds(decision):
    return {c["type"]: c for c in decision.conditions}


def plan(metrics, current, app, sidecar, memory=None, now=T0, **kw):
    summed, containers = usage(app, sidecar, current)
    return plan_hpa(hpa(metrics, **kw), current, [pod(f"p{i}") for i in range(current)], summed,
                    memory or AutoscalerMemory(), now, containers=containers)


def test_container_resource_uses_only_that_containers_usage_and_request() -> None:
    # app at 400m of its 500m request = 80% (target 50%): ceil(2 x 1.6) = 4; the pod as a whole
    # (400m + 50m of 1000m = 45%) would stay within tolerance
    d = plan([APP_CPU], 2, 400, 50)
    assert d.desired == 4
    assert d.current_metrics == ({"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app",
        "current": {"averageUtilization": 80, "averageValue": "400m"}}},)
    assert d.events[-1].message == ("New size: 4; reason: cpu container resource utilization "
                                    "(percentage of request) above target")
    assert plan([CPU], 2, 400, 50).desired == 2


def test_container_missing_from_pod_metrics_fails_the_metric() -> None:
    summed, containers = usage(400, 50, 2)
    del containers["p1"]["app"]
    d = plan_hpa(hpa([APP_CPU]), 2, [pod("p0"), pod("p1")], summed, AutoscalerMemory(), T0,
                 containers=containers)
    assert not d.rescale
    assert conds(d)["ScalingActive"] == {
        "type": "ScalingActive", "status": "False", "reason": "FailedGetContainerResourceMetric",
        "message": "the HPA was unable to compute the replica count: failed to get cpu "
                   "utilization: unable to get metrics for resource cpu: container app not "
                   "present in metrics for pod default/p1"}


def test_pods_object_and_external_metrics_fail_without_a_metrics_adapter() -> None:
    d = plan([PODS, OBJECT, EXTERNAL], 2, 100, 100)
    assert not d.rescale and d.desired == 2
    pods_error = ("unable to get metric rps: unable to fetch metrics from custom metrics API: "
                  "no custom metrics API (custom.metrics.k8s.io) registered")
    assert conds(d)["ScalingActive"] == {
        "type": "ScalingActive", "status": "False", "reason": "FailedGetPodsMetric",
        "message": f"the HPA was unable to compute the replica count: {pods_error}"}
    warnings = [(e.type, e.reason, e.message) for e in d.events]
    assert warnings == [
        ("Warning", "FailedGetPodsMetric", pods_error),
        ("Warning", "FailedGetObjectMetric",
         "unable to get metric hits: Ingress on default main/unable to fetch metrics from "
         "custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"),
        ("Warning", "FailedGetExternalMetric",
         "unable to get external metric default/queue/&LabelSelector{MatchLabels:map[string]"
         "string{q: jobs,},MatchExpressions:[]LabelSelectorRequirement{},}: unable to fetch "
         "metrics from external metrics API: the server could not find the requested resource "
         "(get queue.external.metrics.k8s.io)"),
        ("Warning", "FailedComputeMetricsReplicas",
         f"invalid metrics (3 invalid out of 3), first error is: failed to get pods metric "
         f"value: {pods_error}"),
    ]
    # failed metrics keep an empty, index-aligned status entry
    assert d.current_metrics == ({"type": ""}, {"type": ""}, {"type": ""})


def test_an_invalid_metric_still_lets_valid_ones_scale_up() -> None:
    # TestScaleUpOneMetricInvalid: cpu at 100% of a 50% target -> 4 replicas
    d = plan([PODS, CPU], 2, 500, 500)
    assert d.desired == 4 and d.rescale
    assert conds(d)["ScalingActive"]["reason"] == "ValidMetricFound"
    assert [e.reason for e in d.events] == ["FailedGetPodsMetric", "SuccessfulRescale"]
    assert d.current_metrics[0] == {"type": ""}
    assert d.current_metrics[1]["resource"]["current"]["averageUtilization"] == 100


def test_an_invalid_metric_blocks_scaling_down() -> None:
    # TestScaleDownOneMetricInvalid: cpu at 10% would scale down; the invalid metric forbids it
    d = plan([CPU, EXTERNAL], 4, 50, 50)
    assert not d.rescale and d.desired == 4
    assert conds(d)["ScalingActive"]["reason"] == "FailedGetExternalMetric"
    assert d.events[-1].reason == "FailedComputeMetricsReplicas"
    assert d.events[-1].message.startswith(
        "invalid metrics (1 invalid out of 2), first error is: failed to get queue external "
        "metric value: unable to get external metric default/queue/")
    # ... and at the current scale the valid metric keeps ScalingActive true
    steady = plan([CPU, EXTERNAL], 2, 250, 250)
    assert not steady.rescale and conds(steady)["ScalingActive"]["reason"] == "ValidMetricFound"


def test_label_selector_prints_like_go() -> None:
    assert label_selector_string(None) == "nil"
    assert label_selector_string({"matchExpressions": [
        {"key": "env", "operator": "In", "values": ["a", "b"]}]}) == (
        "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]"
        "LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[a b],},},}")


def test_behavior_select_policy_min_picks_the_smallest_change() -> None:
    # scale-up 4 -> 40 wanted; Pods 2/60 s gives 6, Percent 100%/60 s gives 8: Min -> 6
    behavior = {"scaleUp": {"selectPolicy": "Min", "policies": [
        {"type": "Pods", "value": 2, "periodSeconds": 60},
        {"type": "Percent", "value": 100, "periodSeconds": 60}]}}
    d = plan([CPU], 4, 5000, 5000, behavior=behavior, max_r=100)
    assert d.desired == 6 and conds(d)["ScalingLimited"]["reason"] == "ScaleUpLimit"
    # the default Max takes the biggest: 8
    behavior["scaleUp"]["selectPolicy"] = "Max"
    assert plan([CPU], 4, 5000, 5000, behavior=behavior, max_r=100).desired == 8


def test_behavior_scale_up_stabilization_window_uses_the_lowest_recent_recommendation() -> None:
    behavior = {"scaleUp": {"stabilizationWindowSeconds": 60}}
    calm = plan([CPU], 2, 250, 250, behavior=behavior)  # recommends 2 at T0
    assert calm.desired == 2
    busy = plan([CPU], 2, 500, 500, memory=calm.memory, now=at(30), behavior=behavior)
    assert busy.desired == 2 and conds(busy)["AbleToScale"]["reason"] == "ScaleUpStabilized"
    later = plan([CPU], 2, 500, 500, memory=busy.memory, now=at(61), behavior=behavior)
    assert later.desired == 4


def test_behavior_percent_scale_down_policy_and_explicit_zero_window() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [
        {"type": "Percent", "value": 50, "periodSeconds": 60}]}}
    d = plan([CPU], 8, 10, 10, behavior=behavior)  # wants 1; at most half per minute
    assert d.desired == 4 and conds(d)["ScalingLimited"]["reason"] == "ScaleDownLimit"
    again = plan([CPU], 4, 10, 10, memory=d.memory, now=at(30), behavior=behavior)
    assert again.desired == 4  # the 4 removed within the last 60 s count against the budget


def test_behavior_tolerance_per_direction() -> None:
    # horizontal.go tolerancesForHpa: cpu at 54% of a 50% target (ratio 1.08) is within the
    # default 0.1; a scale-up tolerance of 5% acts on it: ceil(10 x 1.08) = 11
    assert plan([CPU], 10, 270, 270).desired == 10
    behavior = {"scaleUp": {"tolerance": "0.05"}}
    assert plan([CPU], 10, 270, 270, behavior=behavior, max_r=20).desired == 11
    # 46% (ratio 0.92) stays put with 0.1, a scale-down tolerance of 0.05 (as "50m") acts:
    # ceil(20 x 0.92) = 19
    down = {"scaleDown": {"tolerance": "50m", "stabilizationWindowSeconds": 0}}
    assert plan([CPU], 20, 230, 230, max_r=20).desired == 20
    assert plan([CPU], 20, 230, 230, behavior=down, max_r=20).desired == 19
    # ... and leaves scale-up at the default: 1.08 is still within 0.1
    assert plan([CPU], 10, 270, 270, behavior=down).desired == 10
