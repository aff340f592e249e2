"""The event -> step mapping over recorded rollout sequences (pure, no cluster)."""

from __future__ import annotations

from typing import Any

from shiplane.cluster.decisions.image_pull import pull_succeeded
from shiplane.release.progress import Observation, StepEvent, advance, initial_state


def rs(name: str, deployment: str = "payment-service", hash_: str = "7d9f") -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": "1",
                         "labels": {"pod-template-hash": hash_},
                         "ownerReferences": [{"kind": "Deployment", "name": deployment}]}}


def pod(name: str, owner: str, *, node: str | None = None, running: bool = False,
        ready: bool = False, waiting: tuple[str, str] | None = None, deleting: bool = False,
        ip: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name,
                            "ownerReferences": [{"kind": "ReplicaSet", "name": owner}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-25T12:00:00Z"
    container: dict[str, Any] = {"name": "app", "state": {}}
    if running:
        container["state"] = {"running": {"startedAt": "2026-11-25T12:00:00Z"}}
    if waiting:
        container["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    status: dict[str, Any] = {"phase": "Running" if running else "Pending",
                              "containerStatuses": [container], "podIP": ip}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True"}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": status}


def event(name: str, pod_name: str, reason: str, message: str, type_: str = "Normal",
          count: int = 1) -> dict[str, Any]:
    return {"metadata": {"name": name}, "involvedObject": {"kind": "Pod", "name": pod_name},
            "reason": reason, "message": message, "type": type_, "count": count}


def endpoints(service: str, pods_ips: list[tuple[str, str]]) -> dict[str, Any]:
    return {"metadata": {"name": service}, "subsets": [{"addresses": [
        {"ip": ip, "targetRef": {"kind": "Pod", "name": p}} for p, ip in pods_ips]}]}


def run(state, observations):
    steps: list[StepEvent] = []
    for obs in observations:
        state, out = advance(state, obs)
        steps.extend(out)
    return state, steps


OLD_RS = rs("payment-service-5c6b", hash_="5c6b")
OLD_POD = pod("payment-service-5c6b-aaaaa", "payment-service-5c6b", node="node-1", running=True,
              ready=True, ip="10.0.0.5")
NEW = "payment-service-7d9f"
NEW_POD = f"{NEW}-bbbbb"
IMAGE = "127.0.0.1:5000/payment-service:0123456"


def baseline():
    return initial_state(replicasets=[OLD_RS], pods=[OLD_POD],
                         events=[event("old.1", OLD_POD["metadata"]["name"], "Pulled", "x")],
                         deployments=["payment-service"])


def rolling_update_sequence() -> list[Observation]:
    """A rolling update as the embedded kubelet/scheduler report it (messages from their cores)."""
    pulled = pull_succeeded(IMAGE, 1.25, 1.5, 52_428_800)
    return [
        Observation("ReplicaSet", OLD_RS),  # unchanged old objects re-listed: nothing
        Observation("ReplicaSet", rs(NEW)),
        Observation("Pod", pod(NEW_POD, NEW)),
        Observation("Event", event("e1", NEW_POD, "Scheduled",
                                   f"Successfully assigned dev/{NEW_POD} to node-2")),
        Observation("Pod", pod(NEW_POD, NEW, node="node-2")),  # scheduled again: reported once
        Observation("Event", event("e2", NEW_POD, "Pulling", f'Pulling image "{IMAGE}"')),
        Observation("Event", event("e3", NEW_POD, pulled.reason, pulled.message)),
        Observation("Event", event("e4", NEW_POD, "Started", "Started container app")),
        Observation("Pod", pod(NEW_POD, NEW, node="node-2", running=True)),
        Observation("Event", event("e5", NEW_POD, "Unhealthy",
                                   "Readiness probe failed: HTTP probe failed with statuscode: 503",
                                   "Warning")),
        Observation("Pod", pod(NEW_POD, NEW, node="node-2", running=True, ready=True,
                               ip="10.0.0.9")),
        Observation("Endpoints", endpoints("payment-service", [("old", "10.0.0.5"),
                                                               (NEW_POD, "10.0.0.9")])),
        Observation("Pod", {**OLD_POD, "metadata": {**OLD_POD["metadata"],
                                                    "deletionTimestamp": "t"}}),
        Observation("Pod", OLD_POD, deleted=True),
    ]


def test_rolling_update_produces_the_guides_steps_in_order() -> None:
    _, steps = run(baseline(), rolling_update_sequence())
    assert [s.step for s in steps] == [
        "replicaset", "pod", "scheduled", "pulling", "pulled", "started", "probe", "ready",
        "endpoints", "terminating", "terminated",
    ]
    by_step = {s.step: s for s in steps}
    assert by_step["replicaset"].data == {"deployment": "payment-service", "hash": "7d9f"}
    assert "pod-template-hash 7d9f" in by_step["replicaset"].detail
    assert by_step["scheduled"].data["node"] == "node-2"
    assert by_step["pulled"].data == {"image": IMAGE, "time": "1.25s", "size_bytes": 52_428_800}
    assert "50.0 MiB" in by_step["pulled"].detail
    assert by_step["endpoints"].data == {"service": "payment-service", "ip": "10.0.0.9"}
    assert by_step["terminating"].subject == "pod/payment-service-5c6b-aaaaa"
    assert by_step["ready"].data["ip"] == "10.0.0.9"


def test_each_step_is_reported_once_when_objects_are_relisted() -> None:
    sequence = rolling_update_sequence()
    _, steps = run(baseline(), sequence + sequence)
    assert len(steps) == len({(s.step, s.subject, s.detail) for s in steps})
    assert [s.step for s in steps].count("ready") == 1


def test_cached_image_is_reported_as_cached_not_pulled() -> None:
    obs = [Observation("ReplicaSet", rs(NEW)), Observation("Pod", pod(NEW_POD, NEW)),
           Observation("Event", event("c", NEW_POD, "Pulled",
                                      f'Container image "{IMAGE}" already present on machine'))]
    _, steps = run(baseline(), obs)
    assert [s.step for s in steps] == ["replicaset", "pod", "cached"]


def test_image_pull_failure_and_backoff_are_failed_steps() -> None:
    denied = (f'Failed to pull image "{IMAGE}": failed to authorize: 403 Forbidden')
    obs = [Observation("ReplicaSet", rs(NEW)), Observation("Pod", pod(NEW_POD, NEW, node="n1")),
           Observation("Event", event("f1", NEW_POD, "Failed", denied, "Warning")),
           Observation("Pod", pod(NEW_POD, NEW, node="n1",
                                  waiting=("ImagePullBackOff", f'Back-off pulling "{IMAGE}"')))]
    _, steps = run(baseline(), obs)
    failed = [s for s in steps if s.step == "failed"]
    assert [f.data["reason"] for f in failed] == ["ErrImagePull", "ImagePullBackOff"]
    assert "403 Forbidden" in failed[0].detail


def test_failed_scheduling_is_reported_with_the_schedulers_message() -> None:
    msg = "0/3 nodes are available: 3 Insufficient cpu."
    obs = [Observation("ReplicaSet", rs(NEW)), Observation("Pod", pod(NEW_POD, NEW)),
           Observation("Event", event("s", NEW_POD, "FailedScheduling", msg, "Warning"))]
    _, steps = run(baseline(), obs)
    assert steps[-1].step == "failed" and msg in steps[-1].detail


def test_events_before_the_pod_is_listed_are_attributed_by_replicaset_prefix() -> None:
    obs = [Observation("ReplicaSet", rs(NEW)),
           Observation("Event", event("e", NEW_POD, "Scheduled",
                                      f"Successfully assigned dev/{NEW_POD} to node-3"))]
    _, steps = run(baseline(), obs)
    assert steps[-1].step == "scheduled" and steps[-1].data["node"] == "node-3"


def test_old_objects_other_deployments_and_old_events_are_ignored() -> None:
    other = rs("worker-1234", deployment="worker")
    obs = [Observation("ReplicaSet", other),
           Observation("Pod", pod("worker-1234-x", "worker-1234", node="n")),
           Observation("Event", event("old.1", OLD_POD["metadata"]["name"], "Pulled", "x")),
           Observation("Event", event("w", "worker-1234-x", "Pulling", "Pulling image")),
           Observation("Pod", OLD_POD),
           Observation("Kind", {})]
    _, steps = run(baseline(), obs)
    assert steps == []


def test_crash_loop_is_failed() -> None:
    obs = [Observation("ReplicaSet", rs(NEW)),
           Observation("Pod", pod(NEW_POD, NEW, node="n",
                                  waiting=("CrashLoopBackOff", "back-off 10s")))]
    _, steps = run(baseline(), obs)
    assert steps[-1].step == "failed" and steps[-1].data["reason"] == "CrashLoopBackOff"


def test_step_json_record() -> None:
    step = StepEvent("pulled", "pod/p", "pulled x", {"size_bytes": 3})
    assert step.as_json() == {"step": "pulled", "subject": "pod/p", "detail": "pulled x",
                              "size_bytes": 3}
