"""HorizontalPodAutoscalers served at autoscaling/v1 and autoscaling/v2, stored at v2
(k8s pkg/apis/autoscaling/v1/conversion.go; kube-apiserver serves both, v2 preferred), with
the official Python client and kubectl over a real socket."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.cluster.store import MemoryObjectStore

KUBECTL = str(Path(sys.executable).with_name("kubectl"))
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[client.ApiClient, Path]]:
    with ApiServerRunner(MemoryObjectStore()) as runner:
        path = runner.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
        api = config.new_client_from_config(config_file=str(path))
        yield api, path
        api.close()


def kubectl(kubeconfig: Path, *args: str) -> str:
    result = subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), *args], text=True,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_created_as_v1_read_as_v2_and_back(server) -> None:
    api, _ = server
    v1 = client.AutoscalingV1Api(api)
    v2 = client.AutoscalingV2Api(api)
    created = v1.create_namespaced_horizontal_pod_autoscaler("default", {
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}})
    assert created.api_version == "autoscaling/v1" and created.spec.min_replicas == 1
    assert created.spec.target_cpu_utilization_percentage == 50
    read = v2.read_namespaced_horizontal_pod_autoscaler("web", "default")
    assert read.api_version == "autoscaling/v2"
    [metric] = read.spec.metrics
    assert (metric.type, metric.resource.name, metric.resource.target.type,
            metric.resource.target.average_utilization) == ("Resource", "cpu", "Utilization", 50)
    assert read.spec.behavior is None  # v2 defaults.go: behavior only filled in when given
    # v2 adds what v1 cannot say; a v1 read-modify-write keeps it
    read.spec.metrics.append(client.V2MetricSpec(type="Pods", pods=client.V2PodsMetricSource(
        metric=client.V2MetricIdentifier(name="rps"),
        target=client.V2MetricTarget(type="AverageValue", average_value="10"))))
    read.spec.behavior = client.V2HorizontalPodAutoscalerBehavior(
        scale_down=client.V2HPAScalingRules(select_policy="Min", policies=[
            client.V2HPAScalingPolicy(type="Pods", value=1, period_seconds=60)]))
    v2.replace_namespaced_horizontal_pod_autoscaler("web", "default", read)
    as_v1 = v1.read_namespaced_horizontal_pod_autoscaler("web", "default")
    notes = as_v1.metadata.annotations
    assert json.loads(notes["autoscaling.alpha.kubernetes.io/metrics"]) == [
        {"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10"}}]
    assert "autoscaling.alpha.kubernetes.io/behavior" in notes
    as_v1.spec.max_replicas = 7
    v1.replace_namespaced_horizontal_pod_autoscaler("web", "default", as_v1)
    again = v2.read_namespaced_horizontal_pod_autoscaler("web", "default")
    assert again.spec.max_replicas == 7
    assert [m.type for m in again.spec.metrics] == ["Pods", "Resource"]
    assert again.spec.behavior.scale_down.select_policy == "Min"
    assert again.spec.behavior.scale_down.policies[0].period_seconds == 60
    assert again.spec.behavior.scale_up.policies  # defaulted once behavior is given
    assert not (again.metadata.annotations or {})  # round-trip annotations never stored
    listed = v1.list_namespaced_horizontal_pod_autoscaler("default")
    assert [h.spec.target_cpu_utilization_percentage for h in listed.items] == [50]


def test_status_written_as_v2_survives_v1_writes_and_shows_in_v1(server) -> None:
    api, _ = server
    v1 = client.AutoscalingV1Api(api)
    v2 = client.AutoscalingV2Api(api)
    v2.create_namespaced_horizontal_pod_autoscaler("default", {
        "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 60}}}]}})
    status = {"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": 75, "averageValue": "75m"}}}],
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale",
                        "lastTransitionTime": "2026-12-08T00:00:00Z"}]}
    v2.patch_namespaced_horizontal_pod_autoscaler_status("api", "default", {"status": status})
    seen = v1.read_namespaced_horizontal_pod_autoscaler("api", "default")
    assert seen.status.current_cpu_utilization_percentage == 75
    assert seen.status.desired_replicas == 3
    # a main-resource write through v1 without the annotations keeps the v2 status
    seen.metadata.annotations = {}
    seen.spec.min_replicas = 2
    v1.replace_namespaced_horizontal_pod_autoscaler("api", "default", seen)
    after = v2.read_namespaced_horizontal_pod_autoscaler("api", "default")
    assert after.spec.min_replicas == 2
    assert after.status.conditions[0].reason == "SucceededRescale"
    assert after.status.current_metrics[0].resource.current.average_value == "75m"
    # and a v1 status write keeps the v2 spec
    seen = v1.read_namespaced_horizontal_pod_autoscaler("api", "default")
    seen.metadata.annotations = {}
    seen.status.desired_replicas = 1
    v1.replace_namespaced_horizontal_pod_autoscaler_status("api", "default", seen)
    after = v2.read_namespaced_horizontal_pod_autoscaler("api", "default")
    assert after.status.desired_replicas == 1
    assert after.spec.metrics[0].resource.target.average_utilization == 60


def test_discovery_and_openapi_list_both_versions(server) -> None:
    api, kubeconfig = server
    group = json.loads(kubectl(kubeconfig, "get", "--raw", "/apis/autoscaling"))
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    resources = json.loads(kubectl(kubeconfig, "get", "--raw", "/apis/autoscaling/v1"))
    assert {"horizontalpodautoscalers", "horizontalpodautoscalers/status"} <= {
        r["name"] for r in resources["resources"]}
    hashes = {json.loads(kubectl(kubeconfig, "get", "--raw", f"/apis/autoscaling/{v}"))[
        "resources"][0]["storageVersionHash"] for v in ("v1", "v2")}
    assert len(hashes) == 1  # both versions are one stored kind
    root = json.loads(kubectl(kubeconfig, "get", "--raw", "/openapi/v3"))
    assert "apis/autoscaling/v1" in root["paths"]
    explained = kubectl(kubeconfig, "explain", "hpa.spec", "--api-version=autoscaling/v1")
    assert "targetCPUUtilizationPercentage" in explained


def test_kubectl_autoscale_and_get(server) -> None:
    _, kubeconfig = server
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "front"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "front"}},
                           "template": {"metadata": {"labels": {"app": "front"}},
                                        "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "apply", "-f", "-"],
                   input=json.dumps(deployment), text=True, check=True, capture_output=True)
    kubectl(kubeconfig, "autoscale", "deployment", "front", "--cpu-percent=50", "--min=1",
            "--max=5")
    row = kubectl(kubeconfig, "get", "hpa", "front", "--no-headers").split()
    assert row[:2] == ["front", "Deployment/front"] and row[-4:-1] == ["1", "5", "0"]
    assert "cpu:" in row and "<unknown>/50%" in row
    v1_hpa = "horizontalpodautoscalers.v1.autoscaling"  # hpa.v1... is not how kubectl reads it
    as_v1 = json.loads(kubectl(kubeconfig, "get", v1_hpa, "front", "-o", "json"))
    assert as_v1["spec"]["targetCPUUtilizationPercentage"] == 50
    v1_row = kubectl(kubeconfig, "get", v1_hpa, "front", "--no-headers").split()
    assert v1_row[:5] == row[:5]


def test_watch_through_v1_serves_v1_objects(server) -> None:
    from kubernetes import watch

    api, _ = server
    v1 = client.AutoscalingV1Api(api)
    stream = watch.Watch().stream(v1.list_namespaced_horizontal_pod_autoscaler, "default",
                                  timeout_seconds=2)
    seen = [event["object"] for event in stream]
    assert seen and all(o.api_version == "autoscaling/v1" for o in seen)
    assert {o.metadata.name for o in seen} >= {"web", "api"}


def test_deleting_through_v1_marks_the_stored_object_as_is(server) -> None:
    api, _ = server
    v1 = client.AutoscalingV1Api(api)
    v2 = client.AutoscalingV2Api(api)
    v2.create_namespaced_horizontal_pod_autoscaler("default", {
        "metadata": {"name": "kept", "finalizers": ["example.com/hold"]},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 60}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {
                "type": "AverageValue", "averageValue": "1Gi"}}}]}})
    v1.delete_namespaced_horizontal_pod_autoscaler("kept", "default")
    marked = v2.read_namespaced_horizontal_pod_autoscaler("kept", "default")
    assert marked.metadata.deletion_timestamp is not None
    assert [m.resource.name for m in marked.spec.metrics] == ["cpu", "memory"]  # order kept
    v2.patch_namespaced_horizontal_pod_autoscaler("kept", "default",
                                                  {"metadata": {"finalizers": None}})
