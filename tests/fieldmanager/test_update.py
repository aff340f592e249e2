"""Ownership for non-apply writes (merge/update.go Update; apiserver managedfields tests)."""

import pytest

from shiplane.cluster.fieldmanager import (
    InvalidManager,
    apply,
    compare,
    field_set,
    manager_from_user_agent,
    record_update,
    validate_field_manager,
)
from shiplane.cluster.fieldmanager.fieldpath import decode_fields_v1

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"


def cm(data, **meta):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", **meta}, "data": data}


def entries(obj):
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def test_create_records_every_set_field_for_the_writer(configmap_type):
    obj = record_update(None, cm({"a": "1"}, labels={"x": "y"}), "kubectl-create", configmap_type, now=T0)
    (entry,) = obj["metadata"]["managedFields"]
    assert entry == {
        "manager": "kubectl-create",
        "operation": "Update",
        "apiVersion": "v1",
        "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}},
    }


def test_update_takes_changed_fields_from_other_managers(configmap_type):
    obj = apply(None, cm({"a": "1", "b": "2"}), "helm", False, configmap_type, now=T0).object
    new = {**obj, "data": {"a": "changed", "b": "2"}}
    out = record_update(obj, new, "kubectl-edit", configmap_type, now=T1)
    helm = decode_fields_v1(entries(out)[("helm", "Apply")]["fieldsV1"])
    edit = decode_fields_v1(entries(out)[("kubectl-edit", "Update")]["fieldsV1"])
    assert (("f", "data"), ("f", "a")) in edit and (("f", "data"), ("f", "a")) not in helm
    assert (("f", "data"), ("f", "b")) in helm
    assert entries(out)[("helm", "Apply")]["time"] == T0


def test_removed_fields_leave_every_manager(configmap_type):
    obj = apply(None, cm({"a": "1", "b": "2"}), "helm", False, configmap_type, now=T0).object
    out = record_update(obj, {**obj, "data": {"a": "1"}}, "editor", configmap_type, now=T1)
    helm = decode_fields_v1(entries(out)[("helm", "Apply")]["fieldsV1"])
    assert (("f", "data"), ("f", "b")) not in helm
    # the editor only removed: an empty set is no entry (update.go deletes empty managers)
    assert ("editor", "Update") not in entries(out)


def test_a_manager_whose_fields_are_all_taken_disappears(configmap_type):
    obj = apply(None, cm({"a": "1"}), "helm", False, configmap_type, now=T0).object
    out = record_update(obj, {**obj, "data": {"a": "2"}}, "editor", configmap_type, now=T1)
    assert ("helm", "Apply") not in entries(out)


def test_update_entries_are_per_api_version(configmap_type):
    obj = record_update(None, cm({"a": "1"}), "ctl", configmap_type, now=T0)
    newer = {**obj, "apiVersion": "v2", "data": {"a": "1", "b": "2"}}
    out = record_update(obj, newer, "ctl", configmap_type, now=T1)
    versions = sorted(e["apiVersion"] for e in out["metadata"]["managedFields"])
    assert versions == ["v1", "v2"]


def test_sent_empty_managed_fields_reset_ownership(configmap_type):
    obj = record_update(None, cm({"a": "1"}), "ctl", configmap_type, now=T0)
    new = cm({"a": "1"}, managedFields=[])
    out = record_update(obj, new, "ctl", configmap_type, now=T1)
    assert "managedFields" not in out["metadata"]


def test_entries_are_sorted_apply_first_then_time(configmap_type):
    obj = record_update(None, cm({"a": "1"}), "zeta", configmap_type, now=T0)
    obj = apply(obj, cm({"b": "2"}), "alpha", False, configmap_type, now=T2).object
    obj = record_update(obj, {**obj, "data": {**obj["data"], "c": "3"}}, "beta", configmap_type, now=T1)
    order = [(e["operation"], e["manager"]) for e in obj["metadata"]["managedFields"]]
    assert order == [("Apply", "alpha"), ("Update", "zeta"), ("Update", "beta")]


@pytest.mark.parametrize(
    "agent, manager",
    [
        ("kubectl/v1.37.1 (linux/amd64) kubernetes/abc", "kubectl"),
        ("Helm/4.0.0", "Helm"),
        ("python-requests", "python-requests"),
        ("", ""),
        (None, ""),
        ("x" * 200 + "/1", "x" * 128),
    ],
)
def test_manager_from_user_agent(agent, manager):
    assert manager_from_user_agent(agent) == manager


@pytest.mark.parametrize(
    "name, apply_, problem",
    [
        (None, True, "fieldManager: Required value: is required for apply patch"),
        ("", True, "Required value"),
        ("m" * 129, False, "Too long"),
        ("bad\x00name", False, "must be printable"),
    ],
)
def test_field_manager_validation(name, apply_, problem):
    with pytest.raises(InvalidManager, match=problem):
        validate_field_manager(name, apply=apply_)


def test_field_manager_validation_accepts_good_names():
    validate_field_manager("helm", apply=True)
    validate_field_manager(None, apply=False)


def test_compare_reports_added_removed_modified(deployment_type):
    old = {"spec": {"replicas": 1, "paused": True, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
    new = {"spec": {"replicas": 2, "minReadySeconds": 5, "template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}}}
    result = compare(old, new, deployment_type)
    assert (("f", "spec"), ("f", "replicas")) in result.modified
    assert (("f", "spec"), ("f", "minReadySeconds")) in result.added
    assert (("f", "spec"), ("f", "paused")) in result.removed
    containers = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"))
    assert containers + (("k", '{"name":"b"}'),) in result.added
    assert containers + (("k", '{"name":"a"}'), ("f", "image")) in result.removed
    assert compare(old, old, deployment_type).is_same()


def test_field_set_marks_empty_and_null_maps_and_map_entries(deployment_type):
    obj = {"metadata": {"labels": {}, "annotations": None}, "spec": {"strategy": {}, "template": {"metadata": {"labels": {"a": "b"}}}}}
    fields = field_set(obj, deployment_type)
    assert (("f", "metadata"), ("f", "labels")) in fields
    assert (("f", "metadata"), ("f", "annotations")) in fields
    assert (("f", "spec"), ("f", "strategy")) in fields
    assert (("f", "spec"), ("f", "template"), ("f", "metadata"), ("f", "labels"), ("f", "a")) in fields
    assert (("f", "spec"),) not in fields and (("f", "spec"), ("f", "template")) not in fields


def test_undeclared_fields_use_structured_merge_diff_paths(deployment_type, configmap_type):
    from shiplane.cluster.fieldmanager import typed_patch_error, undeclared_fields

    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "labelz": {}},
              "spec": {"replicass": 1, "template": {"spec": {"containers": [
                  {"name": "c", "imagee": "x", "args": ["a"]}]}}}}
    problems = undeclared_fields(config, deployment_type)
    assert problems == [".metadata.labelz", ".spec.replicass", '.spec.template.spec.containers[name="c"].imagee']
    assert typed_patch_error("apps/v1", "Deployment", problems[:1]) == (
        "failed to create typed patch object (apps/v1, Kind=Deployment): .metadata.labelz: field not declared in schema")
    assert typed_patch_error("v1", "ConfigMap", [".x"]).startswith("failed to create typed patch object (/v1, Kind=ConfigMap)")
    assert undeclared_fields({"data": {"any": "key"}}, configmap_type) == []
