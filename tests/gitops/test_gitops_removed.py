"""Fields removed from git (owned by shiplane-gitops in managedFields, still live) and
quantities compared by value — the pure diff core, then against the embedded API server's
real server-side apply managedFields."""

import copy
import json
import subprocess
from fractions import Fraction

import pytest

from shiplane.gitops import SyncStatus, compare, mark
from shiplane.gitops.diff import FIELD_MANAGER
from shiplane.gitops.quantity import parse_quantity, same_quantity
from shiplane.gitops.removed import owned_fields, removed_fields
from shiplane.kube import KubeClient


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("1000m", 1), ("500m", Fraction(1, 2)), ("0.5", Fraction(1, 2)),
    ("1Gi", 2**30), ("1073741824", 2**30), ("128Mi", 128 * 2**20), ("1k", 1000),
    ("1e3", 1000), ("1E-3", Fraction(1, 1000)), ("1.5Gi", 3 * 2**29), ("100n", Fraction(1, 10**7)),
    (2, 2), (0.25, Fraction(1, 4)),
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1Gb", "1.2.3", "Mi", True, None, [1]])
def test_not_quantities(text):
    assert parse_quantity(text) is None


def test_same_quantity():
    assert same_quantity("1000m", "1") and same_quantity("1Gi", "1073741824")
    assert same_quantity(1, "1000m") and not same_quantity("1", "1001m")
    assert not same_quantity("abc", "abc")  # text, not a quantity: compared as text elsewhere


def _deploy(resources, env=True):
    container = {"name": "app", "image": "reg/app:1", "resources": resources}
    if env:
        container["env"] = [{"name": "MODE", "value": "x"}]
    return mark({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "web", "namespace": "dev"},
                 "spec": {"replicas": 2, "paused": False,
                          "template": {"spec": {"containers": [container]}}}}, "app")


def _with_managed(obj, fields, manager=FIELD_MANAGER, operation="Apply"):
    live = copy.deepcopy(obj)
    live["metadata"]["managedFields"] = [{"manager": manager, "operation": operation,
                                          "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                                          "fieldsV1": fields}]
    return live


def test_quantities_in_resources_compare_by_value():
    desired = _deploy({"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": "250m"}})
    live = _deploy({"limits": {"cpu": "1000m", "memory": "1073741824"},
                    "requests": {"cpu": "0.25"}})
    assert compare([desired], [live], app_name="app").status is SyncStatus.SYNCED
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "300m"
    result = compare([desired], [live], app_name="app")
    assert result.resources[0].paths == (
        "spec.template.spec.containers[0].resources.requests.cpu: '250m' in git, '300m' live",)
    # a quantity-looking value outside a quantity field is still text
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = "1000m"
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "1"
    assert "image" in " ".join(compare([desired], [live], app_name="app").resources[0].paths)


FIELDS = {"f:spec": {"f:replicas": {}, "f:paused": {}, "f:template": {"f:spec": {
    "f:containers": {'k:{"name":"app"}': {".": {}, "f:name": {}, "f:image": {},
                                          "f:env": {'k:{"name":"MODE"}': {".": {}, "f:name": {},
                                                                          "f:value": {}}}}}}}}}


def test_a_field_we_applied_that_git_dropped_is_out_of_sync():
    desired = _deploy({}, env=False)
    del desired["spec"]["paused"]
    live = _with_managed(_deploy({}), FIELDS)
    result = compare([desired], [live], app_name="app")
    assert result.status is SyncStatus.OUT_OF_SYNC
    assert result.resources[0].paths == (
        "spec.paused: removed from git, still live",
        "spec.template.spec.containers[0].env[0]: removed from git, still live")


def test_fields_of_other_managers_or_gone_from_live_are_not_removals():
    desired = _deploy({}, env=False)
    # the same fields, owned by kubectl (an Update): a default/foreign field, not ours
    live = _with_managed(_deploy({}), FIELDS, manager="kubectl", operation="Update")
    assert compare([desired], [live], app_name="app").status is SyncStatus.SYNCED
    # ours, but no longer live: nothing to report
    live = _with_managed(_deploy({}, env=False), FIELDS)
    assert removed_fields(desired, live, owned_fields(live, FIELD_MANAGER)) == []
    # switched off for update-mode applies
    live = _with_managed(_deploy({}), FIELDS)
    assert compare([desired], [live], app_name="app", field_manager=None).status \
        is SyncStatus.SYNCED


def test_list_items_by_key_set_values_and_indexes():
    owned = {"f:items": {'k:{"id":1}': {"f:x": {}}, 'k:{"id":2}': {}},
             "f:tags": {'v:"a"': {}, 'v:"b"': {}}, "f:args": {"i:0": {}, "i:1": {}}}
    live = {"items": [{"id": 1, "x": 1}, {"id": 2}], "tags": ["a", "b"], "args": ["p", "q"]}
    desired = {"items": [{"id": 1}], "tags": ["a"], "args": ["p"]}
    assert removed_fields(desired, live, owned) == [
        "items[0].x: removed from git, still live", "items[1]: removed from git, still live",
        "tags: 'b' removed from git, still live", "args[1]: removed from git, still live"]


def test_removed_field_on_a_real_api_server(kube_apiserver):
    def kubectl(*args, stdin=None):
        done = subprocess.run(["kubectl", "--kubeconfig", str(kube_apiserver.kubeconfig), *args],
                              capture_output=True, text=True, input=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout

    kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "removed-a"}}))
    first = mark({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cfg", "namespace": "removed-a",
                               "labels": {"tier": "web"}},
                  "data": {"a": "1", "b": "2"}}, "app")
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        client.apply(first, field_manager=FIELD_MANAGER, force=True)
        # someone else adds a field: not ours, not a removal
        kubectl("-n", "removed-a", "label", "configmap", "cfg", "owner=ops")
        second = copy.deepcopy(first)
        del second["data"]["b"]
        del second["metadata"]["labels"]
        live = client.get("v1", "ConfigMap", "cfg", "removed-a")
        result = compare([second], [live], app_name="app")
        assert result.status is SyncStatus.OUT_OF_SYNC
        assert sorted(result.resources[0].paths) == [
            "data.b: removed from git, still live",
            "metadata.labels.tier: removed from git, still live"]
        client.apply(second, field_manager=FIELD_MANAGER, force=True)
        live = client.get("v1", "ConfigMap", "cfg", "removed-a")
        assert "b" not in live["data"] and live["metadata"]["labels"] == {"owner": "ops"}
        assert compare([second], [live], app_name="app").status is SyncStatus.SYNCED
