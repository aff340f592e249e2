"""Throughput of the pure decision cores the embedded cluster leans on at scale.

    PYTHONPATH=src /work/venv/bin/python bench/decisions.py [--nodes 1000] [--pods 2000]

Prints pods scheduled per second on a 1,000-node snapshot (the issue #7 benchmark shape) and the
cost of one Deployment controller sync for a 10,000-replica rollout.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

from shiplane.cluster.decisions.rollout import plan_deployment
from shiplane.cluster.decisions.scheduling import build_node_infos, schedule_on_snapshot


def make_node(i: int) -> dict:
    return {
        "metadata": {
            "name": f"node-{i:04}",
            "labels": {
                "kubernetes.io/hostname": f"node-{i:04}",
                "topology.kubernetes.io/zone": f"zone-{i % 3}",
            },
        },
        "spec": {},
        "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"}},
    }


def make_pod(i: int) -> dict:
    return {
        "metadata": {"name": f"web-{i}", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "registry.local/web:1.0.0",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ]
        },
    }


def bench_scheduler(nodes: int, pods: int, spread: bool = False) -> None:
    infos = build_node_infos([make_node(i) for i in range(nodes)], [], {})
    by_name = {info.name: info for info in infos}
    start_index = 0
    started = time.perf_counter()
    for i in range(pods):
        pod = make_pod(i)
        selector = {"matchLabels": {"app": "web"}} if spread else None
        result = schedule_on_snapshot(
            pod, infos, start_index=start_index, default_spread_selector=selector
        )
        start_index = result.next_start_index
        pod["spec"]["nodeName"] = result.node
        by_name[result.node].add_pod(pod)
    elapsed = time.perf_counter() - started
    label = " with default topology spread" if spread else ""
    print(
        f"scheduler{label}: {pods} pods on {nodes} nodes in {elapsed:.2f} s = {pods / elapsed:.0f} pods/s "
        f"({elapsed / pods * 1000:.2f} ms/pod)"
    )


def bench_rollout(replicas: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "web:2"}]},
    }
    deployment = {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u",
            "generation": 2,
            "annotations": {},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template,
            "strategy": {"type": "RollingUpdate"},
        },
        "status": {},
    }
    old_template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "web:1"}]},
    }
    old = {
        "metadata": {
            "name": "web-old",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {"replicas": replicas, "template": old_template},
        "status": {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas},
    }
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        plan_deployment(deployment, [old], [], now)
    elapsed = time.perf_counter() - started
    print(f"plan_deployment: {replicas} replicas, {elapsed / runs * 1000:.2f} ms per sync")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--spread", action="store_true", help="system default topology spreading")
    args = parser.parse_args()
    bench_scheduler(args.nodes, args.pods, args.spread)
    bench_rollout(10_000)


if __name__ == "__main__":
    main()
