"""Benchmark the embedded cluster end to end: N simulated nodes, a Deployment of R replicas
created, then rolled to a new image.

The API server runs as its own process (``python -m shiplane.cluster.apiserver.serve``, the
SQLite store of ``shiplane cluster up``); the control plane (controllers, scheduler, all
simulated nodes on one event loop) and an embedded registry with the two images run in this
process. Images are really pulled (one manifest per node, layers once per process):

    PYTHONPATH=src python bench/cluster.py [--nodes 1000] [--replicas 10000] [--timeout 900]

Prints: the machine's load average (other work shares the cores), time until all replicas are
Ready (readyReplicas == R), time until the rollout to the second image completes (kubectl's
rollout-status rule over the Deployment status), API requests made by the control plane in
each phase (total, per pod, by verb and resource), events written and dropped, and the peak
RSS of the bench process and of the API server process. Targets (issue 7): Ready <= 60 s,
rollout <= 120 s, RSS <= 3 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from shiplane.cluster.apiserver.runner import free_port
from shiplane.cluster.control_plane import ControlPlaneOptions, ControlPlaneRunner
from shiplane.cluster.decisions.rollout_client import rollout_status
from shiplane.cluster.nodes.node_spec import default_node_specs
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.images import push_test_image


def _vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _deployment(replicas: int, image: str) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "bench"}},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"app": "bench"}},
                              "spec": {"containers": [{"name": "app", "image": image,
                                                       "resources": {"requests": {"cpu": "10m"}}}]}}},
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (wall time is noisy when others share the cores)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _requests(api, since: Counter, pods: int, phase: str, server_pid: int) -> Counter:
    now = Counter(getattr(api, "requests_by", {}))  # (older trees: no per-verb tally)
    now["cpu: control plane"] = int(_cpu_seconds(os.getpid()) * 1000)
    now["cpu: API server"] = int(_cpu_seconds(server_pid) * 1000)
    spent = Counter({k: v - since.get(k, 0) for k, v in now.items()})
    cpu_plane, cpu_server = spent.pop("cpu: control plane") / 1000, spent.pop("cpu: API server") / 1000
    total = sum(spent.values())
    print(f"  {phase}: {total} API requests from the control plane, "
          f"{total / max(pods, 1):.1f} per pod; CPU seconds: control plane {cpu_plane:.1f}, "
          f"API server {cpu_server:.1f}", flush=True)
    print("    " + ", ".join(f"{k} {v}" for k, v in spent.most_common(14) if v), flush=True)
    return now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="shiplane-bench-cluster-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    server = subprocess.Popen(
        [sys.executable, "-m", "shiplane.cluster.apiserver.serve", "--db",
         str(workdir / "store.db"), "--port", str(port)],
        stdout=open(workdir / "apiserver.log", "wb"), stderr=subprocess.STDOUT, env=env)
    http = httpx.Client(base_url=url, timeout=30)
    try:
        for _ in range(200):
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        with EmbeddedRegistry(MemoryStorage()) as registry:
            push_test_image(registry.host, "bench", "1", layer_sizes=(20_000_000, 5_000_000))
            push_test_image(registry.host, "bench", "2", layer_sizes=(20_000_000, 6_000_000))
            options = ControlPlaneOptions(nodes=default_node_specs(args.nodes), max_connections=args.connections)
            print(f"load average before start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                  flush=True)
            t0 = time.monotonic()
            with ControlPlaneRunner(url, options) as runner:
                t_nodes = time.monotonic() - t0
                print(f"{args.nodes} nodes registered in {t_nodes:.1f} s", flush=True)
                path = "/apis/apps/v1/namespaces/default/deployments"
                seen = _requests(runner.plane.api, Counter(), args.nodes, "node registration",
                                 server.pid)
                start = time.monotonic()
                http.post(path, json=_deployment(args.replicas, f"{registry.host}/bench:1")).raise_for_status()
                ready_at = None
                while time.monotonic() - start < args.timeout:
                    d = http.get(f"{path}/bench").json()
                    ready = (d.get("status") or {}).get("readyReplicas", 0)
                    if ready >= args.replicas:
                        ready_at = time.monotonic() - start
                        break
                    time.sleep(0.5)
                print(f"all {args.replicas} replicas Ready: "
                      f"{f'{ready_at:.1f} s' if ready_at else f'NOT within timeout ({ready} Ready)'}",
                      flush=True)
                seen = _requests(runner.plane.api, seen, args.replicas, "create + Ready", server.pid)
                rolled_at = None
                if ready_at is not None:
                    patch = {"spec": {"template": {"spec": {"containers": [
                        {"name": "app", "image": f"{registry.host}/bench:2"}]}}}}
                    start = time.monotonic()
                    http.patch(f"{path}/bench", content=json.dumps(patch), headers={
                        "Content-Type": "application/strategic-merge-patch+json"}).raise_for_status()
                    while time.monotonic() - start < args.timeout:
                        d = http.get(f"{path}/bench").json()
                        if d["status"].get("observedGeneration", 0) >= d["metadata"]["generation"]:
                            if rollout_status(d).done:
                                rolled_at = time.monotonic() - start
                                break
                        time.sleep(0.5)
                    print(f"rollout to the new image complete: "
                          f"{f'{rolled_at:.1f} s' if rolled_at else 'NOT within timeout'}", flush=True)
                    _requests(runner.plane.api, seen, args.replicas, "rollout", server.pid)
                plane = runner.plane
                print(f"control-plane API requests: {plane.api.requests}; events written "
                      f"{plane.recorder.written}, dropped (queue full) {plane.recorder.dropped}, "
                      f"skipped by the spam filter {plane.recorder.filtered}; "
                      f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rss_server = _vm_hwm_kib(server.pid) / 1024
            print(f"peak RSS: bench process (control plane + nodes + registry) {rss_self:.0f} MiB, "
                  f"API server {rss_server:.0f} MiB, total {rss_self + rss_server:.0f} MiB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
