"""ReplicaSet controller core (k8s pkg/controller/replicaset/replica_set_test.go slow start and
TestGetPodsToDelete; pkg/controller/controller_utils_test.go TestSortingActivePodsWithRanks;
replica_set_utils_test.go TestCalculateStatus)."""

import pytest
from k8s_objects import T0, at, pod, replicaset, template

from shiplane.cluster.decisions.replicaset import (
    calculate_replicaset_status,
    created_event,
    deleted_event,
    plan_replicaset,
    pod_from_template,
    pods_to_delete,
    slow_start_batches,
)


@pytest.mark.parametrize(
    "count,batches",
    [
        (0, ()),
        (1, (1,)),
        (2, (1, 1)),
        (3, (1, 2)),
        (7, (1, 2, 4)),
        (10, (1, 2, 4, 3)),
        (16, (1, 2, 4, 8, 1)),
    ],
)
def test_slow_start_batches(count, batches):
    assert slow_start_batches(count) == batches


def rs(replicas, min_ready=0):
    r = replicaset("web-abc", template("web:1"), replicas)
    r["spec"]["minReadySeconds"] = min_ready
    return r


def test_plan_creates_missing_pods_in_slow_start_batches_capped_at_burst():
    plan = plan_replicaset(rs(10), [pod(f"p{i}", labels={"app": "web"}) for i in range(3)], T0)
    assert plan.create_batches == (1, 2, 4) and plan.delete == ()
    big = plan_replicaset(rs(1000), [], T0)
    assert big.create == 500  # burstReplicas


def test_terminating_and_finished_pods_are_not_counted():
    pods = [
        pod("a", labels={"app": "web"}),
        pod("b", labels={"app": "web"}, deleting=True),
        pod("c", labels={"app": "web"}, phase="Failed"),
    ]
    plan = plan_replicaset(rs(2), pods, T0)
    assert plan.create == 1 and plan.status["replicas"] == 1


def test_deletes_the_least_useful_pods():
    pods = [
        pod("running-ready", node="n1", ready=True),
        pod("pending", node="n1", phase="Pending", ready=False),
        pod("unassigned", node="", phase="Pending", ready=None),
        pod("running-unready", node="n1", ready=False),
    ]
    plan = plan_replicaset(rs(1), pods, at(100))
    assert plan.delete == ("unassigned", "pending", "running-unready")


@pytest.mark.parametrize(
    "first,second",
    [
        (
            pod("u", node="", phase="Pending", ready=None),
            pod("a", node="n1", phase="Pending", ready=None),
        ),
        (
            pod("p", node="n1", phase="Pending", ready=None),
            pod("k", node="n1", phase="Unknown", ready=None),
        ),
        (
            pod("k", node="n1", phase="Unknown", ready=None),
            pod("r", node="n1", phase="Running", ready=None),
        ),
        (pod("nr", node="n1", ready=False), pod("r", node="n1", ready=True)),
        (
            pod("young", node="n1", ready=True, ready_since=95),
            pod("old", node="n1", ready=True, ready_since=0),
        ),
        (
            pod("crashy", node="n1", ready=True, restarts=5),
            pod("calm", node="n1", ready=True, restarts=0),
        ),
        (
            pod("new", node="n1", ready=True, created=90),
            pod("old", node="n1", ready=True, created=0),
        ),
    ],
)
def test_active_pods_with_ranks_order(first, second):
    for a, b in ((first, second), (second, first)):
        assert (
            pods_to_delete([a, b], [a, b], 1, at(100))[0]["metadata"]["name"]
            == first["metadata"]["name"]
        )


def test_deletion_cost_annotation_wins_over_rank():
    cheap = pod("cheap", node="n1")
    cheap["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": "-10"}
    dear = pod("dear", node="n2")
    assert (
        pods_to_delete([dear, cheap], [dear, cheap], 1, at(100))[0]["metadata"]["name"] == "cheap"
    )


def test_doubled_up_pods_go_first():
    a, b = pod("crowded", node="n1"), pod("alone", node="n2")
    sibling = pod("sibling", node="n1", owner="web-other")
    assert pods_to_delete([b, a], [a, b, sibling], 1, at(100))[0]["metadata"]["name"] == "crowded"


def test_ready_time_uses_logarithmic_buckets():
    # ready 60 s vs 40 s ago: both in the 2^35 ns bucket, so the UID decides (LogarithmicScaleDown);
    # without buckets "b" (ready for less time) would go first
    a = pod("a", node="n1", ready_since=40)
    b = pod("b", node="n1", ready_since=60)
    assert pods_to_delete([b, a], [a, b], 1, at(100))[0]["metadata"]["name"] == "a"
    # 10 s vs 60 s ago: different buckets, the more recently ready goes first
    c = pod("c", node="n1", ready_since=90)
    assert pods_to_delete([a, c], [a, c], 1, at(100))[0]["metadata"]["name"] == "c"


def test_status_counts_fully_labeled_ready_and_available_with_min_ready_seconds():
    r = rs(3, min_ready=10)
    pods = [
        pod("a", labels={"app": "web"}, ready=True, ready_since=0),
        pod("b", labels={"app": "web"}, ready=True, ready_since=95),
        pod("c", labels={}, ready=False),
    ]
    status = calculate_replicaset_status(r, pods, at(100))
    assert {
        k: status[k]
        for k in (
            "replicas",
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "observedGeneration",
        )
    } == {
        "replicas": 3,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 1,
    }


def test_requeue_after_min_ready_seconds_when_ready_but_not_available():
    r = rs(1, min_ready=10)
    plan = plan_replicaset(
        r, [pod("a", labels={"app": "web"}, ready=True, ready_since=95)], at(100)
    )
    assert plan.requeue_after == 10.0
    assert (
        plan_replicaset(
            r, [pod("a", labels={"app": "web"}, ready=True, ready_since=0)], at(100)
        ).requeue_after
        is None
    )


def test_pod_from_template_and_events():
    r = rs(1)
    r["spec"]["template"]["metadata"]["annotations"] = {"x": "y"}
    p = pod_from_template(r)
    assert p["metadata"]["generateName"] == "web-abc-"
    assert p["metadata"]["labels"] == {"app": "web"} and p["metadata"]["annotations"] == {"x": "y"}
    assert p["metadata"]["ownerReferences"][0] == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web-abc",
        "uid": "web-abc-uid",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert (
        p["spec"] == r["spec"]["template"]["spec"]
        and p["spec"] is not r["spec"]["template"]["spec"]
    )
    assert created_event("web-abc-x1") == ("Normal", "SuccessfulCreate", "Created pod: web-abc-x1")
    assert deleted_event("web-abc-x1") == ("Normal", "SuccessfulDelete", "Deleted pod: web-abc-x1")


def test_replica_failure_condition_is_added_once_and_cleared():
    from shiplane.cluster.decisions.replicaset import settle_replica_failure

    status = plan_replicaset(rs(3), [], T0).status
    failed = settle_replica_failure(
        status, -3, 'pods "web-abc-x" is forbidden: exceeded quota', at(1)
    )
    (cond,) = failed["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "ReplicaFailure",
        "True",
        "FailedCreate",
    )
    again = settle_replica_failure(failed, -3, "other", at(9))
    assert again["conditions"] == [cond]  # kept as it was
    assert "conditions" not in settle_replica_failure(again, -3, None, at(10))
    assert (
        settle_replica_failure(status, 2, "x", at(1))["conditions"][0]["reason"] == "FailedDelete"
    )
