"""batch/v1 Jobs on the embedded cluster, driven by real kubectl (k8s pkg/controller/job/
job_controller.go syncJob/manageJob, as exercised by test/e2e/apps/job.go: "should run a job to
completion", "should fail to exceed backoffLimit", "should fail when exceeds active deadline",
"should create pods for an Indexed job with completion indexes", "should delete a job" and
ttlafterfinished)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

KUBECTL = str(Path(sys.executable).with_name("kubectl"))


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "task", "1.0")
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=2, time_scale=30) as c:
        yield c


def kubectl(cluster: EmbeddedCluster, *args: str, input: str | None = None) -> str:
    import subprocess

    result = subprocess.run([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), *args],
                            input=input, text=True, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _job(registry: EmbeddedRegistry, name: str, *, exit_after: str | None = "1",
         exit_code: str = "0", restart: str = "Never", **spec) -> str:
    annotations = {}
    if exit_after is not None:
        annotations = {"sim.shiplane.dev/exit-after": exit_after,
                       "sim.shiplane.dev/exit-code": exit_code}
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": restart, "containers": [
                    {"name": "task", "image": f"{registry.host}/task:1.0"}]}}}}
    return json.dumps(body)


def _get(cluster: EmbeddedCluster, kind: str, name: str) -> dict:
    return json.loads(kubectl(cluster, "get", kind, name, "-o", "json"))


def _pods(cluster: EmbeddedCluster, job: str) -> list[dict]:
    return json.loads(kubectl(cluster, "get", "pods", "-l", f"job-name={job}", "-o",
                              "json"))["items"]


def _events(cluster: EmbeddedCluster, name: str) -> list[tuple[str, str]]:
    items = json.loads(kubectl(cluster, "get", "events", "--field-selector",
                               f"involvedObject.name={name}", "-o", "json"))["items"]
    return [(e["reason"], e["message"]) for e in items]


def test_job_runs_to_completion_with_parallelism(cluster, registry):
    created = kubectl(cluster, "create", "job", "pi", f"--image={registry.host}/task:1.0",
                      "--dry-run=client", "-o", "json")
    body = json.loads(created)
    body["spec"].update({"completions": 3, "parallelism": 2})
    body["spec"]["template"]["metadata"]["annotations"] = {
        "sim.shiplane.dev/exit-after": "1", "sim.shiplane.dev/exit-code": "0"}
    kubectl(cluster, "apply", "-f", "-", input=json.dumps(body))
    kubectl(cluster, "wait", "--for=condition=complete", "job/pi", "--timeout=30s")
    job = _get(cluster, "job", "pi")
    status = job["status"]
    assert status["succeeded"] == 3 and status["active"] == 0 and status["failed"] == 0
    assert status["startTime"] <= status["completionTime"]
    assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    pods = _pods(cluster, "pi")
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    for pod in pods:
        labels = pod["metadata"]["labels"]
        assert labels["controller-uid"] == labels["batch.kubernetes.io/controller-uid"] == uid
        assert labels["batch.kubernetes.io/job-name"] == "pi"
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    reasons = [r for r, _ in _events(cluster, "pi")]
    assert reasons.count("SuccessfulCreate") == 3 and reasons.count("Completed") == 1
    table = kubectl(cluster, "get", "job", "pi")
    assert "3/3" in table and "Complete" in table


def test_failing_job_hits_backoff_limit(cluster, registry):
    kubectl(cluster, "apply", "-f", "-",
            input=_job(registry, "fails", exit_code="3", backoffLimit=1))
    kubectl(cluster, "wait", "--for=condition=failed", "job/fails", "--timeout=30s")
    status = _get(cluster, "job", "fails")["status"]
    failed = [c for c in status["conditions"] if c["type"] == "Failed"][0]
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert status["failed"] == 2 and status.get("succeeded", 0) == 0
    assert "completionTime" not in status
    assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in \
        _events(cluster, "fails")
    assert sorted(p["status"]["phase"] for p in _pods(cluster, "fails")) == ["Failed", "Failed"]


def test_active_deadline_fails_the_job_and_stops_its_pods(cluster, registry):
    kubectl(cluster, "apply", "-f", "-", input=_job(
        registry, "slow", exit_after=None, activeDeadlineSeconds=20, parallelism=2,
        completions=2))
    kubectl(cluster, "wait", "--for=condition=failed", "job/slow", "--timeout=30s")
    job = _get(cluster, "job", "slow")
    failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"][0]
    assert failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"
    assert job["status"]["active"] == 0 and job["status"]["terminating"] == 0
    assert _pods(cluster, "slow") == []  # the running pods were deleted before Failed
    reasons = [r for r, _ in _events(cluster, "slow")]
    assert "DeadlineExceeded" in reasons and reasons.count("SuccessfulDelete") == 2


def test_indexed_job_with_restart_on_failure(cluster, registry):
    kubectl(cluster, "apply", "-f", "-", input=_job(
        registry, "idx", restart="OnFailure", completionMode="Indexed", completions=3,
        parallelism=3))
    kubectl(cluster, "wait", "--for=condition=complete", "job/idx", "--timeout=30s")
    status = _get(cluster, "job", "idx")["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3
    pods = _pods(cluster, "idx")
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                     for p in pods)
    assert indexes == ["0", "1", "2"]
    assert sorted(p["spec"]["hostname"] for p in pods) == ["idx-0", "idx-1", "idx-2"]


def test_deleting_a_job_collects_its_pods(cluster, registry):
    kubectl(cluster, "apply", "-f", "-", input=_job(registry, "gone", exit_after=None,
                                                    parallelism=2, completions=4))
    deadline = time.monotonic() + 20
    while len(_pods(cluster, "gone")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    kubectl(cluster, "delete", "job", "gone")
    while _pods(cluster, "gone"):
        assert time.monotonic() < deadline, "pods of a deleted Job were not collected"
        time.sleep(0.2)


def test_ttl_seconds_after_finished_deletes_the_job(cluster, registry):
    kubectl(cluster, "apply", "-f", "-", input=_job(registry, "short", ttlSecondsAfterFinished=30))
    kubectl(cluster, "wait", "--for=condition=complete", "job/short", "--timeout=30s")
    kubectl(cluster, "wait", "--for=delete", "job/short", "--timeout=20s")
    deadline = time.monotonic() + 20
    while _pods(cluster, "short"):  # foreground deletion took the pods with it
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_suspended_job_waits_and_runs_once_resumed(cluster, registry):
    kubectl(cluster, "apply", "-f", "-", input=_job(registry, "later", suspend=True))
    kubectl(cluster, "wait", "--for=condition=suspended", "job/later", "--timeout=20s")
    job = _get(cluster, "job", "later")
    suspended = [c for c in job["status"]["conditions"] if c["type"] == "Suspended"][0]
    assert (suspended["status"], suspended["reason"]) == ("True", "JobSuspended")
    assert "startTime" not in job["status"] and _pods(cluster, "later") == []
    kubectl(cluster, "patch", "job", "later", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    kubectl(cluster, "wait", "--for=condition=complete", "job/later", "--timeout=30s")
    status = _get(cluster, "job", "later")["status"]
    resumed = [c for c in status["conditions"] if c["type"] == "Suspended"][0]
    assert (resumed["status"], resumed["reason"]) == ("False", "JobResumed")
    assert status["succeeded"] == 1
    assert {"Suspended", "Resumed", "Completed"} <= {r for r, _ in _events(cluster, "later")}


def test_kubectl_create_job_starts_its_pod(cluster, registry):
    kubectl(cluster, "create", "job", "direct", f"--image={registry.host}/task:1.0")
    deadline = time.monotonic() + 20
    while not [p for p in _pods(cluster, "direct") if p["status"].get("phase") == "Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "1 Active" in kubectl(cluster, "describe", "job", "direct")
    kubectl(cluster, "delete", "job", "direct", "--cascade=foreground", "--wait=true")
    assert _pods(cluster, "direct") == []
