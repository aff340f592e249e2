"""Conformance with the official ``kubernetes`` Python client over a real socket."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch

from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.cluster.store import MemoryObjectStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    # A small watch window so the test can push a resourceVersion out of it.
    with ApiServerRunner(MemoryObjectStore(watch_window=20)) as server:
        path = server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
        api = config.new_client_from_config(config_file=str(path))
        yield api
        api.close()


def test_crud_and_errors(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "settings", "labels": {"app": "web"}}, "data": {"a": "1"}}
    )
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    listed = core.list_namespaced_config_map("default", label_selector="app in (web, api)")
    assert [c.metadata.name for c in listed.items] == ["settings"]
    patched = core.patch_namespaced_config_map("settings", "default", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_config_map("nope", "default")
    assert missing.value.status == 404 and 'configmaps \\"nope\\" not found' in missing.value.body
    with pytest.raises(client.ApiException) as exists:
        core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}})
    assert exists.value.status == 409
    stale = patched
    stale.metadata.resource_version = created.metadata.resource_version
    with pytest.raises(client.ApiException) as conflict:
        core.replace_namespaced_config_map("settings", "default", stale)
    assert conflict.value.status == 409 and "Conflict" in conflict.value.body


def test_deployments_scale_and_status(api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    body = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    deploy = apps.create_namespaced_deployment("default", body)
    assert deploy.spec.replicas == 1
    assert deploy.spec.strategy.rolling_update.max_surge == "25%"
    assert deploy.spec.template.spec.containers[0].image_pull_policy == "Always"
    scale = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3 and scale.status.selector == "app=web"
    status = apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"replicas": 3, "readyReplicas": 2}}
    )
    assert status.status.ready_replicas == 2 and status.metadata.generation == 2
    with pytest.raises(client.ApiException) as invalid:
        apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": -2}})
    assert invalid.value.status == 422
    apps.delete_namespaced_deployment("web", "default")
    assert apps.list_namespaced_deployment("default").items == []


def test_watch_resumes_from_a_resource_version_and_handles_410(
    api_client: client.ApiClient,
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": "watched"}})
    start = core.list_namespaced_config_map("watched").metadata.resource_version

    def writer() -> None:
        time.sleep(0.2)
        core.create_namespaced_config_map("watched", {"metadata": {"name": "w"}})
        core.patch_namespaced_config_map("w", "watched", {"data": {"x": "1"}})

    thread = threading.Thread(target=writer)
    thread.start()
    stream = watch.Watch()
    first = [
        (e["type"], e["object"].metadata.name)
        for e in stream.stream(
            core.list_namespaced_config_map, "watched", resource_version=start, timeout_seconds=1
        )
    ]
    thread.join()
    assert first == [("ADDED", "w"), ("MODIFIED", "w")]
    resume_from = stream.resource_version
    core.delete_namespaced_config_map("w", "watched")
    resumed = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            "watched",
            resource_version=resume_from,
            timeout_seconds=1,
        )
    ]
    assert resumed == [("DELETED", "w")]
    for i in range(30):  # push `start` out of the retained window
        core.create_namespaced_config_map("watched", {"metadata": {"name": f"c{i}"}})
    with pytest.raises(client.ApiException) as gone:
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map,
                "watched",
                resource_version=start,
                timeout_seconds=1,
            )
        )
    assert gone.value.status == 410 and "Expired" in gone.value.reason
    # The documented recovery: list again, watch from the list's version.
    fresh = core.list_namespaced_config_map("watched")
    assert len(fresh.items) == 30
    core.delete_namespaced_config_map("c0", "watched")
    after = [
        e["type"]
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            "watched",
            resource_version=fresh.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert after == ["DELETED"]


def test_many_concurrent_watches_all_see_an_event(
    api_client: client.ApiClient, tmp_path: Path
) -> None:
    core = client.CoreV1Api(api_client)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    results: list[list[str]] = []
    lock = threading.Lock()

    def watcher() -> None:
        names = [
            e["object"].metadata.name
            for e in watch.Watch().stream(
                core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2
            )
        ]
        with lock:
            results.append(names)

    threads = [threading.Thread(target=watcher) for _ in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    core.create_namespaced_config_map("default", {"metadata": {"name": "broadcast"}})
    for thread in threads:
        thread.join()
    assert results == [["broadcast"]] * 20
