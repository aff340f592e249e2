"""A rollout seen through real kubectl as on a real cluster: ``rollout status`` lines
(kubectl polymorphichelpers/rollout_status.go), ``rollout pause/resume/undo/history``, ``get
events`` columns (printers.go printEvent), and every upstream event reason of the rollout
path in the situation that raises it (kubelet events/event.go, scheduler, controllers)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

STATUS_LINES = [
    re.compile(r'^Waiting for deployment "web" rollout to finish: (\d+) out of 3 new replicas '
               r"have been updated\.\.\.$"),
    re.compile(r'^Waiting for deployment "web" rollout to finish: (\d+) old replicas are '
               r"pending termination\.\.\.$"),
    re.compile(r'^Waiting for deployment "web" rollout to finish: (\d+) of (\d+) updated '
               r"replicas are available\.\.\.$"),
    re.compile(r"^Waiting for deployment spec update to be observed\.\.\.$"),
]


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        push_test_image(reg.host, "web", "2.0", layer_sizes=(8192, 4096))
        push_test_image(reg.host, "web", "3.0", layer_sizes=(8192, 4096))
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, time_scale=30) as c:
        yield c


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _setup(cluster: EmbeddedCluster, registry: EmbeddedRegistry, ns: str) -> None:
    _ok(cluster.kubectl("create", "--validate=false", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})))
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{
                                  "name": "web", "image": f"{registry.host}/web:1.0",
                                  "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                     "periodSeconds": 1}}]}}},
    }
    _ok(cluster.kubectl("-n", ns, "create", "--validate=false", "-f", "-",
                        input=json.dumps(body)))
    _ok(cluster.kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s"))


def _roll_to(cluster: EmbeddedCluster, registry: EmbeddedRegistry, ns: str, tag: str) -> None:
    # strategic merge: the containers list merges by name, so the readiness probe stays
    patch = {"spec": {"template": {
        "metadata": {"annotations": {"sim.shiplane.dev/readiness-fail-for": "30"}},
        "spec": {"containers": [{"name": "web", "image": f"{registry.host}/web:{tag}"}]}}}}
    _ok(cluster.kubectl("-n", ns, "patch", "deployment", "web", "--type", "strategic", "-p",
                        json.dumps(patch)))


def test_rollout_status_lines_and_pause_resume_undo_history_match_kubectl(cluster, registry):
    ns = "kubectl-roll"
    _setup(cluster, registry, ns)
    _roll_to(cluster, registry, ns, "2.0")
    watcher = subprocess.run(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", ns, "rollout", "status",
         "deployment/web", "--timeout=60s"], capture_output=True, text=True, timeout=90)
    assert watcher.returncode == 0, watcher.stderr
    lines = watcher.stdout.strip().splitlines()
    assert lines[-1] == 'deployment "web" successfully rolled out'
    waiting = lines[:-1]
    assert waiting, "the rollout took several steps: kubectl printed progress"
    for line in waiting:
        assert any(p.match(line) for p in STATUS_LINES), line
    updated = [int(m.group(1)) for line in waiting if (m := STATUS_LINES[0].match(line))]
    assert updated == sorted(updated) and all(0 <= n < 3 for n in updated)
    history = _ok(cluster.kubectl("-n", ns, "rollout", "history", "deployment/web"))
    assert history.split("\n")[:4] == ["deployment.apps/web ", "REVISION  CHANGE-CAUSE",
                                       "1         <none>", "2         <none>"]
    revision_1 = _ok(cluster.kubectl("-n", ns, "rollout", "history", "deployment/web",
                                     "--revision=1"))
    assert revision_1.startswith("deployment.apps/web with revision #1\nPod Template:\n")
    assert f"Image:\t{registry.host}/web:1.0" in revision_1.replace("      ", "\t")
    # pause / resume as kubectl prints them, including its refusals
    assert _ok(cluster.kubectl("-n", ns, "rollout", "pause", "deployment/web")).strip() == \
        "deployment.apps/web paused"
    again = cluster.kubectl("-n", ns, "rollout", "pause", "deployment/web")
    assert again.returncode != 0
    assert 'deployments.apps "web" is already paused' in again.stderr
    undo_paused = cluster.kubectl("-n", ns, "rollout", "undo", "deployment/web")
    assert undo_paused.returncode != 0
    assert "you cannot rollback a paused deployment; resume it first with 'kubectl rollout " \
           "resume' and try again" in undo_paused.stderr
    assert _ok(cluster.kubectl("-n", ns, "rollout", "resume", "deployment/web")).strip() == \
        "deployment.apps/web resumed"
    not_paused = cluster.kubectl("-n", ns, "rollout", "resume", "deployment/web")
    assert not_paused.returncode != 0
    assert 'deployments.apps "web" is not paused' in not_paused.stderr
    # undo to revision 1 (client-side: kubectl copies that ReplicaSet's template back)
    assert _ok(cluster.kubectl("-n", ns, "rollout", "undo", "deployment/web",
                               "--to-revision=1")).strip() == "deployment.apps/web rolled back"
    _ok(cluster.kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s"))
    same = _ok(cluster.kubectl("-n", ns, "rollout", "undo", "deployment/web", "--to-revision=3"))
    assert same.strip() == ("deployment.apps/web skipped rollback (current template already "
                            "matches revision 3)")
    history = _ok(cluster.kubectl("-n", ns, "rollout", "history", "deployment/web"))
    assert history.split("\n")[1:4] == ["REVISION  CHANGE-CAUSE", "2         <none>",
                                        "3         <none>"]
    d = json.loads(_ok(cluster.kubectl("-n", ns, "get", "deployment", "web", "-o", "json")))
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == f"{registry.host}/web:1.0"
    # rollout restart: a restartedAt template annotation, hence a new ReplicaSet and revision
    assert _ok(cluster.kubectl("-n", ns, "rollout", "restart", "deployment/web")).strip() == \
        "deployment.apps/web restarted"
    _ok(cluster.kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s"))
    d = json.loads(_ok(cluster.kubectl("-n", ns, "get", "deployment", "web", "-o", "json")))
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"


def _events(cluster: EmbeddedCluster, ns: str) -> list[dict]:
    return json.loads(_ok(cluster.kubectl("-n", ns, "get", "events", "-o", "json")))["items"]


def _until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_every_rollout_event_reason_appears_where_upstream_raises_it(cluster, registry):
    ns = "events"
    _setup(cluster, registry, ns)
    old_rs = json.loads(_ok(cluster.kubectl("-n", ns, "get", "rs", "-o", "json")))["items"][0]
    _roll_to(cluster, registry, ns, "3.0")  # not on any node yet: pulled for real
    _ok(cluster.kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s"))
    new_rs = next(rs for rs in json.loads(_ok(cluster.kubectl("-n", ns, "get", "rs", "-o",
                                                              "json")))["items"]
                  if rs["metadata"]["name"] != old_rs["metadata"]["name"])
    for name, container in (("huge", {"resources": {"requests": {"cpu": "64"}}}),
                            ("badimage", {"image": f"{registry.host}/web:nope"})):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"containers": [{"name": "web", "image": f"{registry.host}/web:1.0",
                                        **container}]}}
        _ok(cluster.kubectl("-n", ns, "create", "--validate=false", "-f", "-",
                            input=json.dumps(pod)))
    events = _until(lambda: (e := _events(cluster, ns)) and
                    {"FailedScheduling", "BackOff", "Killing"} <= {x["reason"] for x in e} and e)
    assert events, "the expected events did not all appear"

    def of(reason: str, kind: str | None = None, name_prefix: str = "") -> list[dict]:
        return [e for e in events if e["reason"] == reason
                and (kind is None or e["involvedObject"]["kind"] == kind)
                and e["involvedObject"]["name"].startswith(name_prefix)]

    new, old = new_rs["metadata"]["name"], old_rs["metadata"]["name"]
    # deployment-controller: scale-up of the new ReplicaSet first, then the old one down
    scaling = [e["message"] for e in of("ScalingReplicaSet", "Deployment")]
    assert f"Scaled up replica set {new} from 0 to 1" in scaling
    assert f"Scaled down replica set {old} from 3 to 2" in scaling
    assert {e["source"]["component"] for e in of("ScalingReplicaSet")} == {"deployment-controller"}
    # replicaset-controller
    created = of("SuccessfulCreate", "ReplicaSet", new)
    assert created and all(re.fullmatch(rf"Created pod: {new}-[a-z0-9]{{5}}", e["message"])
                           for e in created)
    deleted = of("SuccessfulDelete", "ReplicaSet", old)
    assert deleted and all(re.fullmatch(rf"Deleted pod: {old}-[a-z0-9]{{5}}", e["message"])
                           for e in deleted)
    # default-scheduler
    scheduled = of("Scheduled", "Pod", new)
    assert scheduled and all(re.fullmatch(rf"Successfully assigned {ns}/{new}-[a-z0-9]{{5}} to "
                                          r"shiplane-worker-\d+", e["message"]) for e in scheduled)
    assert {e["source"]["component"] for e in scheduled} == {"default-scheduler"}
    [unschedulable] = of("FailedScheduling", "Pod", "huge")
    assert unschedulable["type"] == "Warning"
    assert unschedulable["message"] == "0/3 nodes are available: 3 Insufficient cpu."
    # kubelet: image pull with size and duration, container lifecycle, probes, kills
    image2 = f"{registry.host}/web:3.0"
    assert of("Pulling", "Pod", new)[0]["message"] == f'Pulling image "{image2}"'
    pulled = [e["message"] for e in of("Pulled", "Pod", new)]
    assert any(re.fullmatch(rf'Successfully pulled image "{re.escape(image2)}" in \S+ '
                            r"\(\S+ including waiting\)\. Image size: 12288 bytes\.", m)
               for m in pulled), pulled
    assert {e["message"] for e in of("Created", "Pod", new)} == {"Created container: web"}
    assert {e["message"] for e in of("Started", "Pod", new)} == {"Started container web"}
    unhealthy = of("Unhealthy", "Pod", new)
    assert unhealthy and all(e["type"] == "Warning" and
                             e["message"].startswith("Readiness probe failed:") for e in unhealthy)
    killing = of("Killing", "Pod", old)
    assert killing and {e["message"] for e in killing} == {"Stopping container web"}
    kubelet = of("Pulling") + of("Created") + of("Started") + of("Killing")
    assert {e["source"]["component"] for e in kubelet} == {"kubelet"}
    assert all(re.fullmatch(r"shiplane-worker-\d+", e["source"]["host"]) for e in kubelet)
    # container events name their container (GenerateContainerRef), pod-level ones do not
    container_events = kubelet + of("Unhealthy") + of("BackOff") + of("Failed")
    assert {e["involvedObject"].get("fieldPath") for e in container_events} == \
        {"spec.containers{web}"}
    assert not any(e["involvedObject"].get("fieldPath") for e in of("Scheduled"))
    bad = f"{registry.host}/web:nope"
    failed = [e["message"] for e in of("Failed", "Pod", "badimage")]
    assert any(m.startswith(f'Failed to pull image "{bad}": ') and "not found" in m
               for m in failed)
    assert "Error: ErrImagePull" in failed
    backoff = of("BackOff", "Pod", "badimage")
    assert backoff[0]["message"] == f'Back-off pulling image "{bad}"'
    # kubectl get events: upstream's columns, one row per event
    table = _ok(cluster.kubectl("-n", ns, "get", "events")).splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    row = next(line for line in table if "ScalingReplicaSet" in line and f"{new} from 0" in line)
    assert row.split()[1:4] == ["Normal", "ScalingReplicaSet", "deployment/web"]
    assert len(table) - 1 >= len(events)
    wide = _ok(cluster.kubectl("-n", ns, "get", "events", "-o", "wide")).splitlines()
    assert wide[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE",
                               "MESSAGE", "FIRST", "SEEN", "COUNT", "NAME"]
    started = next(line for line in wide if "Started container web" in line)
    assert "spec.containers{web}" in started and "kubelet, shiplane-worker-" in started
