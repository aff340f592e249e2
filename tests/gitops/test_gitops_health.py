import pytest

from shiplane.gitops import Health, HealthStatus, app_health, resource_health

H, P, D, S, M, U = (HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED,
                    HealthStatus.SUSPENDED, HealthStatus.MISSING, HealthStatus.UNKNOWN)


def _dep(spec=None, status=None, generation=2, observed=2, conditions=()):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 3, **(spec or {})},
            "status": {"observedGeneration": observed, "conditions": list(conditions),
                       **(status or {})}}


FULL = {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}


@pytest.mark.parametrize(("obj", "status", "message"), [
    (_dep(status=FULL), H, ""),
    (_dep(spec={"paused": True}, status=FULL), S, "Deployment is paused"),
    (_dep(status=FULL, observed=1), P, "observed deployment generation less than desired"),
    (_dep(status={"replicas": 3, "updatedReplicas": 1}), P, "1 out of 3 new replicas"),
    (_dep(status={"replicas": 4, "updatedReplicas": 3}), P, "1 old replicas are pending"),
    (_dep(status={"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}), P,
     "2 of 3 updated replicas are available"),
    (_dep(status={"replicas": 3, "updatedReplicas": 1}, conditions=[
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]),
     D, 'Deployment "web" exceeded its progress deadline'),
])
def test_deployment(obj, status, message):
    health = resource_health(obj)
    assert health.status is status and message in health.message


def _kind(api, kind, spec=None, status=None, **meta):
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "x", **meta},
            "spec": spec or {}, "status": status or {}}


@pytest.mark.parametrize(("obj", "status"), [
    (_kind("apps/v1", "ReplicaSet", {"replicas": 2}, {"availableReplicas": 2}), H),
    (_kind("apps/v1", "ReplicaSet", {"replicas": 2}, {"availableReplicas": 1}), P),
    (_kind("apps/v1", "ReplicaSet", {"replicas": 2}, {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "message": "quota"}]}), D),
    (_kind("apps/v1", "StatefulSet", {"replicas": 2}, {"observedGeneration": 1,
                                                        "readyReplicas": 2}), H),
    (_kind("apps/v1", "StatefulSet", {"replicas": 2}, {"observedGeneration": 1,
                                                        "readyReplicas": 1}), P),
    (_kind("apps/v1", "StatefulSet", {"replicas": 2}, {}), P),
    (_kind("apps/v1", "StatefulSet", {"replicas": 2}, {
        "observedGeneration": 1, "readyReplicas": 2, "currentRevision": "a",
        "updateRevision": "b"}), P),
    (_kind("apps/v1", "DaemonSet", {}, {"desiredNumberScheduled": 2,
                                        "updatedNumberScheduled": 2, "numberAvailable": 2}), H),
    (_kind("apps/v1", "DaemonSet", {}, {"desiredNumberScheduled": 2,
                                        "updatedNumberScheduled": 1}), P),
    (_kind("v1", "Service", {"type": "ClusterIP"}), H),
    (_kind("v1", "Service", {"type": "LoadBalancer"}), P),
    (_kind("v1", "Service", {"type": "LoadBalancer"},
           {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}), H),
    (_kind("networking.k8s.io/v1", "Ingress"), P),
    (_kind("networking.k8s.io/v1", "Ingress", {}, {"loadBalancer": {"ingress": [{}]}}), H),
    (_kind("v1", "PersistentVolumeClaim", {}, {"phase": "Bound"}), H),
    (_kind("v1", "PersistentVolumeClaim", {}, {"phase": "Pending"}), P),
    (_kind("v1", "PersistentVolumeClaim", {}, {"phase": "Lost"}), D),
    (_kind("v1", "Pod", {}, {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]}), H),
    (_kind("v1", "Pod", {}, {"phase": "Running"}), P),
    (_kind("v1", "Pod", {}, {"phase": "Pending"}), P),
    (_kind("v1", "Pod", {}, {"phase": "Succeeded"}), H),
    (_kind("v1", "Pod", {}, {"phase": "Failed"}), D),
    (_kind("v1", "Pod", {}, {"phase": "Pending", "containerStatuses": [
        {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}), D),
    (_kind("v1", "Pod", {}, {"phase": "Running", "containerStatuses": [
        {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}), D),
    (_kind("v1", "Pod", {}, {"phase": "Running"}, deletionTimestamp="2026-01-01T00:00:00Z"), P),
    (_kind("v1", "Pod", {}, {}), U),
    (_kind("batch/v1", "Job", {}, {"conditions": [{"type": "Complete", "status": "True"}]}), H),
    (_kind("batch/v1", "Job", {}, {"conditions": [{"type": "Failed", "status": "True"}]}), D),
    (_kind("batch/v1", "Job", {"suspend": True}), S),
    (_kind("batch/v1", "Job"), P),
    (_kind("autoscaling/v2", "HorizontalPodAutoscaler"), P),
    (_kind("autoscaling/v2", "HorizontalPodAutoscaler", {}, {"conditions": [
        {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}]}), H),
    (_kind("autoscaling/v2", "HorizontalPodAutoscaler", {}, {"conditions": [
        {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric"}]}), D),
])
def test_kinds(obj, status):
    assert resource_health(obj).status is status


def test_kinds_without_a_rule_have_no_health_and_absence_is_missing():
    assert resource_health(_kind("v1", "ConfigMap")) is None
    assert resource_health(None).status is M


def test_app_health_is_the_worst_child_in_argo_order():
    assert [s.value for s in HealthStatus] == [
        "Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
    assert app_health([]).status is H
    assert app_health([Health(H), None, Health(S)]).status is S
    assert app_health([Health(P, "rolling"), Health(S), Health(H)]) == Health(P, "rolling")
    assert app_health([Health(D, "bad"), Health(M)]).status is D
    assert app_health([Health(D), Health(U)]).status is U
