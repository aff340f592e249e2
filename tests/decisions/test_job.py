"""Job controller core (k8s pkg/controller/job/job_controller_test.go TestControllerSyncJob,
TestSyncJobPastDeadline, TestPastBackoffLimitOnFailure, TestJobBackoff, and the condition order
of TestSyncJobWithJobSuccessPolicy; indexed_job_utils_test.go TestCalculateSucceededIndexes,
TestFirstPendingIndexes; ttlafterfinished_controller_test.go TestTimeLeft)."""

from __future__ import annotations

import pytest
from k8s_objects import T0, at

from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.job import (
    COMPLETION_INDEX_KEY,
    completed_indexes,
    completion_index,
    job_finished,
    parse_indexes,
    plan_job,
    pod_for_job,
)


def job(name="pi", status=None, **spec) -> dict:
    body = {
        "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
        "template": {
            "metadata": {"labels": {"batch.kubernetes.io/job-name": name, "job-name": name},
                         "annotations": {"sim.shiplane.dev/exit-after": "1"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
        },
    }
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default", "uid": f"{name}-uid"},
            "spec": body, "status": status or {}}


def jpod(name, phase="Running", ready=None, index=None, node="n1", deleting=False,
         finished=None, restarts=0, created=0) -> dict:
    meta = {"name": name, "namespace": "default", "creationTimestamp": format_time(at(created)),
            "ownerReferences": [{"kind": "Job", "name": "pi", "uid": "pi-uid", "controller": True}]}
    if index is not None:
        meta["annotations"] = {COMPLETION_INDEX_KEY: str(index)}
    if deleting:
        meta["deletionTimestamp"] = format_time(at(0))
    ready = phase == "Running" if ready is None else ready
    status = {"phase": phase,
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": [{"name": "c", "restartCount": restarts, "state": {}}]}
    if finished is not None:
        status["containerStatuses"][0]["state"] = {"terminated": {
            "exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": format_time(at(finished))}}
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": status}


def conditions(plan) -> list[tuple[str, str, str]]:
    return [(c["type"], c["status"], c["reason"]) for c in plan.status.get("conditions", [])]


# --- creating pods (manageJob) -------------------------------------------------------------------


def test_new_job_creates_parallelism_pods_with_job_labels_and_controller_ref():
    plan = plan_job(job(completions=5, parallelism=2), [], T0)
    assert len(plan.create) == 2 and plan.delete == ()
    pod = plan.create[0]
    assert pod["metadata"]["generateName"] == "pi-"
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "pi"
    assert pod["metadata"]["annotations"] == {"sim.shiplane.dev/exit-after": "1"}
    assert pod["metadata"]["ownerReferences"] == [{
        "apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "pi-uid",
        "controller": True, "blockOwnerDeletion": True}]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert plan.status["active"] == 2 and plan.status["startTime"] == format_time(T0)
    assert plan.status["succeeded"] == 0 and plan.status["failed"] == 0
    assert plan.status["uncountedTerminatedPods"] == {}


def test_completions_minus_succeeded_caps_the_pods_wanted():
    pods = [jpod("a", "Succeeded"), jpod("b", "Succeeded"), jpod("c")]
    plan = plan_job(job(completions=3, parallelism=2), pods, T0)
    assert plan.create == () and plan.delete == ()
    assert plan.status["active"] == 1 and plan.status["succeeded"] == 2


def test_a_missing_pod_is_replaced_up_to_parallelism():
    plan = plan_job(job(completions=3, parallelism=2), [jpod("a", "Succeeded"), jpod("b")], T0)
    assert len(plan.create) == 1 and plan.status["active"] == 2


def test_too_many_active_pods_deletes_the_least_useful_first():
    pods = [jpod("running", created=0), jpod("pending", "Pending", node=None, created=5),
            jpod("newer", created=9)]
    plan = plan_job(job(completions=5, parallelism=1), pods, T0)
    assert plan.delete == ("pending", "newer") and plan.create == ()
    assert plan.status["active"] == 1 and plan.status["terminating"] == 2


def test_parallelism_zero_deletes_every_active_pod():
    plan = plan_job(job(completions=2, parallelism=0), [jpod("a")], T0)
    assert plan.delete == ("a",) and plan.status["active"] == 0
    assert not job_finished({"status": plan.status})


def test_ready_and_terminating_are_counted():
    pods = [jpod("a"), jpod("b", ready=False), jpod("gone", deleting=True)]
    plan = plan_job(job(completions=5, parallelism=2), pods, T0)
    assert plan.status["ready"] == 1 and plan.status["active"] == 2
    assert plan.status["terminating"] == 1


def test_finished_counts_never_go_down_when_pods_are_removed():
    prior = {"succeeded": 2, "failed": 1, "startTime": format_time(T0)}
    plan = plan_job(job(completions=4, parallelism=1, status=prior), [jpod("a", "Succeeded")], T0)
    assert plan.status["succeeded"] == 2 and plan.status["failed"] == 1
    assert plan.status["startTime"] == format_time(T0)


# --- completion (SuccessCriteriaMet then Complete) -----------------------------------------------


def test_complete_once_completions_pods_succeeded():
    pods = [jpod(n, "Succeeded", finished=3) for n in "abc"]
    plan = plan_job(job(completions=3, parallelism=2), pods, at(5))
    assert conditions(plan) == [("SuccessCriteriaMet", "True", "CompletionsReached"),
                                ("Complete", "True", "CompletionsReached")]
    assert plan.status["conditions"][1]["message"] == "Reached expected number of succeeded pods"
    assert plan.status["completionTime"] == format_time(at(5))
    assert plan.events == (("Normal", "Completed", "Job completed"),)
    assert plan.status["succeeded"] == 3 and plan.status["active"] == 0
    assert job_finished({"status": plan.status})


def test_complete_waits_for_terminating_pods():
    pods = [jpod("a", "Succeeded"), jpod("b", deleting=True)]
    plan = plan_job(job(), pods, T0)
    assert conditions(plan) == [("SuccessCriteriaMet", "True", "CompletionsReached")]
    assert "completionTime" not in plan.status and plan.events == ()
    later = plan_job(job(status=plan.status), [pods[0]], at(2))
    assert conditions(later)[-1] == ("Complete", "True", "CompletionsReached")


def test_work_queue_job_completes_when_one_pod_succeeded_and_none_active():
    spec = {"completions": None, "parallelism": 2}
    running = plan_job(job(**spec), [jpod("a", "Succeeded"), jpod("b")], T0)
    assert running.create == () and running.delete == () and conditions(running) == []
    done = plan_job(job(**spec), [jpod("a", "Succeeded"), jpod("b", "Succeeded")], T0)
    assert conditions(done)[-1] == ("Complete", "True", "CompletionsReached")


def test_work_queue_job_starts_parallelism_pods():
    assert len(plan_job(job(completions=None, parallelism=3), [], T0).create) == 3


def test_finished_job_is_left_alone():
    finished = plan_job(job(), [jpod("a", "Succeeded")], T0).status
    plan = plan_job(job(status=finished, completions=4), [jpod("a", "Succeeded")], at(9))
    assert plan.create == () and plan.delete == () and plan.status == finished
    assert plan.requeue_after is None and not plan.delete_job


# --- failure: backoffLimit, activeDeadlineSeconds ------------------------------------------------


def test_failed_pods_beyond_backoff_limit_fail_the_job():
    pods = [jpod("a", "Failed", finished=1), jpod("b", "Failed", finished=2),
            jpod("c", "Failed", finished=3)]
    plan = plan_job(job(backoffLimit=2), pods, at(4))
    assert conditions(plan) == [("FailureTarget", "True", "BackoffLimitExceeded"),
                                ("Failed", "True", "BackoffLimitExceeded")]
    assert plan.status["conditions"][1]["message"] == "Job has reached the specified backoff limit"
    assert plan.events == (("Warning", "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit"),)
    assert plan.status["failed"] == 3 and plan.create == ()
    assert "completionTime" not in plan.status


def test_failures_up_to_the_backoff_limit_are_retried():
    pods = [jpod("a", "Failed", finished=0), jpod("b", "Failed", finished=0)]
    plan = plan_job(job(backoffLimit=2), pods, at(100))
    assert conditions(plan) == [] and len(plan.create) == 1


def test_backoff_limit_zero_fails_on_the_first_failure():
    plan = plan_job(job(backoffLimit=0), [jpod("a", "Failed", finished=0)], at(1))
    assert conditions(plan)[-1] == ("Failed", "True", "BackoffLimitExceeded")


def test_failing_job_deletes_active_pods_then_fails_when_they_are_gone():
    pods = [jpod("x", "Failed", finished=0), jpod("y", "Failed", finished=0), jpod("run")]
    plan = plan_job(job(backoffLimit=1, parallelism=2, completions=4), pods, at(1))
    assert plan.delete == ("run",) and plan.status["terminating"] == 1
    assert conditions(plan) == [("FailureTarget", "True", "BackoffLimitExceeded")]
    assert plan.events == ()
    after = plan_job(job(backoffLimit=1, status=plan.status), pods[:2], at(2))
    assert conditions(after)[-1] == ("Failed", "True", "BackoffLimitExceeded")
    assert after.events == (("Warning", "BackoffLimitExceeded",
                             "Job has reached the specified backoff limit"),)


@pytest.mark.parametrize("limit,restarts,fails", [(2, 1, False), (2, 2, True), (0, 1, True),
                                                  (0, 0, False)])
def test_past_backoff_limit_on_failure_counts_restarts(limit, restarts, fails):
    spec = job(backoffLimit=limit)
    spec["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    plan = plan_job(spec, [jpod("a", restarts=restarts)], T0)
    assert (("FailureTarget", "True", "BackoffLimitExceeded") in conditions(plan)) is fails


def test_restarts_do_not_count_with_restart_policy_never():
    plan = plan_job(job(backoffLimit=1), [jpod("a", restarts=5)], T0)
    assert conditions(plan) == []


@pytest.mark.parametrize("failures,since,wait", [(1, 3, 7.0), (2, 5, 15.0), (3, 40, 0.0),
                                                 (10, 0, 600.0)])
def test_pod_failure_backoff_delays_replacements(failures, since, wait):
    pods = [jpod(f"f{i}", "Failed", finished=100 - i) for i in range(failures)]
    plan = plan_job(job(backoffLimit=20), pods, at(100 + since))
    if wait:
        assert plan.create == () and plan.requeue_after == pytest.approx(wait)
    else:
        assert len(plan.create) == 1


def test_backoff_counts_only_failures_after_the_last_success():
    pods = [jpod("f0", "Failed", finished=1), jpod("f1", "Failed", finished=2),
            jpod("ok", "Succeeded", finished=3), jpod("f2", "Failed", finished=10)]
    plan = plan_job(job(completions=3, backoffLimit=10), pods, at(15))
    assert plan.create == () and plan.requeue_after == pytest.approx(5.0)


def test_active_deadline_exceeded_fails_and_deletes_active_pods():
    spec = job(activeDeadlineSeconds=10, status={"startTime": format_time(T0)})
    plan = plan_job(spec, [jpod("a")], at(10))
    assert plan.delete == ("a",)
    assert conditions(plan) == [("FailureTarget", "True", "DeadlineExceeded")]
    done = plan_job(job(activeDeadlineSeconds=10, status=plan.status), [], at(11))
    assert conditions(done)[-1] == ("Failed", "True", "DeadlineExceeded")
    assert done.status["conditions"][-1]["message"] == \
        "Job was active longer than specified deadline"
    assert done.events == (("Warning", "DeadlineExceeded",
                            "Job was active longer than specified deadline"),)


def test_active_deadline_not_yet_reached_requeues_for_the_rest():
    spec = job(activeDeadlineSeconds=10, status={"startTime": format_time(T0)})
    plan = plan_job(spec, [jpod("a")], at(4))
    assert conditions(plan) == [] and plan.requeue_after == pytest.approx(6.0)


def test_backoff_limit_wins_over_deadline():
    spec = job(backoffLimit=0, activeDeadlineSeconds=1, status={"startTime": format_time(T0)})
    plan = plan_job(spec, [jpod("a", "Failed", finished=0)], at(5))
    assert conditions(plan)[-1] == ("Failed", "True", "BackoffLimitExceeded")


# --- suspend -------------------------------------------------------------------------------------


def test_suspended_job_deletes_pods_and_reports_suspended():
    plan = plan_job(job(suspend=True, status={"startTime": format_time(T0)}), [jpod("a")], at(1))
    assert plan.delete == ("a",) and plan.create == ()
    assert conditions(plan) == [("Suspended", "True", "JobSuspended")]
    assert plan.status["conditions"][0]["message"] == "Job suspended"
    assert plan.events == (("Normal", "Suspended", "Job suspended"),)
    again = plan_job(job(suspend=True, status=plan.status), [], at(2))
    assert again.events == () and again.status["conditions"] == plan.status["conditions"]


def test_job_created_suspended_has_no_start_time_and_no_deadline():
    plan = plan_job(job(suspend=True, activeDeadlineSeconds=1), [], at(50))
    assert "startTime" not in plan.status and plan.create == ()
    assert ("Suspended", "True", "JobSuspended") in conditions(plan)


def test_resumed_job_resets_start_time_and_creates_pods():
    suspended = plan_job(job(suspend=True, status={"startTime": format_time(T0)}), [], at(1))
    plan = plan_job(job(suspend=False, status=suspended.status), [], at(30))
    assert conditions(plan) == [("Suspended", "False", "JobResumed")]
    assert plan.status["conditions"][0]["message"] == "Job resumed"
    assert plan.status["startTime"] == format_time(at(30))
    assert plan.events == (("Normal", "Resumed", "Job resumed"),) and len(plan.create) == 1


# --- ttlSecondsAfterFinished ---------------------------------------------------------------------


def test_ttl_after_finished_requeues_then_deletes_the_job():
    done = plan_job(job(ttlSecondsAfterFinished=30), [jpod("a", "Succeeded")], T0)
    assert done.requeue_after == 30.0
    spec = job(ttlSecondsAfterFinished=30, status=done.status)
    waiting = plan_job(spec, [], at(10))
    assert not waiting.delete_job and waiting.requeue_after == pytest.approx(20.0)
    assert plan_job(spec, [], at(30)).delete_job


def test_ttl_after_a_failure_counts_from_the_failed_condition():
    failed = plan_job(job(backoffLimit=0, ttlSecondsAfterFinished=0),
                      [jpod("a", "Failed", finished=0)], at(3))
    assert plan_job(job(ttlSecondsAfterFinished=0, status=failed.status), [], at(3)).delete_job


def test_no_ttl_never_deletes_the_job():
    done = plan_job(job(), [jpod("a", "Succeeded")], T0)
    assert not plan_job(job(status=done.status), [], at(10**6)).delete_job


# --- Indexed completion mode ---------------------------------------------------------------------


def test_indexed_job_creates_the_lowest_pending_indexes():
    spec = job(completionMode="Indexed", completions=4, parallelism=2)
    plan = plan_job(spec, [], T0)
    assert [completion_index(p) for p in plan.create] == [0, 1]
    pod = plan.create[1]
    assert pod["metadata"]["generateName"] == "pi-1-"
    assert pod["metadata"]["annotations"][COMPLETION_INDEX_KEY] == "1"
    assert pod["metadata"]["labels"][COMPLETION_INDEX_KEY] == "1"
    assert pod["spec"]["hostname"] == "pi-1"
    assert pod["spec"]["containers"][0]["env"] == [{
        "name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{COMPLETION_INDEX_KEY}']"}}}]
    assert plan.status["completedIndexes"] == ""


def test_indexed_job_skips_succeeded_and_active_indexes():
    spec = job(completionMode="Indexed", completions=5, parallelism=3)
    pods = [jpod("a", "Succeeded", index=0), jpod("b", index=1), jpod("c", "Failed", index=2)]
    plan = plan_job(spec, pods, at(100))
    assert [completion_index(p) for p in plan.create] == [2, 3]
    assert plan.status["completedIndexes"] == "0" and plan.status["succeeded"] == 1


def test_indexed_job_deletes_duplicate_out_of_range_and_unindexed_pods():
    spec = job(completionMode="Indexed", completions=3, parallelism=3)
    pods = [jpod("keep", index=1, created=0), jpod("dup", index=1, created=5),
            jpod("far", index=7), jpod("none"), jpod("done", index=0),
            jpod("ok0", "Succeeded", index=0)]
    plan = plan_job(spec, pods, T0)
    assert set(plan.delete) == {"dup", "far", "none", "done"} and plan.create == ()


def test_indexed_job_completes_when_every_index_succeeded():
    spec = job(completionMode="Indexed", completions=3, parallelism=3)
    pods = [jpod(f"p{i}", "Succeeded", index=i) for i in range(3)]
    pods.append(jpod("again", "Succeeded", index=1))
    plan = plan_job(spec, pods, T0)
    assert plan.status["completedIndexes"] == "0-2" and plan.status["succeeded"] == 3
    assert conditions(plan)[-1] == ("Complete", "True", "CompletionsReached")


def test_indexed_job_remembers_completed_indexes_in_status():
    prior = {"completedIndexes": "0,2", "startTime": format_time(T0)}
    spec = job(completionMode="Indexed", completions=3, parallelism=1, status=prior)
    plan = plan_job(spec, [], T0)
    assert [completion_index(p) for p in plan.create] == [1]
    assert plan.status["succeeded"] == 2


@pytest.mark.parametrize("text,completions,indexes", [
    ("", 3, set()), ("0-2,5", 10, {0, 1, 2, 5}), ("1,3-4", 4, {1, 3}), ("x,2", 3, {2}),
])
def test_parse_indexes(text, completions, indexes):
    assert parse_indexes(text, completions) == indexes


@pytest.mark.parametrize("indexes,text", [(set(), ""), ({0}, "0"), ({0, 1, 2, 5}, "0-2,5"),
                                          ({1, 3, 4, 6, 7, 8}, "1,3-4,6-8")])
def test_completed_indexes_string(indexes, text):
    assert completed_indexes(indexes) == text
    assert parse_indexes(text, 100) == indexes


@pytest.mark.parametrize("value,index", [("3", 3), ("03", None), ("-1", None), ("a", None),
                                         (None, None)])
def test_completion_index_annotation(value, index):
    pod = {"metadata": {"annotations": {COMPLETION_INDEX_KEY: value} if value else {}}}
    assert completion_index(pod) == index


def test_completion_index_falls_back_to_the_label():
    assert completion_index({"metadata": {"labels": {COMPLETION_INDEX_KEY: "2"}}}) == 2


def test_pod_for_job_keeps_template_hostname_and_env():
    spec = job(completionMode="Indexed", completions=2)
    spec["spec"]["template"]["spec"]["hostname"] = "fixed"
    spec["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    pod = pod_for_job(spec, 0)
    assert pod["spec"]["hostname"] == "fixed"
    assert [e["name"] for e in pod["spec"]["containers"][0]["env"]] == ["A", "JOB_COMPLETION_INDEX"]
    assert "env" not in spec["spec"]["template"]["spec"]["containers"][0] or \
        len(spec["spec"]["template"]["spec"]["containers"][0]["env"]) == 1
