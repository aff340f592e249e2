"""Resource metrics and the HorizontalPodAutoscaler on the embedded cluster, with real kubectl
(``kubectl top``; k8s podautoscaler/horizontal.go, replica_calculator.go; metrics-server)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

KUBECTL = str(Path(sys.executable).with_name("kubectl"))
TIME_SCALE = 40
CPU = "sim.shiplane.dev/cpu-millicores"


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, time_scale=TIME_SCALE) as c:
        yield c


def kubectl(cluster: EmbeddedCluster, *args: str, input: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), *args], input=input,
                          text=True, capture_output=True, timeout=60)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def get(cluster: EmbeddedCluster, *args: str) -> dict:
    return json.loads(ok(kubectl(cluster, "get", *args, "-o", "json")))


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def deploy(cluster: EmbeddedCluster, registry: EmbeddedRegistry, name: str, replicas: int,
           annotations: dict | None = None) -> None:
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                "spec": {"containers": [{
                    "name": "web", "image": f"{registry.host}/web:1.0",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]},
            },
        },
    }
    ok(kubectl(cluster, "apply", "--validate=false", "-f", "-", input=json.dumps(body)))
    wait_for(f"{name} available", lambda: (get(cluster, "deployment", name).get("status") or {})
             .get("availableReplicas") == replicas)


def replicas(cluster: EmbeddedCluster, name: str) -> int:
    return get(cluster, "deployment", name)["spec"]["replicas"]


def test_kubectl_top_shows_the_usage_pods_declare(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "topped", 2,
           {CPU: "250", "sim.shiplane.dev/memory-bytes": str(96 * 1024 * 1024)})

    def top_pods() -> str | None:
        result = kubectl(cluster, "top", "pod", "-l", "app=topped", "--no-headers")
        return result.stdout if result.returncode == 0 and result.stdout.count("\n") == 2 else None

    lines = wait_for("pod metrics", top_pods).strip().split("\n")
    assert sorted(line.split()[1:] for line in lines) == [["250m", "96Mi"], ["250m", "96Mi"]]
    nodes = wait_for("node metrics", lambda: (r := kubectl(cluster, "top", "node", "--no-headers"))
                     .returncode == 0 and r.stdout)
    rows = [line.split() for line in nodes.strip().split("\n")]
    assert len(rows) == 3
    # every node reports its system overhead (50m) plus its pods' usage
    assert sorted(int(row[1].rstrip("m")) for row in rows) in (
        [50, 300, 300], [50, 50, 550])
    metrics = json.loads(ok(kubectl(cluster, "get", "--raw",
                                    "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")))
    assert metrics["kind"] == "PodMetricsList"
    item = metrics["items"][0]
    assert item["containers"][0]["usage"] == {"cpu": "250000000n", "memory": "98304Ki"}
    assert item["window"] == "15s" and item["metadata"]["labels"]["app"] == "topped"


def test_a_deployments_load_is_shared_by_its_ready_pods(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "shared", 2)
    ok(kubectl(cluster, "annotate", "deployment", "shared",
               "sim.shiplane.dev/load-cpu-millicores=300"))

    def cpu_per_pod() -> list[str] | None:
        result = kubectl(cluster, "top", "pod", "-l", "app=shared", "--no-headers")
        return sorted(line.split()[1] for line in result.stdout.strip().split("\n")) \
            if result.returncode == 0 and result.stdout.strip() else None

    wait_for("150m each", lambda: cpu_per_pod() == ["150m", "150m"])
    ok(kubectl(cluster, "scale", "deployment/shared", "--replicas=3"))
    wait_for("100m each", lambda: cpu_per_pod() == ["100m", "100m", "100m"])
    ok(kubectl(cluster, "delete", "deployment", "shared"))


def test_hpa_scales_up_under_load_and_down_after_the_stabilisation_window(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "api", 1)
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": 1, "maxReplicas": 6,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
        },
    }
    ok(kubectl(cluster, "apply", "--validate=false", "-f", "-", input=json.dumps(hpa)))
    # idle (0% of the 100m request): the HPA is active and keeps the minimum
    # (a metric that failed has an empty {"type": ""} entry, as upstream writes it)
    status = wait_for("hpa active", lambda: (s := get(cluster, "hpa", "api").get("status") or {})
                      .get("currentMetrics", [{}])[0].get("type") == "Resource" and s)
    assert status["desiredReplicas"] == 1
    assert any(c["type"] == "ScalingActive" and c["status"] == "True"
               and c["reason"] == "ValidMetricFound" for c in status["conditions"])
    # load: 200m on a 100m request = 200% against a 50% target → ceil(1 × 4) = 4 replicas
    ok(kubectl(cluster, "annotate", "pods", "-l", "app=api", f"{CPU}=200", "--overwrite"))
    wait_for("scale up", lambda: replicas(cluster, "api") == 4)
    status = get(cluster, "hpa", "api")["status"]
    assert status["desiredReplicas"] == 4 and status["lastScaleTime"]
    events = get(cluster, "events", "--field-selector", "involvedObject.name=api,"
                 "involvedObject.kind=HorizontalPodAutoscaler")["items"]
    assert "New size: 4; reason: cpu resource utilization (percentage of request) above target" \
        in [e["message"] for e in events if e["reason"] == "SuccessfulRescale"]
    wait_for("4 available", lambda: get(cluster, "deployment", "api")["status"]
             .get("availableReplicas") == 4)
    # load gone: the recommendation drops to 1 at once, but the 300 s scale-down stabilisation
    # window holds 4 replicas (300 cluster seconds = 7.5 s here)
    dropped = time.monotonic()
    ok(kubectl(cluster, "annotate", "pods", "-l", "app=api", f"{CPU}=5", "--overwrite"))
    wait_for("stabilised", lambda: any(
        c["reason"] == "ScaleDownStabilized"
        for c in (get(cluster, "hpa", "api").get("status") or {}).get("conditions") or []))
    while time.monotonic() - dropped < 200 / TIME_SCALE:
        assert replicas(cluster, "api") == 4
        time.sleep(0.3)
    wait_for("scale down", lambda: replicas(cluster, "api") == 1)
    assert time.monotonic() - dropped >= 280 / TIME_SCALE
    events = get(cluster, "events", "--field-selector", "involvedObject.name=api,"
                 "involvedObject.kind=HorizontalPodAutoscaler")["items"]
    assert "New size: 1; reason: All metrics below target" in [e["message"] for e in events]
    # kubectl get hpa: TARGETS from status.currentMetrics (5m of a 100m request)
    row = wait_for("targets", lambda: (r := ok(kubectl(cluster, "get", "hpa", "api",
                                                      "--no-headers")).split())[3:7]
                   == ["5%/50%", "1", "6", "1"] and r)
    assert row[:3] == ["api", "Deployment/api", "cpu:"]
    current = get(cluster, "hpa", "api")["status"]["currentMetrics"]
    assert current == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 5, "averageValue": "5m"}}}]


def test_container_resource_metric_scales_on_one_containers_usage(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    # replica_calculator.go GetResourceReplicas with a container: only "web" counts
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sided"},
        "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "sided"}},
            "template": {
                "metadata": {"labels": {"app": "sided"}, "annotations": {f"{CPU}.web": "150"}},
                "spec": {"containers": [
                    {"name": "web", "image": f"{registry.host}/web:1.0",
                     "resources": {"requests": {"cpu": "100m"}}},
                    {"name": "sidecar", "image": f"{registry.host}/web:1.0",
                     "resources": {"requests": {"cpu": "100m"}}}]},
            },
        },
    }
    ok(kubectl(cluster, "apply", "--validate=false", "-f", "-", input=json.dumps(body)))
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "sided"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sided"},
            "minReplicas": 1, "maxReplicas": 3,
            "metrics": [{"type": "ContainerResource", "containerResource": {
                "name": "cpu", "container": "web",
                "target": {"type": "Utilization", "averageUtilization": 50}}}],
        },
    }
    ok(kubectl(cluster, "apply", "--validate=false", "-f", "-", input=json.dumps(hpa)))
    # web at 150% of its request against 50%: ceil(1 × 3) = 3 (the whole pod is only at 75%)
    wait_for("scale up", lambda: replicas(cluster, "sided") == 3, timeout=120)
    current = wait_for("container status", lambda: [
        m for m in (get(cluster, "hpa", "sided").get("status") or {}).get("currentMetrics") or []
        if m.get("type") == "ContainerResource"])
    assert current[0]["containerResource"]["container"] == "web"
    assert current[0]["containerResource"]["current"]["averageUtilization"] == 150
    events = get(cluster, "events", "--field-selector", "involvedObject.name=sided,"
                 "involvedObject.kind=HorizontalPodAutoscaler")["items"]
    assert any(e["message"].startswith("New size: 3; reason: cpu container resource "
                                       "utilization (percentage of request) above target")
               for e in events)
    ok(kubectl(cluster, "delete", "hpa", "sided"))
    ok(kubectl(cluster, "delete", "deployment", "sided"))


def test_pods_metric_without_a_custom_metrics_api_reports_and_does_not_scale(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "custom", 2)
    body = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "custom"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "custom"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                "type": "AverageValue", "averageValue": "10"}}}],
        },
    }
    ok(kubectl(cluster, "apply", "--validate=false", "-f", "-", input=json.dumps(body)))
    message = ("unable to get metric rps: unable to fetch metrics from custom metrics API: "
               "no custom metrics API (custom.metrics.k8s.io) registered")

    def condition() -> dict | None:
        conditions = (get(cluster, "hpa", "custom").get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "ScalingActive"), None)

    active = wait_for("condition", condition)
    assert (active["status"], active["reason"]) == ("False", "FailedGetPodsMetric")
    assert active["message"] == f"the HPA was unable to compute the replica count: {message}"
    events = wait_for("events", lambda: get(
        cluster, "events", "--field-selector",
        "involvedObject.name=custom,involvedObject.kind=HorizontalPodAutoscaler")["items"])
    reasons = {e["reason"]: e for e in events}
    assert reasons["FailedGetPodsMetric"]["type"] == "Warning"
    assert reasons["FailedGetPodsMetric"]["message"] == message
    assert replicas(cluster, "custom") == 2
    # the same object read as autoscaling/v1: conditions and the Pods metric in annotations
    as_v1 = get(cluster, "horizontalpodautoscalers.v1.autoscaling", "custom")
    notes = as_v1["metadata"]["annotations"]
    assert json.loads(notes["autoscaling.alpha.kubernetes.io/metrics"]) == [
        {"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10"}}]
    assert "FailedGetPodsMetric" in notes["autoscaling.alpha.kubernetes.io/conditions"]
    assert "targetCPUUtilizationPercentage" not in as_v1["spec"]
    row = ok(kubectl(cluster, "get", "hpa", "custom", "--no-headers")).split()
    assert row[2] == "<unknown>/10"
    ok(kubectl(cluster, "delete", "hpa", "custom"))
    ok(kubectl(cluster, "delete", "deployment", "custom"))


def test_kubectl_autoscale_creates_an_hpa_the_controller_runs_and_v1_reads(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "auto", 1, {CPU: "80"})
    ok(kubectl(cluster, "autoscale", "deployment", "auto", "--cpu-percent=50", "--min=1",
               "--max=5"))
    # 80m of a 100m request = 80% against 50%: ceil(1 × 1.6) = 2 (and on, as new pods run hot)
    wait_for("scale up", lambda: replicas(cluster, "auto") >= 2, timeout=120)
    as_v1 = wait_for("v1 status", lambda: (h := get(
        cluster, "horizontalpodautoscalers.v1.autoscaling", "auto"))["status"].get(
        "currentCPUUtilizationPercentage") is not None and h)
    assert as_v1["apiVersion"] == "autoscaling/v1"
    assert as_v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert as_v1["spec"]["minReplicas"] == 1 and as_v1["spec"]["maxReplicas"] == 5
    assert as_v1["status"]["currentCPUUtilizationPercentage"] > 50
    ok(kubectl(cluster, "delete", "hpa", "auto"))
    ok(kubectl(cluster, "delete", "deployment", "auto"))
