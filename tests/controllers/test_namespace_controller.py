"""Namespace deletion by the namespace controller, driven by real kubectl (k8s
pkg/controller/namespace/deletion/namespaced_resources_deleter.go, status_condition_utils.go;
registry/core/namespace/storage Delete and the finalize subresource)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=2, time_scale=30) as c:
        yield c


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _create(cluster: EmbeddedCluster, *objects: dict, namespace: str | None = None) -> None:
    args = ["-n", namespace] if namespace else []
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    _ok(cluster.kubectl(*args, "create", "--validate=false", "-f", "-", input=body))


def _namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _deployment(name: str, image: str, replicas: int = 2) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}},
    }


def test_kubectl_delete_namespace_waits_until_the_controller_emptied_it(cluster, registry):
    _create(cluster, _namespace("doomed"))
    _create(cluster, _deployment("web", f"{registry.host}/web:1.0"),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
             "data": {"a": "1"}}, namespace="doomed")
    _ok(cluster.kubectl("-n", "doomed", "rollout", "status", "deployment/web", "--timeout=60s"))
    started = time.monotonic()
    result = cluster.kubectl("delete", "namespace", "doomed", "--wait", "--timeout=60s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'namespace "doomed" deleted'
    assert time.monotonic() - started < 30
    gone = cluster.kubectl("get", "namespace", "doomed")
    assert gone.returncode != 0
    assert 'namespaces "doomed" not found' in gone.stderr
    client = cluster.client()
    for api_version, kind in (("v1", "Pod"), ("apps/v1", "ReplicaSet"), ("v1", "ConfigMap"),
                              ("v1", "Service"), ("v1", "ServiceAccount")):
        assert client.list(api_version, kind, "doomed") == [], kind


def test_terminating_namespace_refuses_content_and_reports_what_remains(cluster, registry):
    _create(cluster, _namespace("held"))
    _create(cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "pinned", "finalizers": ["example.com/hold"]}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}},
            namespace="held")
    _ok(cluster.kubectl("delete", "namespace", "held", "--wait=false"))
    deadline = time.monotonic() + 20
    conditions: dict = {}
    while time.monotonic() < deadline:
        ns = json.loads(_ok(cluster.kubectl("get", "namespace", "held", "-o", "json")))
        conditions = {c["type"]: c for c in ns["status"].get("conditions") or []}
        if conditions.get("NamespaceFinalizersRemaining", {}).get("status") == "True":
            break
        time.sleep(0.1)
    assert ns["status"]["phase"] == "Terminating"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    remaining = conditions["NamespaceContentRemaining"]
    assert (remaining["status"], remaining["reason"]) == ("True", "SomeResourcesRemain")
    assert remaining["message"] == ("Some resources are remaining: configmaps. has 1 resource "
                                    "instances")
    finalizers = conditions["NamespaceFinalizersRemaining"]
    assert (finalizers["status"], finalizers["reason"]) == ("True", "SomeFinalizerRemain")
    assert finalizers["message"] == ("Some finalizers are remaining: example.com/hold in 1 "
                                     "resource instances")
    content = conditions["NamespaceDeletionContentFailure"]
    assert (content["status"], content["reason"]) == ("False", "ContentDeleted")
    discovery = conditions["NamespaceDeletionDiscoveryFailure"]
    assert (discovery["status"], discovery["reason"]) == ("False", "ResourcesDiscovered")
    # the unpinned Secret is gone already; nothing new may be created
    assert cluster.client().list("v1", "Secret", "held") == []
    refused = cluster.kubectl("-n", "held", "create", "--validate=false", "-f", "-",
                              input=json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                                "metadata": {"name": "late"}}))
    assert refused.returncode != 0
    assert ('configmaps "late" is forbidden: unable to create new content in namespace held '
            "because it is being terminated") in refused.stderr
    # releasing the finalizer lets the controller finish: the namespace goes
    _ok(cluster.kubectl("-n", "held", "patch", "configmap", "pinned", "--type", "merge", "-p",
                        '{"metadata": {"finalizers": null}}'))
    result = cluster.kubectl("wait", "--for=delete", "namespace/held", "--timeout=30s")
    assert result.returncode == 0, result.stderr
