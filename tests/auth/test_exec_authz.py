"""``pods/exec`` and ``pods/attach`` are authorized as ``create`` on the subresource (the
WebSocket GET too, as kube-apiserver since 1.31), over HTTPS with client certificates + RBAC;
past authorization, an unscheduled pod gets upstream's 400."""

from __future__ import annotations

import json
import subprocess

import pytest

from shiplane.cluster.apiserver.runner import ApiServerRunner
from shiplane.testing.cluster import kubectl_binary


def _kubectl(kubeconfig, *args, input=None):
    return subprocess.run([kubectl_binary(), "--kubeconfig", str(kubeconfig), *args],
                          input=input, text=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exec-authz")
    runner = ApiServerRunner(pki_dir=folder / "pki").start()
    runner.write_kubeconfig(folder / "admin")
    runner.write_kubeconfig(folder / "dev", user="dev")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default"},
           "spec": {"containers": [{"name": "web", "image": "web:1"}]}}
    created = _kubectl(folder / "admin", "create", "-f", "-", input=json.dumps(pod))
    assert created.returncode == 0, created.stderr
    yield folder
    runner.stop()


def _attach_error(kubeconfig) -> str:
    """The WebSocket GET of the official Python client (kubectl attach waits for Running)."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import stream

    core = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    with pytest.raises(ApiException) as raised:
        stream(core.connect_get_namespaced_pod_attach, "web-0", "default", stdout=True,
               _preload_content=False)
    return str(raised.value)


def test_exec_and_attach_need_create_on_the_subresource(api):
    admin, dev = api / "admin", api / "dev"
    assert _kubectl(admin, "create", "role", "pod-reader", "--verb=get,list",
                    "--resource=pods").returncode == 0
    assert _kubectl(admin, "create", "rolebinding", "dev-reads", "--role=pod-reader",
                    "--user=dev").returncode == 0
    done = _kubectl(dev, "exec", "web-0", "--", "true")
    assert done.returncode != 0
    assert 'cannot create resource "pods/exec"' in done.stderr, done.stderr
    refused = _attach_error(dev)
    assert "Handshake status 403" in refused and "pods/attach" in refused, refused

    assert _kubectl(admin, "create", "role", "pod-exec", "--verb=create",
                    "--resource=pods/exec,pods/attach").returncode == 0
    assert _kubectl(admin, "create", "rolebinding", "dev-execs", "--role=pod-exec",
                    "--user=dev").returncode == 0
    done = _kubectl(dev, "exec", "web-0", "--", "true")
    assert done.returncode != 0
    assert "pod web-0 does not have a host assigned" in done.stderr, done.stderr
    refused = _attach_error(dev)
    assert "Handshake status 400" in refused and "does not have a host assigned" in refused


def test_discovery_lists_the_subresources(api):
    done = _kubectl(api / "admin", "get", "--raw", "/api/v1")
    resources = {r["name"]: r for r in json.loads(done.stdout)["resources"]}
    assert resources["pods/exec"]["kind"] == "PodExecOptions"
    assert sorted(resources["pods/attach"]["verbs"]) == ["create", "get"]
