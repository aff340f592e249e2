"""Garbage collector decisions (k8s pkg/controller/garbagecollector/garbagecollector_test.go
TestAttemptToDeleteItem / TestProcessDeletingDependentsItem situations)."""

from shiplane.cluster.decisions.garbage_collection import (
    DeleteObject,
    Recheck,
    RemoveFinalizer,
    RemoveOwnerReferences,
    plan_collection,
)


def obj(uid, owners=(), finalizers=(), deleting=False, block=True):
    meta = {
        "uid": uid,
        "name": uid,
        "namespace": "default",
        "ownerReferences": [
            {
                "uid": o,
                "kind": "ReplicaSet",
                "name": o,
                "controller": True,
                "blockOwnerDeletion": block,
            }
            for o in owners
        ],
    }
    if finalizers:
        meta["finalizers"] = list(finalizers)
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def test_object_with_live_owner_is_kept():
    rs = obj("rs")
    assert plan_collection(obj("pod", ["rs"]), {"rs": rs}, []) == []
    assert plan_collection(obj("lonely"), {}, []) == []


def test_dangling_dependents_are_deleted_in_the_background():
    assert plan_collection(obj("pod", ["rs"]), {"rs": None}, []) == [
        DeleteObject("pod", "Background")
    ]
    # a same-named owner with another uid is a different object: still dangling
    assert plan_collection(obj("pod", ["rs"]), {"rs": obj("rs-new")}, []) == [
        DeleteObject("pod", "Background")
    ]


def test_dependent_keeps_its_own_propagation_preference():
    orphaning = obj("rs", ["deploy"], finalizers=["orphan"])
    assert plan_collection(orphaning, {"deploy": None}, []) == [DeleteObject("rs", "Orphan")]
    fg = obj("rs", ["deploy"], finalizers=["foregroundDeletion"])
    assert plan_collection(fg, {"deploy": None}, []) == [DeleteObject("rs", "Foreground")]


def test_references_to_gone_owners_are_removed_when_another_owner_lives():
    pod = obj("pod", ["rs-a", "rs-b"])
    assert plan_collection(pod, {"rs-a": obj("rs-a"), "rs-b": None}, []) == [
        RemoveOwnerReferences("pod", ("rs-b",))
    ]


def test_foreground_owner_waits_for_blocking_dependents_then_drops_its_finalizer():
    deploy = obj("deploy", finalizers=["foregroundDeletion"], deleting=True)
    rs = obj("rs", ["deploy"])
    assert plan_collection(deploy, {}, [rs]) == [Recheck("rs")]
    # the ReplicaSet (with pods) is itself deleted in foreground because its owner waits
    assert plan_collection(rs, {"deploy": deploy}, [obj("pod", ["rs"])]) == [
        DeleteObject("rs", "Foreground")
    ]
    assert plan_collection(rs, {"deploy": deploy}, []) == [DeleteObject("rs", "Background")]
    non_blocking = obj("rs", ["deploy"], block=False)
    assert plan_collection(deploy, {}, [non_blocking]) == [
        RemoveFinalizer("deploy", "foregroundDeletion")
    ]
    assert plan_collection(deploy, {}, []) == [RemoveFinalizer("deploy", "foregroundDeletion")]
    leaving = obj("rs", ["deploy"], deleting=True)
    assert plan_collection(deploy, {}, [leaving]) == [Recheck("rs")]
    waiting = obj("rs", ["deploy"], finalizers=["foregroundDeletion"], deleting=True)
    assert plan_collection(deploy, {}, [waiting]) == []  # it is deleting its own dependents


def test_orphan_finalizer_detaches_dependents_first():
    deploy = obj("deploy", finalizers=["orphan"], deleting=True)
    actions = plan_collection(deploy, {}, [obj("rs1", ["deploy"]), obj("rs2", ["deploy"])])
    assert actions == [
        RemoveOwnerReferences("rs1", ("deploy",)),
        RemoveOwnerReferences("rs2", ("deploy",)),
        RemoveFinalizer("deploy", "orphan"),
    ]


def test_object_being_deleted_in_background_is_left_alone():
    assert plan_collection(obj("pod", ["rs"], deleting=True), {"rs": None}, []) == []
