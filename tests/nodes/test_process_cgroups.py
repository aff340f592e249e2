"""CPU cgroups of process containers on a real host: a 100m limit throttles a busy loop to
about a tenth of a core, shares follow the request (kubelet MilliCPUToShares/MilliCPUToQuota),
all under one kubepods cgroup, and a container's cgroup goes when its pod does.

Skipped where this process may not create cpu cgroups (as the OOMKilled test for memory)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shiplane.cluster.nodes.container_cgroups import ContainerCgroup, cgroup_writable
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.waiting import wait_for as _wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not cgroup_writable("cpu"), reason="this host gives no writable cpu cgroup"),
]


@pytest.fixture(scope="module")
def cluster(embedded_process_cluster: EmbeddedCluster) -> EmbeddedCluster:
    return embedded_process_cluster


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "condition"):
    return _wait_for(check, timeout, what, interval=0.2)


def read(folder: Path, name: str) -> str:
    return (folder / name).read_text().strip()


def throttled(cgroup: ContainerCgroup) -> int:
    stat = dict(line.split() for line in read(cgroup.cpu, "cpu.stat").splitlines())
    return int(stat["nr_throttled"])


def test_cpu_limit_throttles_a_busy_loop_and_shares_follow_the_request(
    cluster: EmbeddedCluster, base_images
) -> None:
    item = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "spinner",
                                                          "namespace": "default"},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                {"name": "busy", "image": base_images.busybox,
                 "command": ["sh", "-c", "while :; do :; done"],
                 "resources": {"limits": {"cpu": "100m"}}},  # request defaults to 100m
                {"name": "idle", "image": base_images.busybox, "command": ["sleep", "1000"]},
            ]}}
    done = cluster.kubectl("apply", "-f", "-", input=json.dumps(item))
    assert done.returncode == 0, done.stderr

    def running() -> dict | None:
        got = json.loads(cluster.kubectl("get", "pod", "spinner", "-o", "json").stdout)
        states = [s.get("state", {}) for s in got["status"].get("containerStatuses") or []]
        return got if len(states) == 2 and all("running" in s for s in states) else None

    pod = wait_for(running, what="both containers running")
    runtime = cluster.control_plane.plane.runtimes["process"]
    instances = runtime.containers.instances[pod["metadata"]["uid"]]
    busy, idle = instances["busy"].cgroup, instances["idle"].cgroup
    assert busy is not None and idle is not None and busy.cpu is not None
    kubepods = runtime.containers.cgroups.parents["cpu"]
    assert busy.cpu.parent == kubepods == idle.cpu.parent
    host_shares = min(262144, (os.cpu_count() or 1) * 1024)  # allocatable = the host's CPUs
    if busy.version == 1:
        assert read(kubepods, "cpu.shares") == str(host_shares)
        assert read(busy.cpu, "cpu.shares") == "102"  # 100 * 1024 / 1000
        assert read(busy.cpu, "cpu.cfs_period_us") == "100000"
        assert read(busy.cpu, "cpu.cfs_quota_us") == "10000"  # 100m of 100 ms
        assert read(idle.cpu, "cpu.shares") == "2"  # BestEffort
        assert read(idle.cpu, "cpu.cfs_quota_us") == "-1"
    else:
        assert read(busy.cpu, "cpu.weight") == "4"
        assert read(busy.cpu, "cpu.max") == "10000 100000"
        assert read(idle.cpu, "cpu.weight") == "1"
        assert read(idle.cpu, "cpu.max") == "max 100000"
    # the app's process is in its container's cgroup (and so every process it starts)
    assert str(instances["busy"].pid) in read(busy.cpu, "cgroup.procs").split()

    cluster.usage(pod)  # start the sampling window
    before = throttled(busy)
    time.sleep(3)
    used = cluster.usage(pod)["cpu_millicores"]
    assert throttled(busy) - before >= 10  # ~30 periods in 3 s, most of them throttled
    assert 40 <= used <= 180, used  # about a tenth of a core, not a whole one

    done = cluster.kubectl("delete", "pod", "spinner", "--wait=true", timeout=60)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: not busy.cpu.exists() and not idle.cpu.exists(),
             what="the containers' cgroups removed")
    assert kubepods.exists()  # the runtime's parent stays until the runtime closes
