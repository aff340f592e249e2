"""``kubectl logs`` on simulated pods: the documented synthetic log through the real path
(kubectl → API server pods/log → kubelet API), and usage from the sim annotations."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from shiplane.registry import EmbeddedRegistry
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image
from shiplane.testing.waiting import wait_for as _wait_for

pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], object], timeout: float = 20.0, what: str = "condition"):
    return _wait_for(check, timeout, what, interval=0.2)


def _status(cluster: EmbeddedCluster, name: str) -> dict:
    pod = json.loads(cluster.kubectl("get", "pod", name, "-o", "json").stdout)
    return (pod.get("status", {}).get("containerStatuses") or [{}])[0]


def test_simulated_logs_usage_and_kubelet_endpoint(embedded_cluster: EmbeddedCluster,
                                                   embedded_registry: EmbeddedRegistry) -> None:
    cluster = embedded_cluster
    push_test_image(embedded_registry.host, "sim/app", "1")
    image = f"{embedded_registry.host}/sim/app:1"
    def sim_pod(name: str, annotations: dict[str, str]) -> dict:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "annotations": annotations},
                "spec": {"containers": [{"name": "app", "image": image}]}}

    steady = sim_pod("sim", {"sim.shiplane.dev/cpu-millicores": "250",
                             "sim.shiplane.dev/memory-bytes": "1000"})
    crashing = sim_pod("simcrash", {"sim.shiplane.dev/exit-after": "30",
                                    "sim.shiplane.dev/exit-code": "3"})
    for item in (steady, crashing):
        done = cluster.kubectl("apply", "-f", "-", input=json.dumps(item))
        assert done.returncode == 0, done.stderr

    wait_for(lambda: "running" in _status(cluster, "sim").get("state", {}), what="running")
    logs = cluster.kubectl("logs", "sim")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == f"[shiplane simulated container] app started (image {image})\n"
    no_previous = cluster.kubectl("logs", "sim", "--previous")
    assert 'previous terminated container "app" in pod "sim" not found' in no_previous.stderr

    wait_for(lambda: _status(cluster, "simcrash").get("restartCount", 0) >= 1, timeout=30,
             what="a restart after the simulated exit")
    previous = cluster.kubectl("logs", "simcrash", "--previous", "--timestamps").stdout.splitlines()
    assert previous[0].split(" ", 1)[1] == f"[shiplane simulated container] app started (image {image})"
    assert previous[1].endswith("app exited with code 3 (Error)")

    live = json.loads(cluster.kubectl("get", "pod", "sim", "-o", "json").stdout)
    assert cluster.usage(live) == {"cpu_millicores": 250, "memory_bytes": 1000}
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert all(n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0 for n in nodes)
    assert {n["metadata"]["labels"]["shiplane.dev/runtime"] for n in nodes} == {"simulated"}
    assert cluster.kubectl("delete", "pod", "sim", "simcrash", "--wait=false").returncode == 0
