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


def _roll_to_v2(cluster: EmbeddedCluster, registry: EmbeddedRegistry, ns: str) -> None:
    patch = {"spec": {"template": {
        "metadata": {"annotations": {"sim.shiplane.dev/readiness-fail-for": "30"}},
        "spec": {"containers": [{"name": "web", "image": f"{registry.host}/web:2.0"}]}}}}
    _ok(cluster.kubectl("-n", ns, "patch", "deployment", "web", "--type", "merge", "-p",
                        json.dumps(patch)))


def test_rollout_status_lines_and_pause_resume_undo_history_match_kubectl(cluster, registry):
    ns = "kubectl-roll"
    _setup(cluster, registry, ns)
    _roll_to_v2(cluster, registry, ns)
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
