"""A CRD with two served versions and conversion strategy None, through real kubectl against
the embedded API server: objects are stored at the storage version and every response is at
the version asked for (apiextensions-apiserver pkg/apiserver/conversion/nop_converter.go,
test/integration/versioning_test.go)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.cluster.crd import convert_version
from shiplane.cluster.store.model import ObjectKey

KUBECTL = str(Path(sys.executable).with_name("kubectl"))
GROUP = "versions.example.com"
V1BETA1, V1 = f"widgets.v1beta1.{GROUP}", f"widgets.v1.{GROUP}"


def test_conversion_strategy_none_only_rewrites_the_api_version():
    obj = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "a"},
           "spec": {"size": "small"}}
    assert convert_version(obj, f"{GROUP}/v1") is obj
    converted = convert_version(obj, f"{GROUP}/v1beta1")
    assert converted == {**obj, "apiVersion": f"{GROUP}/v1beta1"}
    assert obj["apiVersion"] == f"{GROUP}/v1"  # the input is left alone


def _schema(size: dict, spec_extra: dict) -> dict:
    return {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"size": size, **spec_extra}}}}}


def crd(storage: str = "v1") -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "listKind": "WidgetList"},
            "versions": [
                {"name": "v1beta1", "served": True, "storage": storage == "v1beta1",
                 "schema": _schema({"type": "string", "enum": ["small", "large"]},
                                   {"replicas": {"type": "integer", "default": 1}})},
                {"name": "v1", "served": True, "storage": storage == "v1",
                 "schema": _schema({"type": "string"},
                                   {"replicas": {"type": "integer", "default": 3},
                                    "mode": {"type": "string", "default": "fast"}})},
            ],
        },
    }


def widget(version: str, name: str, **spec) -> str:
    return json.dumps({"apiVersion": f"{GROUP}/{version}", "kind": "Widget",
                       "metadata": {"name": name, "namespace": "default"}, "spec": spec})


@pytest.fixture(scope="module")
def kubectl(kube_apiserver: ApiServerRunner):
    def run(*args: str, stdin: str | None = None, check: bool = True):
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(kube_apiserver.kubeconfig), *args],
                              input=stdin, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
        return proc

    run("apply", "-f", "-", stdin=json.dumps(crd()))
    run("wait", "--for", "condition=Established", f"crd/widgets.{GROUP}", "--timeout=20s")
    return run


def get(kubectl, resource: str, name: str) -> dict:
    return json.loads(kubectl("get", resource, name, "-n", "default", "-o", "json").stdout)


def stored(server: ApiServerRunner, name: str) -> dict:
    entry = server.store.get(ObjectKey(f"widgets.{GROUP}", "default", name))
    assert entry is not None
    return entry.obj


def test_created_at_one_version_is_stored_and_served_at_each(kubectl, kube_apiserver):
    out = kubectl("create", "-f", "-", "-o", "json", stdin=widget("v1beta1", "a", size="small"))
    created = json.loads(out.stdout)
    assert created["apiVersion"] == f"{GROUP}/v1beta1"
    assert created["spec"] == {"size": "small", "replicas": 1}  # v1beta1's default

    assert stored(kube_apiserver, "a")["apiVersion"] == f"{GROUP}/v1"
    old = get(kubectl, V1BETA1, "a")
    assert old["apiVersion"] == f"{GROUP}/v1beta1"
    assert old["spec"] == {"size": "small", "replicas": 1}
    new = get(kubectl, V1, "a")
    assert new["apiVersion"] == f"{GROUP}/v1"
    # Read at v1: defaulted with v1's schema (the stored replicas stays).
    assert new["spec"] == {"size": "small", "replicas": 1, "mode": "fast"}

    listed = json.loads(kubectl("get", V1BETA1, "-n", "default", "-o", "json").stdout)
    assert [i["apiVersion"] for i in listed["items"]] == [f"{GROUP}/v1beta1"]
    raw = json.loads(kubectl("get", "--raw",
                             f"/apis/{GROUP}/v1beta1/namespaces/default/widgets").stdout)
    assert raw["apiVersion"] == f"{GROUP}/v1beta1"
    assert [i["apiVersion"] for i in raw["items"]] == [f"{GROUP}/v1beta1"]


def test_validation_and_defaulting_use_the_request_version_schema(kubectl, kube_apiserver):
    refused = kubectl("create", "-f", "-", stdin=widget("v1beta1", "b", size="medium"),
                      check=False)
    assert refused.returncode != 0
    assert 'Unsupported value: "medium"' in refused.stderr
    assert kube_apiserver.store.get(ObjectKey(f"widgets.{GROUP}", "default", "b")) is None

    out = kubectl("create", "-f", "-", "-o", "json", stdin=widget("v1", "b", size="medium"))
    created = json.loads(out.stdout)
    assert created["apiVersion"] == f"{GROUP}/v1"
    assert created["spec"] == {"size": "medium", "replicas": 3, "mode": "fast"}
    assert stored(kube_apiserver, "b")["spec"] == created["spec"]
    # v1beta1 knows no spec.mode: pruned from its view.
    assert get(kubectl, V1BETA1, "b")["spec"] == {"size": "medium", "replicas": 3}


def test_writes_through_another_version_answer_in_it(kubectl, kube_apiserver):
    kubectl("create", "-f", "-", stdin=widget("v1", "c", size="large"))
    patched = json.loads(kubectl("patch", V1BETA1, "c", "-n", "default", "--type=merge",
                                 "-p", '{"spec":{"replicas":5}}', "-o", "json").stdout)
    assert patched["apiVersion"] == f"{GROUP}/v1beta1"
    assert patched["spec"]["replicas"] == 5
    assert stored(kube_apiserver, "c")["apiVersion"] == f"{GROUP}/v1"

    config = widget("v1beta1", "c", size="large", replicas=6)
    applied = json.loads(kubectl("apply", "--server-side", "--force-conflicts", "-o", "json",
                                 "-f", "-", stdin=config).stdout)
    assert applied["apiVersion"] == f"{GROUP}/v1beta1"
    assert applied["spec"]["replicas"] == 6
    assert stored(kube_apiserver, "c")["apiVersion"] == f"{GROUP}/v1"

    replaced = get(kubectl, V1BETA1, "c")
    replaced["spec"]["replicas"] = 7
    out = kubectl("replace", "-o", "json", "-f", "-", stdin=json.dumps(replaced))
    assert json.loads(out.stdout)["apiVersion"] == f"{GROUP}/v1beta1"
    entry = stored(kube_apiserver, "c")
    assert (entry["apiVersion"], entry["spec"]["replicas"]) == (f"{GROUP}/v1", 7)


def _watch_events(proc: subprocess.Popen, want: int, timeout: float = 20.0) -> list[dict]:
    decoder, text, events = json.JSONDecoder(), "", []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while len(events) < want and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        text += line
        try:
            event, end = decoder.raw_decode(text.strip())
        except json.JSONDecodeError:
            continue
        events.append(event)
        text = text.strip()[end:]
    return events


def test_a_watch_sees_events_at_its_version(kubectl, kube_apiserver):
    proc = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(kube_apiserver.kubeconfig), "get", V1BETA1, "-n",
         "default", "--watch-only", "--output-watch-events", "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(1.0)  # let the watch start
        kubectl("create", "-f", "-", stdin=widget("v1", "d", size="small"))
        kubectl("patch", V1, "d", "-n", "default", "--type=merge", "-p",
                '{"spec":{"replicas":2}}')
        kubectl("delete", V1, "d", "-n", "default")
        events = _watch_events(proc, 3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert [(e["type"], e["object"]["apiVersion"]) for e in events] == [
        ("ADDED", f"{GROUP}/v1beta1"),
        ("MODIFIED", f"{GROUP}/v1beta1"),
        ("DELETED", f"{GROUP}/v1beta1"),
    ]
    assert events[1]["object"]["spec"]["replicas"] == 2


def test_stored_versions_record_each_storage_version(kubectl, kube_apiserver):
    def stored_versions() -> list[str]:
        return json.loads(kubectl("get", "crd", f"widgets.{GROUP}", "-o", "json").stdout)[
            "status"]["storedVersions"]

    assert stored_versions() == ["v1"]
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(crd(storage="v1beta1")))
    assert stored_versions() == ["v1", "v1beta1"]
    kubectl("create", "-f", "-", stdin=widget("v1", "e", size="small"))
    assert stored(kube_apiserver, "e")["apiVersion"] == f"{GROUP}/v1beta1"
    assert get(kubectl, V1, "e")["apiVersion"] == f"{GROUP}/v1"
    # Objects written before the switch keep their version until rewritten, and still read.
    assert stored(kube_apiserver, "a")["apiVersion"] == f"{GROUP}/v1"
    assert get(kubectl, V1BETA1, "a")["apiVersion"] == f"{GROUP}/v1beta1"
