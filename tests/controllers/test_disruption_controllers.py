"""Disruptions on the embedded cluster with real kubectl: PodDisruptionBudget status, eviction,
``kubectl cordon/uncordon/drain`` held back by a PDB, and a node failure healed by taint
eviction (k8s disruption.go, eviction.go, node_lifecycle_controller.go, taint_eviction.go)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shiplane.cluster.nodes import set_node_failed
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

KUBECTL = str(Path(sys.executable).with_name("kubectl"))
TIME_SCALE = 40


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, time_scale=TIME_SCALE) as c:
        yield c


def kubectl(cluster: EmbeddedCluster, *args: str, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), *args], input=input,
                          text=True, capture_output=True, timeout=timeout)


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
           pdb: dict | None = None, ready_after: int = 0) -> None:
    container: dict = {"name": "web", "image": f"{registry.host}/web:1.0"}
    if ready_after:  # cluster seconds before a new pod is Ready
        container["readinessProbe"] = {"httpGet": {"path": "/", "port": 8080},
                                       "initialDelaySeconds": ready_after, "periodSeconds": 5}
    items: list[dict] = [{
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container]}},
        },
    }]
    if pdb is not None:
        items.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                      "metadata": {"name": name},
                      "spec": {**pdb, "selector": {"matchLabels": {"app": name}}}})
    ok(kubectl(cluster, "apply", "--validate=false", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                               "items": items})))
    wait_for(f"{name} available", lambda: (get(cluster, "deployment", name).get("status") or {})
             .get("availableReplicas") == replicas)


def pods_of(cluster: EmbeddedCluster, name: str) -> list[dict]:
    return get(cluster, "pods", "-l", f"app={name}")["items"]


def pdb_status(cluster: EmbeddedCluster, name: str) -> dict:
    return get(cluster, "pdb", name).get("status") or {}


def test_pdb_status_counts_healthy_pods_and_allowed_disruptions(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "counted", 3, {"minAvailable": 2}, ready_after=120)
    deploy(cluster, registry, "percent", 4, {"maxUnavailable": "50%"})
    status = wait_for("counted PDB status", lambda: (s := pdb_status(cluster, "counted"))
                      .get("currentHealthy") == 3 and s)
    assert status["desiredHealthy"] == 2 and status["expectedPods"] == 3
    assert status["disruptionsAllowed"] == 1 and status["observedGeneration"] == 1
    (condition,) = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "DisruptionAllowed", "True", "SufficientPods")
    # maxUnavailable 50% of the Deployment's 4 replicas: 2 must stay healthy
    status = wait_for("percent PDB status", lambda: (s := pdb_status(cluster, "percent"))
                      .get("currentHealthy") == 4 and s)
    assert (status["desiredHealthy"], status["expectedPods"], status["disruptionsAllowed"]) == (
        2, 4, 2)
    # kubectl get pdb prints the same numbers
    table = ok(kubectl(cluster, "get", "pdb", "counted"))
    assert table.split("\n")[1].split()[:4] == ["counted", "2", "N/A", "1"]
    # an eviction spends the budget: the next one is refused with 429 and the upstream cause
    victim, other, _ = (p["metadata"]["name"] for p in pods_of(cluster, "counted"))
    created = cluster.client().request(
        "POST", f"/api/v1/namespaces/default/pods/{victim}/eviction",
        body={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": victim},
              "deleteOptions": {"gracePeriodSeconds": 0}})
    assert created.status_code == 201
    assert pdb_status(cluster, "counted")["disruptionsAllowed"] == 0
    wait_for("victim gone", lambda: pdb_status(cluster, "counted").get("currentHealthy") == 2)
    from shiplane.kube.errors import ApiError
    with pytest.raises(ApiError) as blocked:
        cluster.client().request("POST", f"/api/v1/namespaces/default/pods/{other}/eviction",
                                 body={"apiVersion": "policy/v1", "kind": "Eviction",
                                       "metadata": {"name": other}})
    assert blocked.value.code == 429
    assert str(blocked.value) == "Cannot evict pod as it would violate the pod's disruption budget."
    assert blocked.value.status["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget counted needs 2 healthy pods and has 2 currently"}]
    # the ReplicaSet replaces the evicted pod; once Ready the budget allows one again
    status = wait_for("budget restored", lambda: (s := pdb_status(cluster, "counted"))
                      .get("disruptionsAllowed") == 1 and s)
    assert status["currentHealthy"] == 3 and "disruptedPods" not in status
    # (the next tests drain nodes: leave no pods behind)
    ok(kubectl(cluster, "delete", "deployment,pdb", "counted", "percent", "--wait=false"))
    wait_for("cleaned up", lambda: not get(cluster, "pods", "-l", "app in (counted,percent)")
             ["items"])


def test_drain_waits_for_the_budget_until_a_replacement_is_ready(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "drained", 2, {"minAvailable": 2})
    wait_for("budget observed", lambda: pdb_status(cluster, "drained").get("currentHealthy") == 2)
    assert pdb_status(cluster, "drained")["disruptionsAllowed"] == 0
    node = pods_of(cluster, "drained")[0]["spec"]["nodeName"]
    drain = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "drain", node, "--ignore-daemonsets",
         "--delete-emptydir-data", "--timeout=120s"],
        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # cordoned at once; the eviction is refused (429) and kubectl retries every 5 s
        wait_for("cordon", lambda: get(cluster, "node", node)["spec"].get("unschedulable"))
        time.sleep(3)
        assert drain.poll() is None, drain.communicate()[0]
        assert all(p["spec"]["nodeName"] != node or not p["metadata"].get("deletionTimestamp")
                   for p in pods_of(cluster, "drained"))
        # one more replica, scheduled elsewhere (the node is cordoned); once it is Ready the
        # budget allows an eviction and the drain completes
        ok(kubectl(cluster, "scale", "deployment/drained", "--replicas=3"))
        output, _ = drain.communicate(timeout=90)
    finally:
        if drain.poll() is None:
            drain.kill()
            print(drain.communicate()[0])
    assert drain.returncode == 0, output
    assert "Cannot evict pod as it would violate the pod's disruption budget." in output
    assert f"node/{node} drained" in output
    wait_for("pods moved", lambda: all(
        p["spec"]["nodeName"] != node for p in pods_of(cluster, "drained")))
    ok(kubectl(cluster, "uncordon", node))
    assert not get(cluster, "node", node)["spec"].get("unschedulable")


def test_failed_node_goes_unknown_and_its_pods_are_rescheduled(
    cluster: EmbeddedCluster, registry: EmbeddedRegistry
) -> None:
    deploy(cluster, registry, "healed", 3)
    node = pods_of(cluster, "healed")[0]["spec"]["nodeName"]
    on_node = {p["metadata"]["name"] for p in pods_of(cluster, "healed")
               if p["spec"]["nodeName"] == node}
    with cluster.client() as client:
        set_node_failed(client, node, True)

    def unknown() -> dict | None:
        ready = next(c for c in get(cluster, "node", node)["status"]["conditions"]
                     if c["type"] == "Ready")
        return ready if ready["status"] == "Unknown" else None

    ready = wait_for("Ready=Unknown", unknown)
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    taints = get(cluster, "node", node)["spec"]["taints"]
    assert {(t["key"], t["effect"]) for t in taints} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute")}
    # the pods there stop being Ready at once, and are evicted after their 300 s toleration
    for pod in pods_of(cluster, "healed"):
        if pod["metadata"]["name"] in on_node:
            assert any(c["type"] == "Ready" and c["status"] == "False"
                       for c in pod["status"]["conditions"])
            assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                    "effect": "NoExecute", "tolerationSeconds": 300} in pod["spec"]["tolerations"]
    try:
        wait_for("healed elsewhere", lambda: sum(
            1 for p in pods_of(cluster, "healed")
            if p["spec"].get("nodeName") not in (None, node) and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions") or [])) >= 3)
    except AssertionError:
        print(ok(kubectl(cluster, "get", "pods,nodes", "-o", "wide")))
        print(ok(kubectl(cluster, "get", "nodes", "-o", "yaml")))
        print(ok(kubectl(cluster, "get", "pods", "-l", "app=healed", "-o", "yaml")))
        raise
    evicted = [p for p in pods_of(cluster, "healed") if p["metadata"]["name"] in on_node]
    # a pod on an unreachable node stays Terminating (its kubelet cannot confirm)
    assert evicted and all(p["metadata"].get("deletionTimestamp") for p in evicted)
    assert all(any(c["type"] == "DisruptionTarget" and c["reason"] == "DeletionByTaintManager"
                   for c in p["status"]["conditions"]) for p in evicted)
    with cluster.client() as client:
        set_node_failed(client, node, False)
    wait_for("taints removed", lambda: not get(cluster, "node", node)["spec"].get("taints"))
    wait_for("terminated", lambda: not any(p["metadata"]["name"] in on_node
                                           for p in pods_of(cluster, "healed")))
    assert get(cluster, "deployment", "healed")["status"]["availableReplicas"] == 3
