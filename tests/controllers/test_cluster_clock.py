"""One cluster clock for the API server and the controllers (``--time-scale``): timestamps the
server writes and timestamps controllers write agree, and a 600 s progress deadline passes in
about 6 real seconds at x100 (k8s progress.go; kubectl rollout status)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        yield reg


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_progress_deadline_600s_at_time_scale_100_passes_in_about_6s(registry):
    with EmbeddedCluster(nodes=1, time_scale=100) as cluster:
        time.sleep(2)  # 200 cluster seconds: a server on wall time would now lag visibly
        container = {"name": "web", "image": f"{registry.host}/web:nope"}
        body = {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "stuck"},
            "spec": {"replicas": 1, "progressDeadlineSeconds": 600,
                     "selector": {"matchLabels": {"app": "stuck"}},
                     "template": {"metadata": {"labels": {"app": "stuck"}},
                                  "spec": {"containers": [container]}}},
        }
        started = time.monotonic()
        _ok(cluster.kubectl("create", "--validate=false", "-f", "-", input=json.dumps(body)))
        result = cluster.kubectl("rollout", "status", "deployment/stuck", "--timeout=30s")
        elapsed = time.monotonic() - started
        assert result.returncode != 0
        assert 'error: deployment "stuck" exceeded its progress deadline' in result.stderr
        assert 5.0 <= elapsed <= 15.0, elapsed
        stamp = json.loads(_ok(cluster.kubectl(
            "create", "--validate=false", "-o", "json", "-f", "-", input=json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "now"}}))))
        d = json.loads(_ok(cluster.kubectl("get", "deployment", "stuck", "-o", "json",
                                           "--show-managed-fields")))
        progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
        assert progressing["reason"] == "ProgressDeadlineExceeded"
        assert progressing["message"] == 'ReplicaSet "' + \
            progressing["message"].split('"')[1] + '" has timed out progressing.'
        created = _t(d["metadata"]["creationTimestamp"])  # written by the API server
        exceeded = _t(progressing["lastUpdateTime"])  # written by the Deployment controller
        # the controller saw the deadline pass 600 cluster seconds after the server's creation
        assert 600 <= (exceeded - created).total_seconds() <= 900
        # and an object the server creates now is stamped on the same clock
        assert abs((_t(stamp["metadata"]["creationTimestamp"]) - exceeded).total_seconds()) < 300
        status_write = [m for m in d["metadata"]["managedFields"]
                        if m.get("subresource") == "status"]
        assert status_write and abs((_t(status_write[0]["time"]) - exceeded).total_seconds()) < 300
        events = json.loads(_ok(cluster.kubectl("get", "events", "-o", "json")))["items"]
        rs_name = progressing["message"].split('"')[1]
        scaled = next(e for e in events if e["reason"] == "ScalingReplicaSet")
        rs = json.loads(_ok(cluster.kubectl("get", "rs", rs_name, "-o", "json")))
        gap = (_t(scaled["firstTimestamp"]) - _t(rs["metadata"]["creationTimestamp"]))
        assert abs(gap.total_seconds()) < 100  # under a real second apart, at x100
