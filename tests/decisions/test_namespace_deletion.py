"""Namespace deletion decisions (k8s pkg/controller/namespace/deletion:
namespaced_resources_deleter_test.go, status_condition_utils_test.go)."""

from __future__ import annotations

from k8s_objects import T0, at

from shiplane.cluster.decisions.namespace_deletion import (
    CONDITION_TYPES,
    ContentLeft,
    DeletableResource,
    deletable_resources,
    deletion_conditions,
    finalized,
    remaining_content,
    requeue_after,
    without_finalizer,
)

PODS = DeletableResource("", "v1", "pods", True)
CONFIGMAPS = DeletableResource("", "v1", "configmaps", True)
WIDGETS = DeletableResource("example.com", "v1", "widgets", False)


def test_discovery_keeps_namespaced_listable_deletable_top_level_resources():
    docs = [
        {"groupVersion": "v1", "resources": [
            {"name": "pods", "namespaced": True, "verbs": ["list", "delete", "deletecollection"]},
            {"name": "pods/status", "namespaced": True, "verbs": ["get", "update"]},
            {"name": "nodes", "namespaced": False, "verbs": ["list", "delete"]},
            {"name": "bindings", "namespaced": True, "verbs": ["create"]},
        ]},
        {"groupVersion": "example.com/v1", "resources": [
            {"name": "widgets", "namespaced": True, "verbs": ["list", "delete"]}]},
    ]
    assert deletable_resources(docs) == [PODS, WIDGETS]
    assert PODS.label == "pods." and WIDGETS.label == "widgets.example.com"


def _pod(grace=None, phase="Running", finalizers=()):
    spec = {} if grace is None else {"terminationGracePeriodSeconds": grace}
    return {"metadata": {"name": "p", "finalizers": list(finalizers)}, "spec": spec,
            "status": {"phase": phase}}


def test_nothing_left_means_no_estimate():
    assert remaining_content(CONFIGMAPS, "ns", [], T0, T0) == ContentLeft("configmaps.")


def test_terminating_pods_are_waited_for_their_grace_period_since_the_namespace_was_deleted():
    left = remaining_content(PODS, "ns", [_pod(), _pod(grace=45), _pod(grace=90, phase="Failed")],
                             T0, at(10))
    assert (left.count, left.estimate, left.error) == (3, 45, None)
    # once the longest grace period has passed the pods are unexpected leftovers
    late = remaining_content(PODS, "ns", [_pod(grace=45)], T0, at(45))
    assert late.estimate == 0
    assert late.error == ("unexpected items still remain in namespace: ns for gvr: /v1, "
                          "Resource=pods")


def test_items_with_finalizers_get_the_fixed_15_second_estimate():
    items = [{"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["a"]}}]
    left = remaining_content(WIDGETS, "ns", items, T0, T0)
    assert left == ContentLeft("widgets.example.com", 2, {"a": 2, "b": 1}, 15)
    assert requeue_after(15) == 8.5


def test_conditions_report_content_finalizers_and_failures_like_upstream():
    content = [ContentLeft("pods.", 2, {}, 30),
               ContentLeft("widgets.example.com", 1, {"x/y": 1}, 15), ContentLeft("configmaps.")]
    status = deletion_conditions({"phase": "Terminating"}, content, ["boom"], T0)
    by_type = {c["type"]: c for c in status["conditions"]}
    assert list(by_type) == list(CONDITION_TYPES)
    assert by_type["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: pods. has 2 resource instances, widgets.example.com has 1 "
        "resource instances")
    assert by_type["NamespaceFinalizersRemaining"]["message"] == (
        "Some finalizers are remaining: x/y in 1 resource instances")
    assert by_type["NamespaceDeletionContentFailure"]["message"] == (
        "Failed to delete all resource types, 1 remaining: boom")
    assert by_type["NamespaceDeletionDiscoveryFailure"] == {
        "type": "NamespaceDeletionDiscoveryFailure", "status": "False",
        "lastTransitionTime": "2026-03-01T12:00:00Z", "reason": "ResourcesDiscovered",
        "message": "All resources successfully discovered"}
    # same outcome later: unchanged (no write); content gone: ok variants, new transition time
    assert deletion_conditions(status, content, ["boom"], at(5)) is None
    done = deletion_conditions(status, [ContentLeft("pods.")], [], at(5))
    cleared = {c["type"]: c for c in done["conditions"]}["NamespaceContentRemaining"]
    assert cleared == {"type": "NamespaceContentRemaining", "status": "False",
                       "lastTransitionTime": "2026-03-01T12:00:05Z", "reason": "ContentRemoved",
                       "message": "All content successfully removed"}


def test_finalize_body_drops_only_our_token():
    ns = {"metadata": {"name": "x"}, "spec": {"finalizers": ["kubernetes", "z", "a"]},
          "status": {"phase": "Terminating"}}
    body = without_finalizer(ns)
    assert body["spec"]["finalizers"] == ["a", "z"] and "status" not in body
    assert not finalized(ns) and finalized({"spec": {"finalizers": []}})
