"""The normalised diff of rendered manifests against live objects (pure)."""

from __future__ import annotations

import copy

from shiplane.release.diff import diff_objects, normalise, object_key, project

RENDERED = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "svc", "labels": {"app": "svc"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "app", "image": "reg/svc:v1", "ports": [{"containerPort": 8080}]}]}}},
}


def live_of(rendered: dict) -> dict:
    """What the API server returns: server metadata, defaults, status."""
    live = copy.deepcopy(rendered)
    live["metadata"].update({"namespace": "dev", "uid": "u-1", "resourceVersion": "42",
                             "generation": 3, "creationTimestamp": "2026-11-25T12:00:00Z",
                             "managedFields": [{"manager": "helm"}],
                             "annotations": {"deployment.kubernetes.io/revision": "3"}})
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    live["spec"]["progressDeadlineSeconds"] = 600
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicy"] = "IfNotPresent"
    container["ports"][0]["protocol"] = "TCP"
    live["status"] = {"replicas": 2, "readyReplicas": 2}
    return live


def test_server_set_fields_and_defaults_are_not_differences() -> None:
    key = object_key(normalise(RENDERED, "dev"))
    assert key == "Deployment/dev/svc"
    assert diff_objects([RENDERED], {key: live_of(RENDERED)}, namespace="dev") == []


def test_a_changed_field_is_a_modify_in_unified_diff_form() -> None:
    key = "Deployment/dev/svc"
    desired = copy.deepcopy(RENDERED)
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = "reg/svc:v2"
    [change] = diff_objects([desired], {key: live_of(RENDERED)}, namespace="dev")
    assert (change.key, change.change) == (key, "modify")
    lines = change.diff.splitlines()
    assert lines[0] == f"--- live/{key}" and lines[1] == f"+++ rendered/{key}"
    assert "-      - image: reg/svc:v1" in lines and "+      - image: reg/svc:v2" in lines
    assert not any("resourceVersion" in line or "status" in line for line in lines)


def test_added_and_deleted_objects() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
               "spec": {"ports": [{"port": 80}]}}
    old_cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "old", "namespace": "dev", "uid": "x"}, "data": {"a": "1"}}
    live = {"Service/dev/svc": None, "ConfigMap/dev/old": old_cm}
    changes = diff_objects([service], live, namespace="dev",
                           previously_released=["ConfigMap/dev/old"])
    assert [(c.key, c.change) for c in changes] == [("Service/dev/svc", "add"),
                                                     ("ConfigMap/dev/old", "delete")]
    assert "+kind: Service" in changes[0].diff
    assert "-kind: ConfigMap" in changes[1].diff and "uid" not in changes[1].diff


def test_a_removed_list_item_or_label_is_a_difference() -> None:
    live = live_of(RENDERED)
    desired = copy.deepcopy(RENDERED)
    desired["metadata"]["labels"]["tier"] = "web"
    [change] = diff_objects([desired], {"Deployment/dev/svc": live}, namespace="dev")
    assert change.change == "modify"
    desired = copy.deepcopy(RENDERED)
    desired["spec"]["template"]["spec"]["containers"][0]["ports"].append({"containerPort": 9090})
    [change] = diff_objects([desired], {"Deployment/dev/svc": live}, namespace="dev")
    assert change.change == "modify"


def test_normalise_and_project() -> None:
    live = live_of(RENDERED)
    clean = normalise(live)
    assert "status" not in clean and "uid" not in clean["metadata"]
    assert "annotations" not in clean["metadata"]  # only a server annotation was there
    assert project({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 0}}) == {"b": {"c": 2}}
    assert project([1, 2], [0]) == [1, 2]  # lengths differ: the live list stands
