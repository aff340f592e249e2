"""plan_deployment: one Deployment controller sync (cases modelled on k8s
pkg/controller/deployment/rolling_test.go, recreate_test.go, sync_test.go TestScale,
progress_test.go and deployment_controller_test.go)."""

from __future__ import annotations

import copy

from k8s_objects import T0, at, deployment, pod, replicaset, template

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.rollout import (
    CreateReplicaSet,
    DeleteReplicaSet,
    UpdateDeployment,
    UpdateReplicaSet,
    calculate_status,
    plan_deployment,
)


def of(plan, kind):
    return [a for a in plan.actions if isinstance(a, kind)]


def scaled(plan) -> dict[str, int]:
    return {
        a.replicaset["metadata"]["name"]: a.replicaset["spec"]["replicas"]
        for a in of(plan, UpdateReplicaSet)
    }


def deployment_update(plan) -> UpdateDeployment:
    (update,) = of(plan, UpdateDeployment)
    return update


def test_first_sync_creates_the_new_replicaset_like_upstream():
    d = deployment(replicas=3)
    d["metadata"]["annotations"] = {"team": "pay"}
    plan = plan_deployment(d, [], [], T0)
    (create,) = of(plan, CreateReplicaSet)
    rs = create.replicaset
    h = du.compute_hash(d["spec"]["template"], None)
    name = f"web-{h}"
    assert rs["metadata"]["name"] == name == plan.new_replicaset
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "web-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert rs["metadata"]["annotations"] == {
        "team": "pay",
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": "3",
        "deployment.kubernetes.io/max-replicas": "4",
    }
    assert plan.events == (
        Event("Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to 3"),
    )
    update = deployment_update(plan)
    assert update.annotations["deployment.kubernetes.io/revision"] == "1"
    conds = {c["type"]: c for c in update.status["conditions"]}
    assert (
        conds["Available"]["status"],
        conds["Available"]["reason"],
        conds["Available"]["message"],
    ) == ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    assert (
        conds["Progressing"]["status"],
        conds["Progressing"]["reason"],
        conds["Progressing"]["message"],
    ) == ("True", "NewReplicaSetCreated", f'Created new replica set "{name}"')
    assert update.status["observedGeneration"] == 1


def test_rolling_step_scales_up_to_surge_then_down_within_budget():
    d = deployment(replicas=10, surge=2, unavailable=2, image="web:2")
    old = replicaset("web-old", template("web:1"), 10, revision=1, desired=10, max_replicas=12)
    plan = plan_deployment(d, [old], [], T0)
    (create,) = of(plan, CreateReplicaSet)
    assert create.replicaset["spec"]["replicas"] == 2
    assert create.replicaset["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert scaled(plan) == {"web-old": 8}
    # the status of this sync is computed from the sizes before scaling, as upstream (12 - 10)
    assert deployment_update(plan).status["unavailableReplicas"] == 2
    assert [e.message for e in plan.events] == [
        f"Scaled up replica set {plan.new_replicaset} from 0 to 2",
        "Scaled down replica set web-old from 10 to 8",
    ]


def test_no_scale_down_while_new_pods_are_unavailable():
    # maxScaledDown = allPods - minAvailable - newRSUnavailable = 12 - 8 - 4 = 0 (rolling.go case 1)
    d = deployment(replicas=10, surge=2, unavailable=2, image="web:2")
    old = replicaset(
        "web-old", template("web:1"), 8, available=8, revision=1, desired=10, max_replicas=12
    )
    new = replicaset(
        "web-new",
        template("web:2"),
        4,
        available=0,
        revision=2,
        created=5,
        desired=10,
        max_replicas=12,
    )
    plan = plan_deployment(d, [old, new], [], T0)
    assert scaled(plan) == {}


def test_unhealthy_old_replicas_are_cleaned_up_first():
    d = deployment(replicas=10, surge=2, unavailable=2, image="web:2")
    old = replicaset(
        "web-old", template("web:1"), 10, available=6, revision=1, desired=10, max_replicas=12
    )
    new = replicaset(
        "web-new",
        template("web:2"),
        2,
        available=0,
        revision=2,
        created=5,
        desired=10,
        max_replicas=12,
    )
    plan = plan_deployment(d, [old, new], [], T0)
    # budget 12 - 8 - 2 = 2, taken from the 4 unavailable old replicas; availability 6 <= 8 stops the rest
    assert scaled(plan) == {"web-old": 8}



def test_cleanup_never_scales_an_old_replicaset_up_when_its_status_lags():
    # rolling.go cleanupUnhealthyReplicas: the old RS was just scaled 3 -> 2 but its status still
    # counts 3 available pods; "scaling down" by 2 - 3 = -1 would grow it. Upstream returns an
    # error (the sync is retried with back-off) and writes nothing else.
    d = deployment(replicas=5, surge=0, unavailable=2, image="web:2")
    old = replicaset(
        "web-old", template("web:1"), 2, available=3, revision=1, desired=5, max_replicas=5
    )
    new = replicaset(
        "web-new", template("web:2"), 3, available=2, revision=2, created=5, desired=5,
        max_replicas=5,
    )
    plan = plan_deployment(d, [old, new], [], T0)
    assert scaled(plan) == {}
    assert of(plan, UpdateDeployment) == []
    assert plan.error == (
        "when cleaning up unhealthy replicas, got invalid request to scale down "
        "default/web-old 2 -> 3"
    )

def test_old_replicasets_scaled_down_oldest_first():
    d = deployment(replicas=10, surge=2, unavailable=0, image="web:3")
    oldest = replicaset(
        "web-a", template("web:1"), 5, revision=1, created=0, desired=10, max_replicas=12
    )
    older = replicaset(
        "web-b", template("web:2"), 5, revision=2, created=10, desired=10, max_replicas=12
    )
    new = replicaset(
        "web-c", template("web:3"), 2, revision=3, created=20, desired=10, max_replicas=12
    )
    plan = plan_deployment(d, [older, new, oldest], [], T0)
    assert scaled(plan) == {"web-a": 3}
    assert plan.events == (
        Event("Normal", "ScalingReplicaSet", "Scaled down replica set web-a from 5 to 3"),
    )


def test_new_replicaset_above_desired_is_scaled_down():
    d = deployment(replicas=2, surge=0, unavailable=1)
    new = replicaset("web-new", template("web:1"), 3, revision=1, desired=2, max_replicas=2)
    plan = plan_deployment(d, [new], [], T0)
    assert scaled(plan) == {"web-new": 2}


def test_recreate_scales_old_to_zero_then_waits_for_pods_then_creates():
    d = deployment(replicas=3, strategy="Recreate", image="web:2")
    old = replicaset("web-old", template("web:1"), 3, revision=1, desired=3, max_replicas=3)
    step1 = plan_deployment(d, [old], [], T0)
    assert scaled(step1) == {"web-old": 0} and not of(step1, CreateReplicaSet)
    old0 = replicaset(
        "web-old",
        template("web:1"),
        0,
        actual=2,
        available=0,
        revision=1,
        desired=3,
        max_replicas=3,
    )
    assert not of(plan_deployment(d, [old0], [], at(1)), CreateReplicaSet)
    gone = replicaset(
        "web-old", template("web:1"), 0, actual=0, revision=1, desired=3, max_replicas=3
    )
    lingering = pod("web-old-x", owner="web-old", phase="Running")
    assert not of(plan_deployment(d, [gone], [lingering], at(2)), CreateReplicaSet)
    finished = pod("web-old-y", owner="web-old", phase="Succeeded")
    step4 = plan_deployment(d, [gone], [finished], at(3))
    (create,) = of(step4, CreateReplicaSet)
    assert create.replicaset["spec"]["replicas"] == 3


def progressing_status(reason="ReplicaSetUpdated", since=T0, **counts):
    status = {
        "observedGeneration": 1,
        "replicas": 4,
        "updatedReplicas": 1,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "unavailableReplicas": 1,
    }
    status.update(counts)
    status["conditions"] = [
        du.new_condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            since,
        ),
        du.new_condition(
            "Progressing", "True", reason, 'ReplicaSet "web-new" is progressing.', since
        ),
    ]
    return status


def stuck_rollout():
    d = deployment(replicas=3, surge=1, unavailable=0, image="web:2", status=progressing_status())
    d["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    old = replicaset("web-old", template("web:1"), 3, revision=1, desired=3, max_replicas=4)
    new = replicaset(
        "web-new",
        template("web:2"),
        1,
        available=0,
        ready=0,
        revision=2,
        created=1,
        desired=3,
        max_replicas=4,
    )
    return d, [old, new]


def test_stuck_rollout_is_requeued_until_its_deadline():
    d, rss = stuck_rollout()
    plan = plan_deployment(d, rss, [], at(300))
    assert plan.actions == ()
    assert plan.requeue_after == 301.0


def test_progress_deadline_exceeded_after_progress_deadline_seconds():
    d, rss = stuck_rollout()
    assert not of(plan_deployment(d, rss, [], at(600)), UpdateDeployment)  # not strictly after yet
    plan = plan_deployment(d, rss, [], at(601))
    cond = du.get_condition(deployment_update(plan).status, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        'ReplicaSet "web-new" has timed out progressing.',
    )
    assert cond["lastUpdateTime"] == format_time(at(601))


def test_progress_resets_the_deadline_clock():
    d, rss = stuck_rollout()
    rss[1]["status"].update(availableReplicas=1, readyReplicas=1)
    plan = plan_deployment(d, rss, [], at(500))
    cond = du.get_condition(deployment_update(plan).status, "Progressing")
    assert cond["reason"] == "ReplicaSetUpdated" and cond["lastUpdateTime"] == format_time(at(500))
    assert cond["lastTransitionTime"] == format_time(T0)


def test_complete_rollout_reports_success_and_cleans_old_revisions():
    status = progressing_status(
        replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2, unavailableReplicas=0
    )
    d = deployment(
        replicas=2, surge=1, unavailable=0, image="web:3", status=status, revisionHistoryLimit=1
    )
    rss = [
        replicaset("web-a", template("web:1"), 0, revision=1, created=0),
        replicaset("web-b", template("web:2"), 0, revision=2, created=5),
        replicaset("web-c", template("web:3"), 2, revision=3, created=9, desired=2, max_replicas=3),
    ]
    plan = plan_deployment(d, rss, [], at(50))
    assert of(plan, DeleteReplicaSet) == [DeleteReplicaSet("web-a")]
    cond = du.get_condition(deployment_update(plan).status, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True",
        "NewReplicaSetAvailable",
        'ReplicaSet "web-c" has successfully progressed.',
    )


def test_cleanup_skips_replicasets_that_still_have_pods():
    status = progressing_status(
        replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2, unavailableReplicas=0
    )
    d = deployment(replicas=2, image="web:3", status=status, revisionHistoryLimit=0)
    rss = [
        replicaset("web-a", template("web:1"), 0, actual=1, available=0, revision=1),
        replicaset("web-c", template("web:3"), 2, revision=3, created=9, desired=2, max_replicas=3),
    ]
    assert of(plan_deployment(d, rss, [], at(50)), DeleteReplicaSet) == []


def test_pause_and_resume_conditions_and_no_rollout_while_paused():
    d, rss = stuck_rollout()
    d["spec"]["paused"] = True
    d["spec"]["template"] = template("web:9")
    plan = plan_deployment(d, rss, [], at(10))
    assert not of(plan, CreateReplicaSet)
    cond = du.get_condition(deployment_update(plan).status, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    d["status"] = deployment_update(plan).status
    d["spec"]["paused"] = False
    plan = plan_deployment(d, rss, [], at(20))
    assert of(plan, CreateReplicaSet)
    # resumed (Unknown) first, then the new ReplicaSet's creation replaces it
    cond = du.get_condition(deployment_update(plan).status, "Progressing")
    assert (cond["status"], cond["reason"]) == ("True", "NewReplicaSetCreated")


def test_resumed_condition_is_set_when_pause_is_lifted():
    d, rss = stuck_rollout()
    d["status"]["conditions"][1] = du.new_condition(
        "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", T0
    )
    plan = plan_deployment(d, rss, [], at(5))
    cond = du.get_condition(deployment_update(plan).status, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        "DeploymentResumed",
        "Deployment is resumed",
    )


def test_timed_out_condition_is_not_overwritten_by_pause():
    d, rss = stuck_rollout()
    d["status"]["conditions"][1] = du.new_condition(
        "Progressing", "False", "ProgressDeadlineExceeded", "x", T0
    )
    d["spec"]["paused"] = True
    plan = plan_deployment(d, rss, [], at(5))
    assert all(
        du.get_condition(u.status, "Progressing")["reason"] == "ProgressDeadlineExceeded"
        for u in of(plan, UpdateDeployment)
    )


def test_proportional_scaling_5_to_10():
    # sync_test.go TestScale "proportional scaling: 5 -> 10"
    d = deployment(replicas=10, surge=0, unavailable=1, image="web:2")
    old = replicaset(
        "foo-v1", template("web:1"), 3, revision=1, created=0, desired=5, max_replicas=5
    )
    new = replicaset(
        "foo-v2", template("web:2"), 2, revision=2, created=9, desired=5, max_replicas=5
    )
    plan = plan_deployment(d, [old, new], [], T0)
    assert scaled(plan) == {"foo-v1": 6, "foo-v2": 4}
    assert (
        Event("Normal", "ScalingReplicaSet", "Scaled up replica set foo-v1 from 3 to 6")
        in plan.events
    )


def test_proportional_scaling_down_5_to_3():
    d = deployment(replicas=3, surge=0, unavailable=1, image="web:2")
    old = replicaset(
        "foo-v1", template("web:1"), 3, revision=1, created=0, desired=5, max_replicas=5
    )
    new = replicaset(
        "foo-v2", template("web:2"), 2, revision=2, created=9, desired=5, max_replicas=5
    )
    plan = plan_deployment(d, [old, new], [], T0)
    assert scaled(plan) == {"foo-v1": 2, "foo-v2": 1}


def test_scaling_a_single_active_replicaset_takes_the_whole_count():
    d = deployment(replicas=7)
    rs = replicaset("web-a", template("web:1"), 3, revision=1, desired=3, max_replicas=4)
    plan = plan_deployment(d, [rs], [], T0)
    assert scaled(plan) == {"web-a": 7}
    updated = of(plan, UpdateReplicaSet)[0].replicaset
    assert updated["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "7"
    assert updated["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "9"


def test_rollback_reuses_the_old_replicaset_and_records_revision_history():
    d = deployment(replicas=3, image="web:1")
    d["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    a = replicaset("web-a", template("web:1"), 0, revision=1, created=0, desired=3, max_replicas=4)
    b = replicaset("web-b", template("web:2"), 3, revision=2, created=5, desired=3, max_replicas=4)
    plan = plan_deployment(d, [a, b], [], T0)
    updates = {u.replicaset["metadata"]["name"]: u.replicaset for u in of(plan, UpdateReplicaSet)}
    ann = updates["web-a"]["metadata"]["annotations"]
    assert ann["deployment.kubernetes.io/revision"] == "3"
    assert ann["deployment.kubernetes.io/revision-history"] == "1"
    assert updates["web-a"]["spec"]["replicas"] == 1  # surge 25% of 3 -> 1
    assert deployment_update(plan).annotations["deployment.kubernetes.io/revision"] == "3"
    assert plan.new_replicaset == "web-a"


def test_hash_collision_bumps_collision_count():
    d = deployment(replicas=1)
    squatter = replicaset(
        f"web-{du.compute_hash(d['spec']['template'], None)}", template("other:1"), 1, revision=1
    )
    plan = plan_deployment(d, [squatter], [], T0)
    assert not of(plan, CreateReplicaSet)
    assert deployment_update(plan).status["collisionCount"] == 1
    d["status"] = deployment_update(plan).status
    (create,) = of(plan_deployment(d, [squatter], [], T0), CreateReplicaSet)
    assert (
        create.replicaset["metadata"]["name"] == f"web-{du.compute_hash(d['spec']['template'], 1)}"
    )


def test_empty_selector_selects_all_warning():
    d = deployment()
    d["spec"]["selector"] = {}
    d["metadata"]["generation"] = 4
    plan = plan_deployment(d, [], [], T0)
    assert plan.events == (
        Event(
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        ),
    )
    assert deployment_update(plan).status["observedGeneration"] == 4
    assert not of(plan, CreateReplicaSet)


def test_deleting_deployment_only_updates_status():
    d = deployment(replicas=3)
    d["metadata"]["deletionTimestamp"] = format_time(T0)
    rs = replicaset(
        "web-a", template("web:1"), 3, available=2, revision=1, desired=3, max_replicas=4
    )
    plan = plan_deployment(d, [rs], [], T0)
    assert of(plan, UpdateReplicaSet) == [] and of(plan, CreateReplicaSet) == []
    assert deployment_update(plan).status["availableReplicas"] == 2


def test_calculate_status_sums_replicasets():
    d = deployment(replicas=4, surge=1, unavailable=1)
    old = replicaset("a", template("web:1"), 2, actual=3, available=2, ready=3)
    new = replicaset("b", template("web:2"), 3, actual=2, available=1, ready=1)
    status = calculate_status([old, None, new], new, d)
    assert {
        k: status[k]
        for k in (
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            "observedGeneration",
        )
    } == {
        "replicas": 5,
        "updatedReplicas": 2,
        "readyReplicas": 4,
        "availableReplicas": 3,
        "unavailableReplicas": 2,
        "observedGeneration": 1,
    }


def test_inputs_are_not_mutated():
    d = deployment(replicas=10, surge=2, unavailable=2, image="web:2")
    old = replicaset("web-old", template("web:1"), 10, revision=1, desired=10, max_replicas=12)
    before = copy.deepcopy((d, old))
    plan_deployment(d, [old], [], T0)
    assert (d, old) == before


def test_create_conflict_and_failure_helpers():
    from shiplane.cluster.decisions.rollout import on_create_conflict, on_create_failed

    d = deployment(replicas=1)
    ours = replicaset("web-x", d["spec"]["template"], 1)
    ours["metadata"]["ownerReferences"] = [{"uid": "web-uid", "controller": True}]
    assert on_create_conflict(d, ours) is None
    theirs = replicaset("web-x", template("other:1"), 1)
    assert on_create_conflict(d, theirs)["collisionCount"] == 1
    status, event = on_create_failed(d, "web-x", "quota exceeded", T0)
    cond = du.get_condition(status, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False",
        "ReplicaSetCreateError",
        'Failed to create new replica set "web-x": quota exceeded',
    )
    assert event == Event(
        "Warning",
        "ReplicaSetCreateError",
        'Failed to create new replica set "web-x": quota exceeded',
    )


def test_replica_failure_of_the_new_replicaset_surfaces_on_the_deployment():
    d, rss = stuck_rollout()
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": "exceeded quota",
        "lastTransitionTime": format_time(at(3)),
    }
    rss[1]["status"]["conditions"] = [failure]
    cond = du.get_condition(
        deployment_update(plan_deployment(d, rss, [], at(5))).status, "ReplicaFailure"
    )
    assert (cond["reason"], cond["message"], cond["lastUpdateTime"]) == (
        "FailedCreate",
        "exceeded quota",
        format_time(at(3)),
    )
    d["status"]["conditions"].append(dict(cond, type="ReplicaFailure"))
    rss[1]["status"]["conditions"] = []
    plan = plan_deployment(d, rss, [], at(6))
    assert du.get_condition(deployment_update(plan).status, "ReplicaFailure") is None
