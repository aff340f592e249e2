"""The kubelet API route table in-process, and the API server's pods/log checks before it
proxies (the proxying itself runs through real kubectl in test_process_runtime.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shiplane.cluster.apiserver import ApiBackend, build_app
from shiplane.cluster.decisions.container_log import LogRecord, LogUnavailable, format_record
from shiplane.cluster.nodes.kubelet_server import build_kubelet_app
from shiplane.cluster.nodes.runtime import StaticLogReader
from shiplane.cluster.store import MemoryObjectStore
from shiplane.testing import asgi_client

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


class Logs:
    """A PodLogSource over fixed lines: pod default/web has container app."""

    def log_reader(self, namespace, pod, container, previous):
        if (namespace, pod) != ("default", "web"):
            raise LookupError(f'pod "{pod}" not found')
        if container != "app":
            raise LookupError(f'container "{container}" not found in pod "{pod}"')
        if previous:
            raise LogUnavailable(f'previous terminated container "app" in pod "{pod}" not found')
        return StaticLogReader([format_record(LogRecord(T0 + timedelta(seconds=i), "stdout",
                                                        False, b"line %d" % i))
                                for i in range(4)])


def test_container_logs_route() -> None:
    client = asgi_client(build_kubelet_app(Logs()))
    response = client.get("/containerLogs/default/web/app")
    assert response.status_code == 200 and response.text == "line 0\nline 1\nline 2\nline 3\n"
    tail = client.get("/containerLogs/default/web/app", params={"tailLines": "1",
                                                                "timestamps": "true"})
    assert tail.text == "2026-03-01T12:00:03Z line 3\n"
    assert client.get("/containerLogs/default/web/app",
                      params={"limitBytes": "3", "follow": "true"}).text == "lin"
    previous = client.get("/containerLogs/default/web/app", params={"previous": "true"})
    assert previous.status_code == 400
    assert previous.text == 'previous terminated container "app" in pod "web" not found'
    missing = client.get("/containerLogs/default/nope/app")
    assert missing.status_code == 404 and missing.text == 'pod "nope" not found'
    bad = client.get("/containerLogs/default/web/app", params={"tailLines": "x"})
    assert bad.status_code == 400 and "tailLines" in bad.text
    assert client.get("/healthz").text == "ok"


def pod(name: str, containers: list[str], node: str = "", init: list[str] = ()) -> dict:
    spec: dict = {"containers": [{"name": c, "image": "img:1"} for c in containers]}
    if init:
        spec["initContainers"] = [{"name": c, "image": "img:1"} for c in init]
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def api():
    client = asgi_client(build_app(ApiBackend(MemoryObjectStore(watch_window=50))))
    for item in (pod("one", ["app"]), pod("two", ["app", "side"], init=["setup"]),
                 pod("placed", ["app"], node="ghost")):
        assert client.post("/api/v1/namespaces/default/pods", json=item).status_code == 201
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bare"}}
    assert client.post("/api/v1/nodes", json=node).status_code == 201
    assert client.post("/api/v1/namespaces/default/pods",
                       json=pod("onbare", ["app"], node="bare")).status_code == 201
    return client


def test_pods_log_checks_match_upstream(api) -> None:
    base = "/api/v1/namespaces/default/pods"
    unscheduled = api.get(f"{base}/one/log")
    assert unscheduled.status_code == 200 and unscheduled.text == ""  # no node: no log yet
    two = api.get(f"{base}/two/log")
    assert two.status_code == 400 and two.json()["reason"] == "BadRequest"
    assert two.json()["message"] == ("a container name must be specified for pod two, choose one "
                                     "of: [app side] or one of the init containers: [setup]")
    wrong = api.get(f"{base}/one/log", params={"container": "web"})
    assert wrong.json()["message"] == "container web is not valid for pod one"
    invalid = api.get(f"{base}/one/log", params={"tailLines": "-2"})
    assert invalid.status_code == 422
    assert invalid.json()["message"] == ('PodLogOptions "one" is invalid: tailLines: Invalid '
                                         "value: -2: must be greater than or equal to 0")
    assert api.get(f"{base}/ghost/log").status_code == 404
    assert api.get(f"{base}/placed/log").json()["message"] == 'nodes "ghost" not found'
    assert api.get(f"{base}/onbare/log").json()["message"] == "node bare has no kubelet endpoint"
    assert api.post(f"{base}/one/log", json={}).status_code == 405
    discovery = api.get("/api/v1").json()["resources"]
    assert {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
            "verbs": ["get"]} in discovery
