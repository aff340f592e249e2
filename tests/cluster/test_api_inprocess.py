"""The HTTP API in-process (httpx ASGI transport): verbs, errors, subresources, watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from shiplane.cluster.apiserver import ApiBackend, build_app
from shiplane.cluster.store import MemoryObjectStore

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
SMP = {"content-type": "application/strategic-merge-patch+json"}
MERGE = {"content-type": "application/merge-patch+json"}


def deployment(name: str = "web", app: str = "web", **meta) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, **meta},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
            },
        },
    }


@pytest.fixture
def backend() -> ApiBackend:
    return ApiBackend(MemoryObjectStore(watch_window=50))


@pytest.fixture
async def api(backend: ApiBackend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_discovery(api: httpx.AsyncClient) -> None:
    assert (await api.get("/version")).json()["major"] == "1"
    assert (await api.get("/api")).json()["versions"] == ["v1"]
    groups = {g["name"] for g in (await api.get("/apis")).json()["groups"]}
    assert {
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "discovery.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
    } <= groups
    resources = (await api.get("/apis/apps/v1")).json()["resources"]
    deploy = next(r for r in resources if r["name"] == "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    assert any(r["name"] == "deployments/scale" and r["kind"] == "Scale" for r in resources)
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    aggregated = await api.get("/apis", headers={"accept": accept})
    assert aggregated.headers["content-type"].startswith(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    apps = next(i for i in aggregated.json()["items"] if i["metadata"]["name"] == "apps")
    entry = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert {s["subresource"] for s in entry["subresources"]} == {"status", "scale"}
    core = (await api.get("/api", headers={"accept": accept})).json()
    names = {r["resource"]: r for r in core["items"][0]["versions"][0]["resources"]}
    assert names["pods"]["shortNames"] == ["po"] and names["nodes"]["scope"] == "Cluster"
    assert (await api.get("/openapi/v2")).json()["swagger"] == "2.0"  # part 2 serves OpenAPI


async def test_bootstrap_namespaces_and_kubernetes_service(api: httpx.AsyncClient) -> None:
    names = [n["metadata"]["name"] for n in (await api.get("/api/v1/namespaces")).json()["items"]]
    assert {"default", "kube-system", "kube-public"} <= set(names)
    svc = (await api.get("/api/v1/namespaces/default/services/kubernetes")).json()
    assert svc["spec"]["clusterIP"] == "10.96.0.1"


async def test_create_get_update_and_conflict(api: httpx.AsyncClient) -> None:
    created = await api.post(DEPLOYMENTS, json=deployment())
    assert created.status_code == 201
    obj = created.json()
    assert obj["metadata"]["generation"] == 1 and obj["metadata"]["uid"]
    assert obj["spec"]["replicas"] == 1
    again = await api.post(DEPLOYMENTS, json=deployment())
    assert again.status_code == 409 and again.json()["reason"] == "AlreadyExists"
    assert again.json()["message"] == 'deployments.apps "web" already exists'
    obj["spec"]["replicas"] = 3
    updated = await api.put(f"{DEPLOYMENTS}/web", json=obj)
    assert updated.status_code == 200 and updated.json()["metadata"]["generation"] == 2
    stale = await api.put(f"{DEPLOYMENTS}/web", json=obj)
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    assert stale.json()["message"] == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    missing = await api.get(f"{DEPLOYMENTS}/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "nope", "kind": "deployments", "group": "apps"},
    }


async def test_bad_requests_leave_the_store_untouched(
    api: httpx.AsyncClient, backend: ApiBackend
) -> None:
    await api.post(DEPLOYMENTS, json=deployment())
    before = backend.store.resource_version
    invalid = await api.post(
        DEPLOYMENTS,
        json=deployment("x", app="a")
        | {"spec": deployment("x", app="a")["spec"] | {"selector": {"matchLabels": {"app": "b"}}}},
    )
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["reason"] == "Invalid" and body["details"]["causes"][0] == {
        "reason": "FieldValueInvalid",
        "field": "spec.template.metadata.labels",
        "message": 'Invalid value: map[string]string{"app":"a"}: `selector` does not match '
        "template `labels`",
    }
    cases = [
        (
            api.post(
                DEPLOYMENTS, content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
        ),
        (api.post(DEPLOYMENTS, content=b"a: [", headers={"content-type": "application/yaml"}), 400),
        (api.post(DEPLOYMENTS, json=deployment() | {"apiVersion": "apps/v9"}), 400),
        (api.post(DEPLOYMENTS, json=deployment() | {"kind": "Frob"}), 400),
        (api.post(DEPLOYMENTS, json=deployment(namespace="other")), 400),
        (api.post("/apis/apps/v1/namespaces/ghost/deployments", json=deployment()), 404),
        (api.post("/api/v1/namespaces/default/frobs", json={}), 404),
        (api.post(f"{DEPLOYMENTS}/web", json=deployment()), 405),
        (
            api.post(
                CONFIGMAPS,
                content=b"x" * (3 * 1024 * 1024 + 1),
                headers={"content-type": "application/json"},
            ),
            413,
        ),
        (
            api.patch(f"{DEPLOYMENTS}/web", content=b"{}", headers={"content-type": "text/plain"}),
            415,
        ),
        (
            api.patch(
                f"{DEPLOYMENTS}/web",
                content=b"{}",
                headers={"content-type": "application/apply-patch+yaml"},
            ),
            422,  # part 2 serves apply patches; without fieldManager they are invalid
        ),
        (
            api.patch(
                f"{DEPLOYMENTS}/web",
                headers=SMP,
                content=json.dumps({"spec": {"template": {"metadata": {"labels": {"app": "z"}}}}}),
            ),
            422,
        ),
        (
            api.patch(
                f"{DEPLOYMENTS}/web",
                headers={"content-type": "application/json-patch+json"},
                content=json.dumps([{"op": "test", "path": "/spec/replicas", "value": 7}]),
            ),
            422,
        ),
        (
            api.post(
                CONFIGMAPS,
                json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}},
            ),
            422,
        ),
    ]
    for call, code in cases:
        response = await call
        assert response.status_code == code, response.text
        assert response.json()["kind"] == "Status" and response.json()["code"] == code
    assert backend.store.resource_version == before
    too_large = await api.post(
        CONFIGMAPS,
        content=b"x" * (3 * 1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert too_large.json()["message"] == "Request entity too large: limit is 3145728"


async def test_list_selectors_paging_and_expired_continue(
    api: httpx.AsyncClient, backend: ApiBackend
) -> None:
    for i in range(7):
        labels = {"app": "web" if i % 2 else "db", "i": str(i)}
        await api.post(CONFIGMAPS, json={"metadata": {"name": f"c{i}", "labels": labels}})
    web = (await api.get(CONFIGMAPS, params={"labelSelector": "app in (web),i!=3"})).json()
    assert [c["metadata"]["name"] for c in web["items"]] == ["c1", "c5"]
    assert web["kind"] == "ConfigMapList"
    by_name = (await api.get(CONFIGMAPS, params={"fieldSelector": "metadata.name=c4"})).json()
    assert [c["metadata"]["name"] for c in by_name["items"]] == ["c4"]
    names, token, pages = [], None, 0
    while True:
        params = {"limit": "3"} | ({"continue": token} if token else {})
        page = (await api.get(CONFIGMAPS, params=params)).json()
        names += [c["metadata"]["name"] for c in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == [f"c{i}" for i in range(7)] and pages == 3
    first = (await api.get(CONFIGMAPS, params={"limit": "2"})).json()["metadata"]["continue"]
    for i in range(80):  # push the first page's version out of the retained window
        await api.patch(
            f"{CONFIGMAPS}/c0", headers=MERGE, content=json.dumps({"data": {"n": str(i)}})
        )
    expired = await api.get(CONFIGMAPS, params={"limit": "2", "continue": first})
    assert expired.status_code == 410 and expired.json()["reason"] == "Expired"


async def test_table_output(api: httpx.AsyncClient) -> None:
    await api.post(DEPLOYMENTS, json=deployment())
    accept = {"accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    table = (await api.get(DEPLOYMENTS, headers=accept)).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    row = table["rows"][0]
    assert row["cells"][:4] == ["web", "0/1", 0, 0]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    full = (
        await api.get(f"{DEPLOYMENTS}/web", headers=accept, params={"includeObject": "Object"})
    ).json()
    assert full["rows"][0]["object"]["spec"]["replicas"] == 1
    leases = (await api.get("/apis/coordination.k8s.io/v1/leases", headers=accept)).json()
    assert [c["name"] for c in leases["columnDefinitions"]] == ["Name", "Holder", "Age"]
    endpoints = (await api.get("/apis/discovery.k8s.io/v1/endpointslices", headers=accept)).json()
    assert [c["name"] for c in endpoints["columnDefinitions"]] == ["Name", "Created At"]


async def test_status_and_scale_subresources(api: httpx.AsyncClient) -> None:
    created = (await api.post(DEPLOYMENTS, json=deployment())).json()
    created["status"] = {"replicas": 5}
    created["metadata"]["labels"] = {"a": "b"}
    put = (await api.put(f"{DEPLOYMENTS}/web", json=created)).json()
    assert put.get("status", {}) == {} and put["metadata"]["labels"] == {"a": "b"}
    status = await api.patch(
        f"{DEPLOYMENTS}/web/status",
        headers=MERGE,
        content=json.dumps({"status": {"readyReplicas": 1}, "spec": {"replicas": 9}}),
    )
    assert status.json()["status"] == {"readyReplicas": 1}
    assert status.json()["spec"]["replicas"] == 1
    assert status.json()["metadata"]["generation"] == 1
    scale = (await api.get(f"{DEPLOYMENTS}/web/scale")).json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    assert scale["status"]["selector"] == "app=web"
    scaled = await api.patch(
        f"{DEPLOYMENTS}/web/scale", headers=MERGE, content=json.dumps({"spec": {"replicas": 4}})
    )
    assert scaled.json()["spec"]["replicas"] == 4
    assert (await api.get(f"{DEPLOYMENTS}/web")).json()["metadata"]["generation"] == 2
    negative = await api.put(f"{DEPLOYMENTS}/web/scale", json={"spec": {"replicas": -1}})
    assert negative.status_code == 422


async def test_finalizers_foreground_preconditions_and_dry_run(api: httpx.AsyncClient) -> None:
    await api.post(CONFIGMAPS, json={"metadata": {"name": "f", "finalizers": ["example.com/x"]}})
    marked = await api.delete(f"{CONFIGMAPS}/f")
    assert marked.status_code == 200 and marked.json()["metadata"]["deletionTimestamp"]
    assert (await api.get(f"{CONFIGMAPS}/f")).status_code == 200
    await api.patch(
        f"{CONFIGMAPS}/f", headers=MERGE, content=json.dumps({"metadata": {"finalizers": None}})
    )
    assert (await api.get(f"{CONFIGMAPS}/f")).status_code == 404
    await api.post(DEPLOYMENTS, json=deployment())
    wrong = await api.request(
        "DELETE", f"{DEPLOYMENTS}/web", json={"preconditions": {"uid": "nope"}}
    )
    assert (
        wrong.status_code == 409
        and "Precondition failed: UID in precondition: nope" in (wrong.json()["message"])
    )
    foreground = await api.delete(f"{DEPLOYMENTS}/web", params={"propagationPolicy": "Foreground"})
    assert foreground.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
    dry = await api.post(CONFIGMAPS, params={"dryRun": "All"}, json={"metadata": {"name": "dry"}})
    assert dry.status_code == 201 and dry.json()["metadata"]["name"] == "dry"
    assert (await api.get(f"{CONFIGMAPS}/dry")).status_code == 404
    live = (
        await api.post(CONFIGMAPS, json={"metadata": {"name": "live"}, "data": {"a": "1"}})
    ).json()
    dry_patch = await api.patch(
        f"{CONFIGMAPS}/live",
        params={"dryRun": "All"},
        headers=MERGE,
        content=json.dumps({"data": {"a": "2"}}),
    )
    assert dry_patch.json()["data"] == {"a": "2"}
    assert dry_patch.json()["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    assert (await api.get(f"{CONFIGMAPS}/live")).json()["data"] == {"a": "1"}
    dry_delete = await api.delete(f"{CONFIGMAPS}/live", params={"dryRun": "All"})
    assert dry_delete.status_code == 200
    assert (await api.get(f"{CONFIGMAPS}/live")).status_code == 200


async def test_generate_name_services_pods_and_collections(api: httpx.AsyncClient) -> None:
    generated = (await api.post(CONFIGMAPS, json={"metadata": {"generateName": "job-"}})).json()
    assert generated["metadata"]["name"].startswith("job-")
    assert len(generated["metadata"]["name"]) == 9
    ips = set()
    for name in ("a", "b"):
        svc = await api.post(
            "/api/v1/namespaces/default/services",
            json={
                "metadata": {"name": name},
                "spec": {"type": "NodePort", "ports": [{"port": 80}]},
            },
        )
        ips.add(svc.json()["spec"]["clusterIP"])
        assert 30000 <= svc.json()["spec"]["ports"][0]["nodePort"] <= 32767
    assert len(ips) == 2 and all(ip.startswith("10.9") for ip in ips)
    taken = await api.post(
        "/api/v1/namespaces/default/services",
        json={
            "metadata": {"name": "c"},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]},
        },
    )
    assert taken.status_code == 422 and "already allocated" in taken.json()["message"]
    pods = "/api/v1/namespaces/default/pods"
    pod = {
        "metadata": {"name": "p", "labels": {"del": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    created = (await api.post(pods, json=pod)).json()
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    bound = await api.post(f"{pods}/p/binding", json={"target": {"kind": "Node", "name": "n1"}})
    assert bound.status_code == 201
    assert (await api.post(f"{pods}/p/binding", json={"target": {"name": "n2"}})).status_code == 409
    on_node = (await api.get(pods, params={"fieldSelector": "spec.nodeName=n1"})).json()["items"]
    assert [p["metadata"]["name"] for p in on_node] == ["p"]
    graceful = (await api.delete(f"{pods}/p")).json()
    assert graceful["metadata"]["deletionGracePeriodSeconds"] == 30
    await api.delete(f"{pods}/p", params={"gracePeriodSeconds": "0"})
    assert (await api.get(f"{pods}/p")).status_code == 404
    for i in range(3):
        await api.post(
            CONFIGMAPS, json={"metadata": {"name": f"x{i}", "labels": {"g": str(i % 2)}}}
        )
    deleted = (await api.delete(CONFIGMAPS, params={"labelSelector": "g=0"})).json()
    assert sorted(i["metadata"]["name"] for i in deleted["items"]) == ["x0", "x2"]
    left = (await api.get(CONFIGMAPS, params={"labelSelector": "g"})).json()["items"]
    assert [c["metadata"]["name"] for c in left] == ["x1"]


async def test_binding_sets_node_annotations_and_pod_scheduled_true(
    api: httpx.AsyncClient,
) -> None:
    # k8s registry/core/pod/storage/storage.go setPodHostAndAnnotations: nodeName, the
    # binding's annotations, and PodScheduled=True replacing the scheduler's Unschedulable
    pods = "/api/v1/namespaces/default/pods"
    await api.post(pods, json={"metadata": {"name": "b"},
                               "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    unschedulable = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                     "message": "0/1 nodes are available: 1 Insufficient cpu.",
                     "lastProbeTime": None, "lastTransitionTime": "2026-01-01T00:00:00Z"}
    await api.patch(f"{pods}/b/status", json={"status": {"conditions": [unschedulable]}},
                    headers={"Content-Type": "application/strategic-merge-patch+json"})
    wrong_uid = await api.post(f"{pods}/b/binding", json={
        "metadata": {"name": "b", "uid": "not-it"}, "target": {"name": "n1"}})
    assert wrong_uid.status_code == 409
    pod = (await api.get(f"{pods}/b")).json()
    bound = await api.post(f"{pods}/b/binding", json={
        "metadata": {"name": "b", "uid": pod["metadata"]["uid"],
                     "annotations": {"scheduler.example/score": "7"}},
        "target": {"kind": "Node", "name": "n1"}})
    assert bound.status_code == 201, bound.text
    pod = (await api.get(f"{pods}/b")).json()
    assert pod["spec"]["nodeName"] == "n1"
    assert pod["metadata"]["annotations"] == {"scheduler.example/score": "7"}
    [scheduled] = pod["status"]["conditions"]
    assert scheduled["type"] == "PodScheduled" and scheduled["status"] == "True"
    assert "reason" not in scheduled and "message" not in scheduled
    assert scheduled["lastTransitionTime"] >= pod["metadata"]["creationTimestamp"]
    assert pod["status"]["phase"] == "Pending"


async def test_namespace_deletion_marks_terminating_until_finalized(
    api: httpx.AsyncClient, backend: ApiBackend
) -> None:
    # k8s registry/core/namespace/storage Delete: the API server only marks; emptying the
    # namespace is the namespace controller's job (tests/controllers/test_namespace_controller.py)
    await api.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    await api.post("/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "c"}})
    deleted = (await api.delete("/api/v1/namespaces/team")).json()
    assert deleted["status"]["phase"] == "Terminating"
    assert deleted["spec"]["finalizers"] == ["kubernetes"]
    assert deleted["metadata"]["deletionTimestamp"]
    refused = await api.post("/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "d"}})
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'configmaps "d" is forbidden: unable to create new content in namespace team because '
        "it is being terminated"
    )
    # a second DELETE changes nothing; ordinary writes cannot drop spec.finalizers
    again = await api.delete("/api/v1/namespaces/team")
    assert again.status_code == 200 and again.json()["metadata"]["name"] == "team"
    current = (await api.get("/api/v1/namespaces/team")).json()
    put = await api.put("/api/v1/namespaces/team", json={**current, "spec": {"finalizers": []}})
    assert put.json()["spec"]["finalizers"] == ["kubernetes"]
    status = {**put.json(), "status": {"phase": "Terminating", "conditions": [
        {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
         "message": "Some resources are remaining: configmaps. has 1 resource instances"}]}}
    assert (await api.put("/api/v1/namespaces/team/status", json=status)).status_code == 200
    assert (await api.get("/api/v1/namespaces/team")).status_code == 200
    # the finalize subresource removes the last finalizer: the namespace goes
    current = (await api.get("/api/v1/namespaces/team")).json()
    finalize = await api.put("/api/v1/namespaces/team/finalize",
                             json={**current, "spec": {"finalizers": []}})
    assert finalize.status_code == 200, finalize.text
    assert (await api.get("/api/v1/namespaces/team")).status_code == 404
    forbidden = await api.delete("/api/v1/namespaces/default")
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == (
        'namespaces "default" is forbidden: this namespace may not be deleted'
    )


async def test_namespace_without_finalizers_is_deleted_at_once(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/namespaces",
                   json={"metadata": {"name": "bare"}, "spec": {"finalizers": []}})
    assert (await api.delete("/api/v1/namespaces/bare")).status_code == 200
    assert (await api.get("/api/v1/namespaces/bare")).status_code == 404


def frames(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line]


async def test_watch_from_version_with_selector_transitions(api: httpx.AsyncClient) -> None:
    await api.post(CONFIGMAPS, json={"metadata": {"name": "w", "labels": {"team": "a"}}})
    rv = (await api.get(CONFIGMAPS)).json()["metadata"]["resourceVersion"]

    async def writes() -> None:
        await asyncio.sleep(0.1)
        for team in ("b", "a"):
            await api.patch(
                f"{CONFIGMAPS}/w",
                headers=MERGE,
                content=json.dumps({"metadata": {"labels": {"team": team}}}),
            )
        await api.delete(f"{CONFIGMAPS}/w")

    watch = api.get(
        CONFIGMAPS,
        params={
            "watch": "1",
            "resourceVersion": rv,
            "labelSelector": "team=a",
            "timeoutSeconds": "1",
        },
    )
    response, _ = await asyncio.gather(watch, writes())
    events = frames(response.text)
    assert [e["type"] for e in events] == ["DELETED", "ADDED", "DELETED"]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


async def test_watch_initial_state_bookmarks_and_expiry(api: httpx.AsyncClient) -> None:
    await api.post(CONFIGMAPS, json={"metadata": {"name": "one"}})
    initial = frames(
        (
            await api.get(
                CONFIGMAPS,
                params={
                    "watch": "true",
                    "timeoutSeconds": "0.2",
                    "sendInitialEvents": "true",
                    "allowWatchBookmarks": "true",
                    "resourceVersionMatch": "NotOlderThan",
                },
            )
        ).text
    )
    assert [e["type"] for e in initial] == ["ADDED", "BOOKMARK"]
    assert initial[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    for i in range(80):
        await api.patch(
            f"{CONFIGMAPS}/one", headers=MERGE, content=json.dumps({"data": {"i": str(i)}})
        )
    expired = frames(
        (
            await api.get(
                CONFIGMAPS, params={"watch": "1", "resourceVersion": "2", "timeoutSeconds": "1"}
            )
        ).text
    )
    assert expired == [{"type": "ERROR", "object": expired[0]["object"]}]
    assert expired[0]["object"]["code"] == 410 and expired[0]["object"]["reason"] == "Expired"
    assert expired[0]["object"]["message"].startswith("too old resource version: 2 (")


async def test_legacy_watch_path_for_one_object(api: httpx.AsyncClient) -> None:
    for name in ("a", "b"):
        await api.post(CONFIGMAPS, json={"metadata": {"name": name}})
    events = frames(
        (
            await api.get(
                "/api/v1/watch/namespaces/default/configmaps/b", params={"timeoutSeconds": "0.2"}
            )
        ).text
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "b")]


async def test_periodic_bookmarks_carry_the_current_version(backend: ApiBackend) -> None:
    app = build_app(backend, bookmark_interval=0.1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a"
    ) as api:
        await api.post(CONFIGMAPS, json={"metadata": {"name": "b"}})
        rv = str(backend.store.resource_version)
        events = frames(
            (
                await api.get(
                    CONFIGMAPS,
                    params={
                        "watch": "1",
                        "resourceVersion": rv,
                        "allowWatchBookmarks": "true",
                        "timeoutSeconds": "0.35",
                    },
                )
            ).text
        )
    assert len(events) >= 2 and {e["type"] for e in events} == {"BOOKMARK"}
    assert events[0]["object"] == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": rv},
    }


async def test_hundreds_of_watchers_each_get_every_event(
    api: httpx.AsyncClient, backend: ApiBackend
) -> None:
    rv = str(backend.store.resource_version)
    watches = [
        api.get(CONFIGMAPS, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"})
        for _ in range(300)
    ]

    async def writes() -> None:
        await asyncio.sleep(0.3)
        for i in range(3):
            await api.post(CONFIGMAPS, json={"metadata": {"name": f"fan{i}"}})

    *responses, _ = await asyncio.gather(*watches, writes())
    names = {tuple(e["object"]["metadata"]["name"] for e in frames(r.text)) for r in responses}
    assert names == {("fan0", "fan1", "fan2")}


async def test_watch_from_a_future_or_malformed_version(
    api: httpx.AsyncClient, backend: ApiBackend
) -> None:
    future = backend.store.resource_version + 100
    response = await api.get(CONFIGMAPS, params={"watch": "1", "resourceVersion": str(future)})
    assert response.status_code == 504 and response.json()["reason"] == "Timeout"
    assert response.json()["message"].startswith(f"Too large resource version: {future}")
    malformed = await api.get(CONFIGMAPS, params={"watch": "1", "resourceVersion": "abc"})
    assert malformed.status_code == 400


async def test_eviction_respects_disruption_budgets(api: httpx.AsyncClient) -> None:
    pods = "/api/v1/namespaces/default/pods"
    budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
    for name in ("e1", "e2", "pending"):
        await api.post(
            pods,
            json={
                "metadata": {"name": name, "labels": {"app": "e"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        )
    for name in ("e1", "e2"):
        await api.patch(
            f"{pods}/{name}/status",
            headers=MERGE,
            content=json.dumps({"status": {"phase": "Running"}}),
        )
    await api.post(
        budgets,
        json={
            "metadata": {"name": "pdb"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "e"}}},
        },
    )
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "e1"}}
    unobserved = await api.post(f"{pods}/e1/eviction", json=eviction)
    assert unobserved.status_code == 429
    assert unobserved.json()["details"]["causes"][0]["message"] == (
        "The disruption budget pdb is still being processed by the server."
    )
    await api.patch(
        f"{budgets}/pdb/status",
        headers=MERGE,
        content=json.dumps(
            {
                "status": {
                    "observedGeneration": 1,
                    "disruptionsAllowed": 1,
                    "currentHealthy": 2,
                    "desiredHealthy": 1,
                    "expectedPods": 2,
                }
            }
        ),
    )
    allowed = await api.post(f"{pods}/e1/eviction", json=eviction)
    assert allowed.status_code == 201 and allowed.json()["status"] == "Success"
    assert (await api.get(f"{pods}/e1")).status_code == 404
    budget = (await api.get(f"{budgets}/pdb")).json()["status"]
    assert budget["disruptionsAllowed"] == 0 and "e1" in budget["disruptedPods"]
    blocked = await api.post(f"{pods}/e2/eviction", json=eviction | {"metadata": {"name": "e2"}})
    assert blocked.status_code == 429 and blocked.json()["message"] == (
        "Cannot evict pod as it would violate the pod's disruption budget."
    )
    assert blocked.json()["details"]["causes"] == [
        {
            "reason": "DisruptionBudget",
            "message": "The disruption budget pdb needs 1 healthy pods and has 2 currently",
        }
    ]
    assert (await api.get(f"{pods}/e2")).status_code == 200
    pending = await api.post(
        f"{pods}/pending/eviction", json=eviction | {"metadata": {"name": "pending"}}
    )
    assert pending.status_code == 201
