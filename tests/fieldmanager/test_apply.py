"""Server-side apply semantics, after kubernetes test/integration/apiserver/apply/apply_test.go
and structured-merge-diff merge/*_test.go (multiple appliers, lists, removal, conflicts)."""

import copy

import pytest

from shiplane.cluster.fieldmanager import (
    BEFORE_FIRST_APPLY,
    InvalidObject,
    apply,
    decode_managed_fields,
    record_update,
)
from shiplane.cluster.fieldmanager.fieldpath import decode_fields_v1

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:01:00Z"


def deployment(replicas=3, image="nginx:1.25", labels=None, containers=None, **spec):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers or [{"name": "web", "image": image}]},
            },
            **spec,
        },
    }


def managers(obj):
    return {
        (e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]
    }


def owned(obj, manager, operation="Apply"):
    return decode_fields_v1(managers(obj)[(manager, operation)]["fieldsV1"])


REPLICAS = (("f", "spec"), ("f", "replicas"))


def test_apply_creates_the_object_with_one_apply_entry(deployment_type):
    result = apply(None, deployment(), "helm", False, deployment_type, now=T0)
    assert result.ok and result.changed
    obj = result.object
    assert obj["spec"]["replicas"] == 3
    (entry,) = obj["metadata"]["managedFields"]
    assert entry["manager"] == "helm" and entry["operation"] == "Apply"
    assert entry["apiVersion"] == "apps/v1" and entry["time"] == T0
    assert entry["fieldsType"] == "FieldsV1"
    fields = entry["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    # metadata.name/namespace are never owned (stripmeta.go)
    assert "f:name" not in fields["f:metadata"] and "f:namespace" not in fields["f:metadata"]
    assert fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}'] == {
        ".": {}, "f:image": {}, "f:name": {},
    }


def test_reapplying_the_same_config_changes_nothing_and_keeps_the_time(deployment_type):
    first = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    again = apply(first, deployment(), "helm", False, deployment_type, now=T1)
    assert again.ok and not again.changed
    assert again.object == first


def test_conflict_with_an_update_manager_uses_upstream_message(deployment_type):
    live = record_update(None, deployment(), "kubectl-client-side-apply", deployment_type, now=T0)
    result = apply(live, deployment(replicas=5), "kubectl", False, deployment_type, now=T1)
    assert not result.ok and result.object is None
    assert result.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        ".spec.replicas"
    )
    status = result.status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
            "field": ".spec.replicas",
        }
    ]


def test_several_conflicts_are_grouped_by_sorted_manager(deployment_type):
    live = apply(None, deployment(), "alpha", False, deployment_type, now=T0).object
    live = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                        "spec": {"paused": True}}, "beta", False, deployment_type, now=T0).object
    changed = deployment(replicas=9, image="nginx:2", paused=False)
    result = apply(live, changed, "gamma", False, deployment_type, now=T1)
    assert result.message == (
        "Apply failed with 3 conflicts: conflicts with \"alpha\":\n"
        "- .spec.replicas\n"
        "- .spec.template.spec.containers[name=\"web\"].image\n"
        "conflicts with \"beta\":\n"
        "- .spec.paused"
    )


def test_same_value_is_shared_ownership_not_a_conflict(deployment_type):
    live = apply(None, deployment(), "a", False, deployment_type, now=T0).object
    result = apply(live, deployment(), "b", False, deployment_type, now=T1)
    assert result.ok
    assert REPLICAS in owned(result.object, "a") and REPLICAS in owned(result.object, "b")


def test_force_takes_ownership(deployment_type):
    live = record_update(None, deployment(), "kubectl-client-side-apply", deployment_type, now=T0)
    result = apply(live, deployment(replicas=5), "kubectl", True, deployment_type, now=T1)
    assert result.ok and result.object["spec"]["replicas"] == 5
    assert REPLICAS in owned(result.object, "kubectl")
    assert REPLICAS not in owned(result.object, "kubectl-client-side-apply", "Update")


def test_fields_dropped_from_the_config_are_removed(deployment_type):
    live = apply(None, deployment(labels={"app": "web", "tier": "front"}), "helm", False,
                 deployment_type, now=T0).object
    result = apply(live, deployment(labels={"app": "web"}), "helm", False, deployment_type, now=T1)
    assert result.object["metadata"]["labels"] == {"app": "web"}


def test_dropped_fields_stay_when_another_applier_owns_them(deployment_type):
    live = apply(None, deployment(labels={"app": "web", "tier": "front"}), "helm", False,
                 deployment_type, now=T0).object
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": "front"}}}
    live = apply(live, other, "ops", False, deployment_type, now=T0).object
    result = apply(live, deployment(labels={"app": "web"}), "helm", False, deployment_type, now=T1)
    assert result.object["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_dropping_a_whole_map_removes_it_when_nobody_else_owns_it(deployment_type):
    config = deployment()
    config["metadata"]["annotations"] = {"team": "payments"}
    live = apply(None, config, "helm", False, deployment_type, now=T0).object
    result = apply(live, deployment(), "helm", False, deployment_type, now=T1)
    assert "annotations" not in result.object["metadata"]


def test_unowned_fields_are_never_pruned(deployment_type):
    live = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    live["spec"]["revisionHistoryLimit"] = 10  # a default set by the server, owned by nobody
    result = apply(live, deployment(replicas=4), "helm", False, deployment_type, now=T1)
    assert result.object["spec"]["revisionHistoryLimit"] == 10


def test_associative_list_items_merge_by_key_across_managers(deployment_type):
    live = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    sidecar = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy"}]}}},
    }
    live = apply(live, sidecar, "mesh", False, deployment_type, now=T0).object
    names = [c["name"] for c in live["spec"]["template"]["spec"]["containers"]]
    assert names == ["web", "proxy"]
    # helm re-applies with a new image: the sidecar stays, the image changes
    result = apply(live, deployment(image="nginx:1.26"), "helm", False, deployment_type, now=T1)
    containers = result.object["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.26"), ("proxy", "envoy")]
    # the mesh manager removes its sidecar
    gone = apply(result.object, {**sidecar, "spec": {"template": {"spec": {"containers": []}}}},
                 "mesh", False, deployment_type, now=T1)
    assert [c["name"] for c in gone.object["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_container_ports_are_keyed_with_the_default_protocol(deployment_type):
    config = deployment(containers=[{"name": "web", "image": "x", "ports": [{"containerPort": 80}]}])
    obj = apply(None, config, "helm", False, deployment_type, now=T0).object
    item = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"), ("k", '{"name":"web"}'),
            ("f", "ports"), ("k", '{"containerPort":80,"protocol":"TCP"}'))
    assert item in owned(obj, "helm")


def test_set_lists_merge_by_value(deployment_type):
    a = deployment()
    a["metadata"]["finalizers"] = ["a.example/x"]
    live = apply(None, a, "first", False, deployment_type, now=T0).object
    b = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": ["b.example/y"]}}
    live = apply(live, b, "second", False, deployment_type, now=T0).object
    assert live["metadata"]["finalizers"] == ["a.example/x", "b.example/y"]
    assert (("f", "metadata"), ("f", "finalizers"), ("v", '"b.example/y"')) in owned(live, "second")


def test_atomic_lists_are_replaced_and_conflict_as_a_whole(deployment_type):
    config = deployment(containers=[{"name": "web", "image": "x", "args": ["--a", "--b"]}])
    live = apply(None, config, "helm", False, deployment_type, now=T0).object
    changed = deployment(containers=[{"name": "web", "image": "x", "args": ["--c"]}])
    result = apply(live, changed, "other", False, deployment_type, now=T1)
    assert result.message.endswith('.spec.template.spec.containers[name="web"].args')
    forced = apply(live, changed, "other", True, deployment_type, now=T1)
    assert forced.object["spec"]["template"]["spec"]["containers"][0]["args"] == ["--c"]


def test_atomic_maps_are_owned_whole(deployment_type):
    # LabelSelector is x-kubernetes-map-type: atomic
    obj = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    fields = owned(obj, "helm")
    assert (("f", "spec"), ("f", "selector")) in fields
    assert (("f", "spec"), ("f", "selector"), ("f", "matchLabels")) not in fields


def test_objects_without_managed_fields_are_owned_by_before_first_apply(deployment_type):
    legacy = deployment()
    result = apply(legacy, deployment(replicas=7), "kubectl", False, deployment_type, now=T1)
    assert result.message == (
        f'Apply failed with 1 conflict: conflict with "{BEFORE_FIRST_APPLY}" using apps/v1: .spec.replicas'
    )
    ok = apply(legacy, deployment(), "kubectl", False, deployment_type, now=T1)
    assert (BEFORE_FIRST_APPLY, "Update") in managers(ok.object)


def test_applied_managed_fields_are_refused(deployment_type):
    config = deployment()
    config["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    with pytest.raises(InvalidObject, match="managedFields must be nil"):
        apply(None, config, "helm", False, deployment_type)


def test_null_in_the_config_unsets_the_field(deployment_type):
    live = apply(None, deployment(paused=True), "helm", False, deployment_type, now=T0).object
    config = deployment()
    config["spec"]["paused"] = None
    result = apply(live, config, "helm", False, deployment_type, now=T1)
    assert "paused" not in result.object["spec"]


def test_status_is_ignored_on_the_main_resource(deployment_type):
    live = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    live["status"] = {"replicas": 3}
    config = deployment()
    config["status"] = {"replicas": 99}
    result = apply(live, config, "helm", False, deployment_type, status="drop", now=T1)
    assert result.object["status"] == {"replicas": 3}
    assert not any(p[0] == ("f", "status") for p in owned(result.object, "helm"))


def test_status_subresource_apply_owns_only_status(deployment_type):
    live = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    config = deployment(replicas=1)
    config["status"] = {"readyReplicas": 2}
    result = apply(live, config, "controller", False, deployment_type, subresource="status",
                   status="only", now=T1)
    assert result.ok
    assert result.object["spec"]["replicas"] == 3 and result.object["status"] == {"readyReplicas": 2}
    entry = [e for e in result.object["metadata"]["managedFields"] if e["manager"] == "controller"][0]
    assert entry["subresource"] == "status"


def test_untyped_objects_apply_with_deduced_types():
    cr = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
          "spec": {"items": [1, 2], "size": {"cpu": 1}}}
    obj = apply(None, cr, "me", False, None, now=T0).object
    fields = owned(obj, "me")
    assert (("f", "spec"), ("f", "items")) in fields  # deduced lists are atomic
    assert (("f", "spec"), ("f", "size"), ("f", "cpu")) in fields


def test_associative_items_without_their_key_are_refused(deployment_type):
    config = deployment(containers=[{"image": "x"}])
    with pytest.raises(InvalidObject, match="omits key field 'name'"):
        apply(None, config, "helm", False, deployment_type)


def test_apply_does_not_mutate_its_inputs(deployment_type):
    live = apply(None, deployment(), "a", False, deployment_type, now=T0).object
    before, config = copy.deepcopy(live), deployment(replicas=1)
    config_before = copy.deepcopy(config)
    apply(live, config, "b", True, deployment_type, now=T1)
    assert live == before and config == config_before


def test_apply_entry_survives_api_version_in_decoding(deployment_type):
    obj = apply(None, deployment(), "helm", False, deployment_type, now=T0).object
    (key,) = decode_managed_fields(obj["metadata"]["managedFields"])
    assert key.api_version == "" and key.operation == "Apply"


# -- multi-manager cases after structured-merge-diff merge/multiple_appliers_test.go ----------


def containers_of(obj):
    return [(c["name"], c.get("image")) for c in obj["spec"]["template"]["spec"]["containers"]]


def test_item_co_owned_by_another_applier_survives_removal(deployment_type):
    a = deployment(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "2"}])
    live = apply(None, a, "alpha", False, deployment_type, now=T0).object
    b = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}
    live = apply(live, b, "beta", False, deployment_type, now=T0).object
    result = apply(live, deployment(containers=[{"name": "a", "image": "1"}]), "alpha", False, deployment_type, now=T1)
    assert containers_of(result.object) == [("a", "1"), ("b", "2")]
    # beta lets go too: now b goes
    gone = apply(result.object, {**b, "spec": {"template": {"spec": {"containers": []}}}}, "beta", False,
                 deployment_type, now=T1)
    assert containers_of(gone.object) == [("a", "1")]


def test_set_items_dropped_by_their_only_applier_go():
    from shiplane.cluster.openapi import SchemaCatalog

    node = SchemaCatalog().type_for("v1", "Pod")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["x", "y"]}}
    live = apply(None, pod, "m", False, node, now=T0).object
    result = apply(live, {**pod, "metadata": {"name": "p", "finalizers": ["x"]}}, "m", False, node, now=T1)
    assert result.object["metadata"]["finalizers"] == ["x"]


def test_fields_taken_by_an_update_stay_when_the_applier_drops_them(deployment_type):
    live = apply(None, deployment(replicas=3), "helm", False, deployment_type, now=T0).object
    scaled = record_update(live, {**live, "spec": {**live["spec"], "replicas": 6}}, "kubectl-scale",
                           deployment_type, now=T1)
    config = deployment()
    del config["spec"]["replicas"]
    result = apply(scaled, config, "helm", False, deployment_type, now=T1)
    assert result.ok and result.object["spec"]["replicas"] == 6
    assert REPLICAS in owned(result.object, "kubectl-scale", "Update")


def test_reordering_an_associative_list_follows_the_applied_order(deployment_type):
    live = apply(None, deployment(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]),
                 "m", False, deployment_type, now=T0).object
    result = apply(live, deployment(containers=[{"name": "b", "image": "2"}, {"name": "a", "image": "1"}]),
                   "m", False, deployment_type, now=T1)
    assert containers_of(result.object) == [("b", "2"), ("a", "1")]
