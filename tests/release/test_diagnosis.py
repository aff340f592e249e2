"""diagnose(): the reasons a rollout is stuck, per failing pod (pure)."""

from __future__ import annotations

from shiplane.release.diagnosis import diagnose

IMAGE = '"127.0.0.1:5000/svc:v9"'
PROBE_FAILED = "Readiness probe failed: HTTP probe failed with statuscode: 503"


def pod(name, *, waiting=None, last_exit=None, unschedulable=None, ready=False):
    container = {"name": "app", "state": {"running": {}}}
    if waiting:
        container["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    if last_exit is not None:
        container["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error"}}
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if unschedulable:
        conditions.append({"type": "PodScheduled", "status": "False",
                           "reason": "Unschedulable", "message": unschedulable})
    return {"metadata": {"name": name},
            "status": {"containerStatuses": [container], "conditions": conditions}}


def event(pod_name, reason, message, type_="Warning", at="2026-11-25T12:00:00Z"):
    return {"involvedObject": {"kind": "Pod", "name": pod_name}, "reason": reason,
            "message": message, "type": type_, "lastTimestamp": at}


def test_image_pull_backoff_with_the_registrys_403() -> None:
    denied = ('Failed to pull image "127.0.0.1:5000/svc:v9": unexpected status from HEAD '
              "request: 403 Forbidden")
    diagnosis = diagnose(
        [pod("svc-1", waiting=("ImagePullBackOff", f"Back-off pulling image {IMAGE}"))],
        [event("svc-1", "Failed", denied, at="t1"),
         event("svc-1", "Failed", "Error: ErrImagePull", at="t2"),
         event("svc-1", "BackOff", f"Back-off pulling image {IMAGE}", "Normal", "t3")],
    )
    [problem] = diagnosis.problems
    assert problem.pod == "svc-1"
    assert problem.reasons == ("ImagePullBackOff", "ErrImagePull")
    assert denied in problem.messages
    assert "403 Forbidden" in diagnosis.summary
    assert diagnosis.as_json()[0]["reasons"] == ["ImagePullBackOff", "ErrImagePull"]


def test_readiness_probe_failures() -> None:
    diagnosis = diagnose(
        [pod("svc-2")],
        [event("svc-2", "Unhealthy", PROBE_FAILED), event("svc-2", "Unhealthy", PROBE_FAILED)],
    )
    [problem] = diagnosis.problems
    assert problem.reasons == ("Unhealthy",)
    assert problem.messages == (PROBE_FAILED,)


def test_failed_scheduling_from_condition_and_event() -> None:
    msg = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available."
    diagnosis = diagnose([pod("svc-3", unschedulable=msg)],
                         [event("svc-3", "FailedScheduling", msg)])
    [problem] = diagnosis.problems
    assert problem.reasons == ("FailedScheduling",)
    assert problem.messages == (msg,)


def test_crash_loop_reports_the_last_exit() -> None:
    diagnosis = diagnose([pod("svc-4", waiting=("CrashLoopBackOff", "back-off 20s restarting"),
                              last_exit=3)], [])
    [problem] = diagnosis.problems
    assert problem.reasons == ("CrashLoopBackOff",)
    assert "last exit code 3 (Error)" in problem.messages


def test_healthy_pods_and_foreign_events_are_not_problems() -> None:
    diagnosis = diagnose([pod("ok", ready=True)],
                         [event("other-pod", "Unhealthy", "x"),
                          event("ok", "Pulled", "Successfully pulled", "Normal"),
                          {"involvedObject": {"kind": "Deployment", "name": "ok"},
                           "reason": "Failed", "type": "Warning", "message": "m"}])
    assert diagnosis.problems == ()
    assert diagnosis.summary == "no failing pod found (the wait timed out)"
