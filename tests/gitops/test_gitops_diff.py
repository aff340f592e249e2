import copy

import pytest

from shiplane.gitops import ApplicationInvalid, IgnoreDifference, SyncStatus, compare, mark
from shiplane.gitops.ignore import apply_ignores, jq_paths, managed_paths, pointer_path
from shiplane.gitops.tracking import owned_by, tracking_id


def _deploy(replicas=2, image="reg/app:1.0", name="web"):
    return mark({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": name, "namespace": "dev", "labels": {"app": name}},
                 "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                     {"name": "app", "image": image, "ports": [{"containerPort": 8080}]},
                     {"name": "sidecar", "image": "reg/side:1"}]}}}}, "web-dev")


def _live(obj, **extra):
    live = copy.deepcopy(obj)
    live["metadata"].update(uid="u1", resourceVersion="7", generation=3,
                            creationTimestamp="2026-01-01T00:00:00Z", managedFields=[],
                            annotations={**live["metadata"]["annotations"],
                                         "deployment.kubernetes.io/revision": "3"})
    spec = live["spec"]
    spec.update(strategy={"type": "RollingUpdate"}, revisionHistoryLimit=10)  # defaults
    for c in spec["template"]["spec"]["containers"]:
        c["imagePullPolicy"] = "IfNotPresent"
        for port in c.get("ports", []):
            port["protocol"] = "TCP"
    live["status"] = {"replicas": 2}
    live.update(extra)
    return live


def test_server_set_and_defaulted_fields_do_not_count():
    desired = _deploy()
    result = compare([desired], [_live(desired)], app_name="web-dev")
    assert result.status is SyncStatus.SYNCED
    assert result.resources[0].paths == ()


def test_changed_field_is_out_of_sync_and_named():
    desired = _deploy(replicas=3)
    live = _live(_deploy(replicas=5))
    result = compare([desired], [live], app_name="web-dev")
    assert result.status is SyncStatus.OUT_OF_SYNC
    assert result.get("Deployment", "web").paths == ("spec.replicas: 3 in git, 5 live",)


def test_added_list_item_live_is_a_difference():
    desired = _deploy()
    live = _live(desired)
    live["spec"]["template"]["spec"]["containers"].append({"name": "injected", "image": "x"})
    paths = compare([desired], [live], app_name="web-dev").resources[0].paths
    assert paths == ("spec.template.spec.containers: 2 items in git, 3 live",)


def test_missing_resource_and_pruning_candidates():
    desired = _deploy()
    orphan = mark({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "old", "namespace": "dev"}}, "web-dev")
    foreign = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs",
                                                                     "namespace": "dev"}}
    result = compare([desired], [orphan, foreign], app_name="web-dev")
    assert result.status is SyncStatus.OUT_OF_SYNC
    assert result.get("Deployment", "web").paths == ("missing in live",)
    assert result.get("ConfigMap", "old").requires_pruning
    with pytest.raises(KeyError):
        result.get("ConfigMap", "theirs")


def test_error_gives_unknown():
    result = compare([], [], app_name="a", error="chart not found")
    assert result.status is SyncStatus.UNKNOWN and result.message == "chart not found"


def test_bool_is_not_int_and_ints_match_floats():
    a = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "spec": {"n": 1, "b": True}}
    b = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "spec": {"n": 1.0, "b": 1}}
    paths = compare([a], [b], app_name="z").resources[0].paths
    assert paths == ("spec.b: True in git, 1 live",)


def test_json_pointer_ignore():
    desired, live = _deploy(replicas=3), _live(_deploy(replicas=9))
    rule = IgnoreDifference(kind="Deployment", group="apps", json_pointers=("/spec/replicas",))
    assert compare([desired], [live], app_name="web-dev",
                   ignore_differences=[rule]).status is SyncStatus.SYNCED
    other_kind = IgnoreDifference(kind="StatefulSet", group="apps",
                                  json_pointers=("/spec/replicas",))
    assert compare([desired], [live], app_name="web-dev",
                   ignore_differences=[other_kind]).status is SyncStatus.OUT_OF_SYNC


def test_pointer_escapes():
    assert pointer_path("/metadata/annotations/a~1b~0c") == ("metadata", "annotations", "a/b~c")
    assert pointer_path("") == ()


def test_jq_select_ignores_one_container_even_if_reordered():
    desired = _deploy(image="reg/app:2.0")
    live = _live(_deploy(image="reg/app:1.0"))
    containers = live["spec"]["template"]["spec"]["containers"]
    containers.reverse()
    expr = '.spec.template.spec.containers[] | select(.name == "app") | .image'
    rule = IgnoreDifference(kind="Deployment", jq_path_expressions=(expr,), group="apps")
    result = compare([desired], [live], app_name="web-dev", ignore_differences=[rule])
    # the app image is ignored, but the order of containers still differs
    assert not any("reg/app" in p for p in result.resources[0].paths)
    assert result.status is SyncStatus.OUT_OF_SYNC
    containers.reverse()
    assert compare([desired], [live], app_name="web-dev",
                   ignore_differences=[rule]).status is SyncStatus.SYNCED


def test_jq_path_forms():
    obj = {"a": {"b.c": [1, {"d": 2}], "e": [{"n": "x", "v": 1}, {"n": "y", "v": 2}]}}
    assert jq_paths(obj, '.a.["b.c"][1].d') == [("a", "b.c", 1, "d")]
    assert jq_paths(obj, ".a.e[].v") == [("a", "e", 0, "v"), ("a", "e", 1, "v")]
    assert jq_paths(obj, '.a.e[] | select(.n != "x") | .v') == [("a", "e", 1, "v")]
    assert jq_paths(obj, ".missing.x") == []
    with pytest.raises(ApplicationInvalid, match="unsupported syntax"):
        jq_paths(obj, ".a | length")
    with pytest.raises(ApplicationInvalid, match="JSON literal"):
        jq_paths(obj, ".a.e[] | select(.n == x)")


def test_managed_fields_managers_are_ignored():
    desired = _deploy(replicas=2)
    live = _live(_deploy(replicas=7))
    live["metadata"]["managedFields"] = [
        {"manager": "hpa-controller", "operation": "Update", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "shiplane-gitops", "operation": "Apply", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
             'k:{"name":"app"}': {".": {}, "f:image": {}}}}}}}}]
    assert managed_paths(live, ("hpa-controller",)) == [("spec", "replicas")]
    assert managed_paths(live, ("shiplane-gitops",)) == [
        ("spec", "template", "spec", "containers", 0, "image")]
    rule = IgnoreDifference(kind="Deployment", group="apps",
                            managed_fields_managers=("hpa-controller",))
    assert compare([desired], [live], app_name="web-dev",
                   ignore_differences=[rule]).status is SyncStatus.SYNCED


def test_list_item_ignored_by_pointer_keeps_indexes():
    d = {"kind": "X", "apiVersion": "v1", "metadata": {"name": "a"}, "spec": {"l": [1, 2, 3]}}
    live = copy.deepcopy(d)
    live["spec"]["l"][1] = 99
    apply_ignores(d, live, (IgnoreDifference(kind="X", json_pointers=("/spec/l/1",)),))
    assert d["spec"]["l"][0] == 1 and d["spec"]["l"][2] == 3 and d["spec"]["l"][1] == live["spec"]["l"][1]


def test_tracking_annotation_and_label_methods():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "dev"}}
    marked = mark(obj, "web-dev")
    assert marked["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == \
        "web-dev:apps/Deployment:dev/web" == tracking_id("web-dev", obj)
    assert "annotations" not in obj["metadata"]  # copy, not in place
    assert owned_by(marked, "web-dev") and not owned_by(marked, "other")
    copied = copy.deepcopy(marked)
    copied["metadata"]["name"] = "web-copy"  # copied annotation does not make it ours
    assert not owned_by(copied, "web-dev")
    labelled = mark(obj, "web-dev", "label")
    assert labelled["metadata"]["labels"]["app.kubernetes.io/instance"] == "web-dev"
    assert owned_by(labelled, "web-dev", "label") and not owned_by(labelled, "web-dev")
    assert owned_by(labelled, "web-dev", "annotation+label")
    with pytest.raises(ValueError, match="unknown tracking method"):
        mark(obj, "a", "bogus")
