"""Benchmark the process runtime: real pods started, probed, served through their forwarders.

An embedded registry with the offline busybox base image, an embedded cluster whose nodes run
pods for real (bubblewrap), a Deployment of R busybox ``httpd`` replicas with an httpGet
readiness probe, then N HTTP requests spread over the pods' ``podIP:8080`` (the host-side
forwarder into each pod's netns) from C client threads, then the Deployment deleted:

    PYTHONPATH=src python bench/process_runtime.py [--replicas 10] [--requests 2000]
        [--clients 16] [--nodes 2]

Prints: seconds until all replicas are Ready, request rate and p50/p99 latency through the
forwarders, failed requests, the pods' summed usage (``ControlPlane.usage``), and seconds until
every pod is gone after the delete (SIGTERM handled by the app: no grace period waited out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from shiplane.build import Builder, create_base_images
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster

SCRIPT = ("mkdir -p /www && echo ok > /www/index.html; trap 'exit 0' TERM; "
          "httpd -f -p 8080 -h /www & wait")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args()
    with EmbeddedRegistry(MemoryStorage()) as registry:
        state = Path(tempfile.mkdtemp(prefix="shiplane-bench-"))
        (image,) = create_base_images(Builder.at(state), registry=registry.host, push=True,
                                      names=("busybox",))
        with EmbeddedCluster(nodes=args.nodes, time_scale=1, runtime="process") as cluster:
            deployment = {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"replicas": args.replicas,
                         "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                             "containers": [{
                                 "name": "web", "image": image.reference,
                                 "command": ["sh", "-c", SCRIPT],
                                 "ports": [{"containerPort": 8080}],
                                 "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                    "periodSeconds": 1}}]}}}}
            started = time.monotonic()
            cluster.kubectl("apply", "-f", "-", input=json.dumps(deployment))
            done = cluster.kubectl("rollout", "status", "deployment/web", "--timeout=300s",
                                   timeout=310)
            ready = time.monotonic() - started
            if done.returncode != 0:
                raise SystemExit(f"rollout failed: {done.stderr}")
            pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=web", "-o",
                                              "json").stdout)["items"]
            ips = [p["status"]["podIP"] for p in pods]

            client = httpx.Client(timeout=10)  # one client: no TLS setup per request

            def one(i: int) -> float | None:
                began = time.perf_counter()
                try:  # busybox httpd closes every connection: each request is a new one
                    response = client.get(f"http://{ips[i % len(ips)]}:8080/index.html")
                except httpx.HTTPError:
                    return None
                return time.perf_counter() - began if response.status_code == 200 else None

            began = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(one, range(args.requests)))
            elapsed = time.monotonic() - began
            client.close()
            latencies = sorted(r for r in results if r is not None)
            usage = [cluster.usage(p) for p in pods]
            started = time.monotonic()
            cluster.kubectl("delete", "deployment", "web", "--wait=false")
            while json.loads(cluster.kubectl("get", "pods", "-o", "json").stdout)["items"]:
                time.sleep(0.2)
            gone = time.monotonic() - started
    print(f"replicas {args.replicas} on {args.nodes} process nodes: all Ready in {ready:.1f} s")
    print(f"requests {args.requests} from {args.clients} clients: {len(latencies) / elapsed:.0f} "
          f"req/s, failed {args.requests - len(latencies)}, "
          f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    print(f"usage (sum over pods): {sum(u['cpu_millicores'] for u in usage)} millicores, "
          f"{sum(u['memory_bytes'] for u in usage) / 2**20:.1f} MiB")
    print(f"deleted: all pods gone in {gone:.1f} s")


if __name__ == "__main__":
    main()
