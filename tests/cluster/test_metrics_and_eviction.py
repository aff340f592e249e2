"""In-process (httpx ASGI): ``metrics.k8s.io`` served from kubelet reports, and the eviction
subresource's PDB rules (k8s metrics-server storage, registry/core/pod/storage/eviction.go)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import httpx
import pytest

from shiplane.cluster.apiserver import ApiBackend, build_app
from shiplane.cluster.nodes.usage import (
    ContainerUsage,
    SimulatedUsage,
    load_shares,
    metrics_report,
)
from shiplane.cluster.store import MemoryObjectStore

PODS = "/api/v1/namespaces/default/pods"
PDBS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
METRICS = "/apis/metrics.k8s.io/v1beta1"
MERGE = {"content-type": "application/merge-patch+json"}
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(ApiBackend(MemoryObjectStore())))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


async def make_pod(api: httpx.AsyncClient, name: str, *, labels: dict | None = None,
                   ready: bool = True, annotations: dict | None = None) -> dict:
    created = await api.post(PODS, json={
        "metadata": {"name": name, "labels": labels or {"app": "e"},
                     "annotations": annotations or {}},
        "spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "n1"}})
    assert created.status_code == 201, created.text
    status = {"phase": "Running",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    patched = await api.patch(f"{PODS}/{name}/status", headers=MERGE,
                              content=json.dumps({"status": status}))
    return patched.json()


async def make_pdb(api: httpx.AsyncClient, name: str, spec: dict, status: dict | None) -> None:
    assert (await api.post(PDBS, json={"metadata": {"name": name}, "spec": spec})).status_code \
        == 201
    if status is not None:
        body = {"status": {"observedGeneration": 1, **status}}
        await api.patch(f"{PDBS}/{name}/status", headers=MERGE, content=json.dumps(body))


def eviction(name: str, **options) -> dict:
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
    if options:
        body["deleteOptions"] = options
    return body


def test_simulated_usage_and_report_shapes() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"a": "b"},
                        "annotations": {"sim.shiplane.dev/cpu-millicores": "120",
                                        "sim.shiplane.dev/memory-bytes.side": "2048"}},
           "spec": {"containers": [{"name": "main"}, {"name": "side"}]},
           "status": {"phase": "Running"}}
    assert SimulatedUsage().usage(pod) == {"main": ContainerUsage(120, 0),
                                           "side": ContainerUsage(120, 2048)}
    pending = {**pod, "metadata": {**pod["metadata"], "name": "q"}, "status": {"phase": "Pending"}}
    node = {"metadata": {"name": "n1", "labels": {"zone": "a"}}}
    report = metrics_report(node, [pod, pending], SimulatedUsage(), NOW)
    (item,) = report["pods"]  # only running pods are measured
    assert item["containers"] == [
        {"name": "main", "usage": {"cpu": "120000000n", "memory": "0Ki"}},
        {"name": "side", "usage": {"cpu": "120000000n", "memory": "2Ki"}}]
    assert item["timestamp"] == "2026-11-25T12:00:00Z" and item["window"] == "15s"
    # the node: system overhead (50m, 256Mi) plus its pods
    assert report["node"]["usage"] == {"cpu": "290000000n", "memory": "262146Ki"}


def test_load_model_shares_a_workloads_load_among_its_ready_pods() -> None:
    def owned(kind: str, name: str, uid: str, owner: tuple | None = None, load: str | None = None):
        meta: dict = {"name": name, "namespace": "ns", "uid": uid}
        if owner is not None:
            meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
        if load is not None:
            meta["annotations"] = {"sim.shiplane.dev/load-cpu-millicores": load}
        return {"kind": kind, "metadata": meta}

    objects = {("Deployment", "web"): owned("Deployment", "web", "d1", load="1000"),
               ("ReplicaSet", "web-1"): owned("ReplicaSet", "web-1", "r1", ("Deployment", "web")),
               ("StatefulSet", "db"): owned("StatefulSet", "db", "s1", load="-5"),
               ("ReplicaSet", "idle"): owned("ReplicaSet", "idle", "r2")}

    def pod(uid: str, owner: tuple, ready: bool = True, deleting: bool = False) -> dict:
        obj = owned("Pod", uid, uid, owner)
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
        if deleting:
            obj["metadata"]["deletionTimestamp"] = "2026-11-25T12:00:00Z"
        return obj

    pods = [pod("a", ("ReplicaSet", "web-1")), pod("b", ("ReplicaSet", "web-1")),
            pod("c", ("ReplicaSet", "web-1")), pod("d", ("ReplicaSet", "web-1"), ready=False),
            pod("e", ("ReplicaSet", "web-1"), deleting=True), pod("f", ("StatefulSet", "db")),
            pod("g", ("ReplicaSet", "idle")), pod("h", ("ReplicaSet", "missing"))]
    shares = load_shares(pods, lambda kind, ns, name: objects.get((kind, name)))
    assert shares == {"a": 334, "b": 333, "c": 333, "f": 0}
    usage = SimulatedUsage(lambda p: shares.get(p["metadata"]["uid"]))
    two = {"metadata": {"uid": "a"}, "spec": {"containers": [{"name": "x"}, {"name": "y"}]}}
    assert usage.usage(two) == {"x": ContainerUsage(334, 0), "y": ContainerUsage(0, 0)}
    # the pod's own annotation wins over the shared load
    own = {"metadata": {"uid": "a", "annotations": {"sim.shiplane.dev/cpu-millicores": "7"}},
           "spec": {"containers": [{"name": "x"}]}}
    assert usage.usage(own) == {"x": ContainerUsage(7, 0)}


async def test_metrics_api_serves_the_latest_report_of_existing_pods(
    api: httpx.AsyncClient,
) -> None:
    web = await make_pod(api, "web", labels={"app": "web"})
    await make_pod(api, "db", labels={"app": "db"})
    ghost = {"metadata": {"name": "ghost", "namespace": "default", "uid": "gone"},
             "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}}
    pods = [web, (await api.get(f"{PODS}/db")).json(), ghost]
    for pod in pods:
        pod["metadata"].setdefault("annotations", {})["sim.shiplane.dev/cpu-millicores"] = "30"
    node = {"metadata": {"name": "n1", "labels": {"zone": "a"}}}
    report = metrics_report(node, pods, SimulatedUsage(), NOW)
    assert (await api.put(f"{METRICS}/nodes/n1/report", json=report)).status_code == 200
    listing = (await api.get(f"{METRICS}/namespaces/default/pods")).json()
    assert listing["kind"] == "PodMetricsList"
    # a pod the API no longer has is not served
    assert [i["metadata"]["name"] for i in listing["items"]] == ["db", "web"]
    selected = (await api.get(f"{METRICS}/pods", params={"labelSelector": "app=web"})).json()
    assert [i["metadata"]["name"] for i in selected["items"]] == ["web"]
    one = (await api.get(f"{METRICS}/namespaces/default/pods/web")).json()
    assert one["kind"] == "PodMetrics" and "uid" not in one["metadata"]
    assert (await api.get(f"{METRICS}/namespaces/default/pods/ghost")).status_code == 404
    nodes = (await api.get(f"{METRICS}/nodes", params={"labelSelector": "zone=a"})).json()
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["n1"]
    assert (await api.get(f"{METRICS}/nodes/n1")).json()["usage"]["cpu"] == "140000000n"
    missing = await api.get(f"{METRICS}/nodes/n2")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'nodes.metrics.k8s.io "n2" not found'
    assert (await api.post(f"{METRICS}/nodes", json={})).status_code == 405
    bad = await api.put(f"{METRICS}/nodes/n1/report", json={"pods": []})
    assert bad.status_code == 400
    # the fleet's batch: one request for all its nodes
    other = metrics_report({"metadata": {"name": "n2"}}, [], SimulatedUsage(), NOW)
    batch = await api.put(f"{METRICS}/reports", json={"kind": "MetricsReportList",
                                                      "items": [report, other]})
    assert batch.status_code == 200
    names = [n["metadata"]["name"] for n in (await api.get(f"{METRICS}/nodes")).json()["items"]]
    assert names == ["n1", "n2"]
    assert (await api.put(f"{METRICS}/reports", json={"items": [{"pods": []}]})).status_code \
        == 400
    assert (await api.put(f"{METRICS}/nodes/n2/report",
                          json={**other, "ttlSeconds": -1})).status_code == 200
    # an expired report (a node that stopped reporting) disappears
    assert (await api.put(f"{METRICS}/nodes/n1/report",
                          json={**report, "ttlSeconds": -1})).status_code == 200
    assert (await api.get(f"{METRICS}/nodes")).json()["items"] == []
    assert (await api.get(f"{METRICS}/pods")).json()["items"] == []
    groups = {g["name"]: g for g in (await api.get("/apis")).json()["groups"]}
    assert groups["metrics.k8s.io"]["preferredVersion"]["version"] == "v1beta1"


async def test_eviction_of_an_unready_pod_spares_a_healthy_budget(api: httpx.AsyncClient) -> None:
    await make_pod(api, "sick", ready=False)
    await make_pod(api, "fine")
    await make_pdb(api, "pdb", {"minAvailable": 1, "selector": {"matchLabels": {"app": "e"}}},
                   {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1,
                    "expectedPods": 2})
    # IfHealthyBudget: the budget is met without the unready pod, so it goes without spending it
    evicted = await api.post(f"{PODS}/sick/eviction", json=eviction("sick"))
    assert evicted.status_code == 201
    assert (await api.get(f"{PODS}/sick")).json()["metadata"]["deletionTimestamp"]
    assert "disruptedPods" not in (await api.get(f"{PDBS}/pdb")).json()["status"]
    blocked = await api.post(f"{PODS}/fine/eviction", json=eviction("fine"))
    assert blocked.status_code == 429
    assert blocked.json()["reason"] == "TooManyRequests"
    assert blocked.json()["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget pdb needs 1 healthy pods and has 1 currently"}]


async def test_eviction_honours_delete_options_and_refuses_two_budgets(
    api: httpx.AsyncClient,
) -> None:
    await make_pod(api, "p1", labels={"app": "e", "tier": "web"})
    await make_pod(api, "p2", labels={"app": "e", "tier": "web"})
    await make_pdb(api, "by-app", {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "e"}}},
                   {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1,
                    "expectedPods": 2})
    allowed = await api.post(f"{PODS}/p1/eviction", json=eviction("p1", gracePeriodSeconds=0))
    assert allowed.status_code == 201
    assert (await api.get(f"{PODS}/p1")).status_code == 404  # grace 0: gone at once
    status = (await api.get(f"{PDBS}/by-app")).json()["status"]
    assert status["disruptionsAllowed"] == 0 and set(status["disruptedPods"]) == {"p1"}
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    await make_pdb(api, "by-tier", {"minAvailable": 0,
                                    "selector": {"matchLabels": {"tier": "web"}}}, None)
    two = await api.post(f"{PODS}/p2/eviction", json=eviction("p2"))
    assert two.status_code == 500
    assert two.json()["message"] == (
        "Internal error occurred: This pod has more than one PodDisruptionBudget, "
        "which the eviction subresource does not support.")
    # a budget with an empty selector selects nothing for evictions
    await make_pod(api, "lone", labels={"app": "other"})
    await make_pdb(api, "empty", {"minAvailable": 5, "selector": {}},
                   {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 5})
    assert (await api.post(f"{PODS}/lone/eviction", json=eviction("lone"))).status_code == 201
    # older clients send policy/v1beta1 Evictions: same rules
    await make_pod(api, "old", labels={"app": "other"})
    legacy = {**eviction("old"), "apiVersion": "policy/v1beta1"}
    assert (await api.post(f"{PODS}/old/eviction", json=legacy)).status_code == 201
