"""HPA core (k8s pkg/controller/podautoscaler/replica_calculator_test.go TestReplicaCalc* and
horizontal_test.go behaviour cases: scale-up limits, stabilisation, min/max)."""

from datetime import timedelta

import pytest
from k8s_objects import T0, at

from shiplane.cluster.decisions.autoscaling import (
    AutoscalerMemory,
    MetricSample,
    NoMetrics,
    default_behavior,
    plan_hpa,
    resource_replicas,
)
from shiplane.cluster.decisions.clock import format_time

LONG_AGO = T0 - timedelta(minutes=10)


def hpa_pod(name, cpu_request="1", ready=True, phase="Running", became=LONG_AGO, started=LONG_AGO):
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu_request}}}]},
        "status": {
            "phase": phase,
            "startTime": format_time(started),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": format_time(became),
                }
            ],
        },
    }


def samples(levels, now=T0):
    return {f"p{i}": MetricSample(v, now) for i, v in enumerate(levels) if v is not None}


def pods(n, **kw):
    return [hpa_pod(f"p{i}", **kw) for i in range(n)]


@pytest.mark.parametrize(
    "current,levels,target,expected,utilization",
    [
        (3, [300, 500, 700], 30, 5, 50),  # TestReplicaCalcScaleUp
        (5, [100, 300, 500, 250, 250], 50, 3, 28),  # TestReplicaCalcScaleDown
        (3, [1010, 1030, 1020], 100, 3, 102),  # TestReplicaCalcTolerance
    ],
)
def test_resource_replicas(current, levels, target, expected, utilization):
    assert resource_replicas(current, pods(len(levels)), samples(levels), "cpu", target, T0) == (
        expected,
        utilization,
    )


def test_unready_pods_count_as_idle_on_scale_up():
    # TestReplicaCalcScaleUpUnreadyLessScale: the never-ready pod is left out, then counted at 0
    ps = pods(3)
    ps[0] = hpa_pod("p0", ready=False, became=LONG_AGO, started=LONG_AGO)
    assert resource_replicas(3, ps, samples([300, 500, 700]), "cpu", 30, T0) == (4, 60)


def test_missing_metrics_on_scale_down_count_as_full_and_never_flip_direction():
    ps = pods(4)
    assert resource_replicas(4, ps, samples([400, 95, None, None]), "cpu", 50, T0)[0] == 4
    # scale-up with missing pods: they count as 0
    ps = pods(3)
    assert (
        resource_replicas(3, ps, samples([900, 900, None]), "cpu", 50, T0)[0] == 4
    )  # 1800/3000=60% -> 1.2*3


def test_pending_failed_and_deleting_pods():
    ps = pods(3)
    ps[1]["status"]["phase"] = "Pending"
    ps[2]["metadata"]["deletionTimestamp"] = format_time(T0)
    # p0 alone is at 200% of target; the pending pod counted at 0 brings it to 100%: no change
    assert resource_replicas(3, ps, samples([1000, 0, 0]), "cpu", 50, T0) == (3, 100)
    with pytest.raises(NoMetrics, match="no pods returned by selector"):
        resource_replicas(1, [], {}, "cpu", 50, T0)
    with pytest.raises(NoMetrics, match="did not receive metrics"):
        resource_replicas(1, pods(1), {}, "cpu", 50, T0)


def test_cpu_initialization_period_ignores_fresh_samples():
    fresh = hpa_pod("p0", became=at(-5), started=at(-60))
    other = hpa_pod("p1")
    # p0's metric window began before it became ready: ignored as unready
    proposal, utilization = resource_replicas(
        2, [fresh, other], samples([1000, 1000], now=at(0)), "cpu", 50, T0
    )
    # p1 alone: 100% (ratio 2.0); with the unready p0 counted at 0: 50% -> ratio 1.0 -> no change
    assert (proposal, utilization) == (2, 100)
    settled = hpa_pod("p0", became=at(-60), started=at(-90))
    assert resource_replicas(2, [settled, other], samples([1000, 1000]), "cpu", 50, T0) == (4, 100)


def hpa(min_r=1, max_r=10, target=50, behavior=None):
    spec = {
        "minReplicas": min_r,
        "maxReplicas": max_r,
        "scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": target},
                },
            }
        ],
    }
    if behavior:
        spec["behavior"] = behavior
    return {"metadata": {"name": "web"}, "spec": spec}


def conds(decision):
    return {c["type"]: c for c in decision.conditions}


def test_scale_up_event_and_policy_limit():
    d = plan_hpa(
        hpa(max_r=100), 10, pods(10), {"cpu": samples([5000] * 10)}, AutoscalerMemory(), T0
    )
    assert d.desired == 20 and d.rescale  # max(10 + 4 pods, 10 * 200%) per 15 s
    assert (
        d.events[0].message
        == "New size: 20; reason: cpu resource utilization (percentage of request) above target"
    )
    assert conds(d)["ScalingLimited"]["reason"] == "ScaleUpLimit"
    small = plan_hpa(
        hpa(max_r=100), 2, pods(2), {"cpu": samples([5000] * 2)}, AutoscalerMemory(), T0
    )
    assert small.desired == 6  # 2 + 4 pods beats 2 * 2
    # within the same 15 s period the earlier scale-up counts against the limit
    again = plan_hpa(hpa(max_r=100), 20, pods(20), {"cpu": samples([5000] * 20)}, d.memory, at(5))
    assert again.desired == 20 and not again.rescale
    later = plan_hpa(
        hpa(max_r=100),
        20,
        pods(20),
        {"cpu": samples([5000] * 20, now=at(16))},
        again.memory,
        at(16),
    )
    assert later.desired == 40


def test_max_and_min_replicas():
    d = plan_hpa(hpa(max_r=5), 4, pods(4), {"cpu": samples([1000] * 4)}, AutoscalerMemory(), T0)
    assert d.desired == 5 and conds(d)["ScalingLimited"]["reason"] == "TooManyReplicas"
    below = plan_hpa(hpa(min_r=3), 1, pods(1), {}, AutoscalerMemory(), T0)
    assert (below.desired, below.reason) == (3, "Current number of replicas below Spec.MinReplicas")
    above = plan_hpa(hpa(max_r=2), 5, pods(5), {}, AutoscalerMemory(), T0)
    assert above.desired == 2
    off = plan_hpa(hpa(), 0, [], {}, AutoscalerMemory(), T0)
    assert not off.rescale and conds(off)["ScalingActive"]["reason"] == "ScalingDisabled"


def test_scale_down_waits_for_the_stabilization_window():
    memory = AutoscalerMemory()
    busy = plan_hpa(hpa(), 10, pods(10), {"cpu": samples([500] * 10)}, memory, T0)
    assert busy.desired == 10 and not busy.rescale
    quiet = {"cpu": samples([100] * 10)}
    d = plan_hpa(hpa(), 10, pods(10), quiet, busy.memory, at(60))
    assert d.desired == 10 and conds(d)["AbleToScale"]["reason"] == "ScaleDownStabilized"
    d = plan_hpa(hpa(), 10, pods(10), quiet, d.memory, at(301))
    assert d.desired == 2 and d.reason == "All metrics below target"
    assert d.events[0].message == "New size: 2; reason: All metrics below target"


def test_scale_down_policy_and_disabled_select_policy():
    behavior = {
        "scaleDown": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
        }
    }
    d = plan_hpa(
        hpa(behavior=behavior), 10, pods(10), {"cpu": samples([100] * 10)}, AutoscalerMemory(), T0
    )
    assert d.desired == 9 and conds(d)["ScalingLimited"]["reason"] == "ScaleDownLimit"
    disabled = {"scaleUp": {"selectPolicy": "Disabled"}}
    d = plan_hpa(
        hpa(behavior=disabled), 3, pods(3), {"cpu": samples([5000] * 3)}, AutoscalerMemory(), T0
    )
    assert not d.rescale


def test_missing_metrics_condition():
    d = plan_hpa(hpa(), 2, pods(2), {}, AutoscalerMemory(), T0)
    assert not d.rescale and d.desired == 2
    assert conds(d)["ScalingActive"] == {
        "type": "ScalingActive",
        "status": "False",
        "reason": "FailedGetResourceMetric",
        "message": "the HPA was unable to compute the replica count: failed to get cpu utilization:"
        " did not receive metrics for targeted pods (pods might be unready)",
    }


def test_default_behavior():
    b = default_behavior(None)
    assert b["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }
    assert b["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert b["scaleDown"]["policies"] == [{"type": "Percent", "value": 100, "periodSeconds": 15}]


def test_restarted_controller_seeds_the_window_with_status_desired_replicas():
    h = hpa()
    h["status"] = {"desiredReplicas": 10}
    quiet = {"cpu": samples([100] * 10)}
    d = plan_hpa(h, 10, pods(10), quiet, AutoscalerMemory(), T0)
    assert d.desired == 10 and conds(d)["AbleToScale"]["reason"] == "ScaleDownStabilized"
    fresh = plan_hpa(hpa(), 10, pods(10), quiet, AutoscalerMemory(), T0)
    assert (
        fresh.desired == 2
    )  # a brand-new HPA (desiredReplicas 0) may scale down at once, as upstream
