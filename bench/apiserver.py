"""Benchmark the embedded API server: 10,000 pods, then create/get/list/patch/watch figures.

Runs the real server process (``python -m shiplane.cluster.apiserver.serve``, SQLite WAL
store) and drives it over loopback HTTP from this process with asyncio + aiohttp (the
``kubernetes`` test dependency brings it; its client costs less CPU than httpx, and client
and server share the same two cores):

    PYTHONPATH=src python bench/apiserver.py [--pods 10000] [--concurrency 32] [--watchers 100]
        [--ssa-releases 100] [--helm-installs 3]

Prints throughput and p50/p99 latency per operation. Targets (Kubernetes API-call latency
SLOs): p99 <= 1 s for single-object mutating calls and reads; >= 1,000 small writes/s.
Server-side apply (issue 6): the payment-service chart's 8 objects x 100 releases applied
(create, then an upgrade) as ``application/apply-patch+yaml``, target p99 <= 100 ms per
apply; and the wall time of ``helm install`` through Helm 4's SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shiplane.cluster.apiserver.runner import free_port, kubeconfig_text  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from fieldmanager_apply import release  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"
MERGE = {"content-type": "application/merge-patch+json"}


def pod(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i:05d}", "labels": {"app": f"app-{i % 10}", "bench": "yes"}},
        "spec": {
            "containers": [
                {"name": "c", "image": "registry.local/app:1.0", "ports": [{"containerPort": 8080}]}
            ]
        },
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


SERVER_PID: int | None = None
_last_cpu = 0.0


def server_cpu() -> float:
    """CPU seconds (user + system) the server process has used so far."""
    fields = Path(f"/proc/{SERVER_PID}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, latencies: list[float], elapsed: float) -> None:
    """Throughput and latency seen by the client, and the server's CPU cost per operation
    (independent of what else runs on the machine: capacity ~ 1 / cpu per op per core)."""
    global _last_cpu
    cpu = server_cpu()
    per_op = (cpu - _last_cpu) / len(latencies)
    _last_cpu = cpu
    print(
        f"{name:<22} n={len(latencies):>6}  {len(latencies) / elapsed:>8.0f} ops/s  "
        f"p50={percentile(latencies, 0.5) * 1000:7.1f} ms  "
        f"p99={percentile(latencies, 0.99) * 1000:7.1f} ms"
        f"  max={max(latencies) * 1000:7.1f} ms  server cpu/op={per_op * 1e6:6.0f} us"
    )


async def run_many(
    count: int, concurrency: int, op: Callable[[int], Awaitable[None]]
) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(count))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def bench(url: str, pods: int, concurrency: int, watchers: int) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency + watchers + 8)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as api:
        json_headers = {"content-type": "application/json"}

        async def create(i: int) -> None:
            async with api.post(PODS, data=json.dumps(pod(i)), headers=json_headers) as response:
                assert response.status == 201, await response.text()
                await response.read()

        global _last_cpu
        _last_cpu = server_cpu()
        latencies, elapsed = await run_many(pods, concurrency, create)
        report("create pod", latencies, elapsed)

        async def get(i: int) -> None:
            async with api.get(f"{PODS}/pod-{random.randrange(pods):05d}") as response:
                assert response.status == 200
                await response.read()

        report("get pod", *await run_many(3000, concurrency, get))

        async def full_list(i: int) -> None:
            async with api.get(PODS) as response:
                assert len((await response.json())["items"]) == pods

        report(f"list {pods} (full)", *await run_many(10, 1, full_list))

        async def selector_list(i: int) -> None:
            async with api.get(PODS, params={"labelSelector": "app=app-3"}) as response:
                assert len((await response.json())["items"]) == pods // 10

        report("list label selector", *await run_many(10, 1, selector_list))

        page_latencies: list[float] = []
        started = time.perf_counter()
        token, seen = None, 0
        while True:
            t0 = time.perf_counter()
            params = {"limit": "500"} | ({"continue": token} if token else {})
            async with api.get(PODS, params=params) as response:
                page = await response.json()
            page_latencies.append(time.perf_counter() - t0)
            seen += len(page["items"])
            token = page["metadata"].get("continue")
            if not token:
                break
        assert seen == pods
        report("list page (limit 500)", page_latencies, time.perf_counter() - started)

        async def patch(i: int) -> None:
            body = json.dumps({"metadata": {"labels": {"round": str(i)}}})
            async with api.patch(
                f"{PODS}/pod-{i % pods:05d}", data=body, headers=MERGE
            ) as response:
                assert response.status == 200, await response.text()
                await response.read()

        report("patch pod (merge)", *await run_many(3000, concurrency, patch))

        # Watch fan-out: every watcher sees every write; latency = write sent -> event received.
        async with api.get(PODS, params={"limit": "1"}) as response:
            rv = (await response.json())["metadata"]["resourceVersion"]
        writes = 200
        sent: dict[str, float] = {}
        delivery: list[float] = []
        ready = asyncio.Event()
        connected = 0

        async def watcher() -> None:
            nonlocal connected
            params = {
                "watch": "1",
                "resourceVersion": rv,
                "timeoutSeconds": "60",
                "labelSelector": "bench=watch",
            }
            async with api.get(PODS, params=params) as response:
                connected += 1
                if connected == watchers:
                    ready.set()
                got = 0
                async for line in response.content:
                    if not line.strip():
                        continue
                    name = json.loads(line)["object"]["metadata"]["name"]
                    delivery.append(time.perf_counter() - sent[name])
                    got += 1
                    if got == writes:
                        return

        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        for i in range(writes):
            name = f"watched-{i}"
            body = pod(i)
            body["metadata"].update(name=name, labels={"bench": "watch"})
            sent[name] = time.perf_counter()
            async with api.post(PODS, data=json.dumps(body), headers=json_headers) as response:
                await response.read()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        elapsed = time.perf_counter() - started
        print(
            f"{'watch fan-out':<22} {watchers} watchers x {writes} events = {len(delivery)} "
            f"deliveries, {len(delivery) / elapsed:.0f} events/s delivered, "
            f"p50={statistics.median(delivery) * 1000:.1f} ms  "
            f"p99={percentile(delivery, 0.99) * 1000:.1f} ms"
        )


def _resource_path(obj: dict) -> str:
    group_version = obj["apiVersion"]
    plural = {"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps", "Secret": "secrets",
              "Service": "services", "Deployment": "deployments",
              "HorizontalPodAutoscaler": "horizontalpodautoscalers",
              "PodDisruptionBudget": "poddisruptionbudgets", "Ingress": "ingresses"}[obj["kind"]]
    prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{prefix}/namespaces/payments/{plural}/{obj['metadata']['name']}"


async def bench_apply(url: str, releases: int, concurrency: int) -> None:
    """8 objects x ``releases``, applied twice (install, upgrade) by the manager ``helm``."""
    async with aiohttp.ClientSession(url) as session:
        await session.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": "payments"}})
        for step, (image, replicas) in enumerate((("payment:1.0.0", 2), ("payment:1.1.0", 3))):
            bodies = [obj for i in range(releases) for obj in release(f"rel-{i}", image, replicas)]

            async def apply(i: int, bodies: list = bodies) -> None:
                obj = bodies[i]
                async with session.patch(
                    _resource_path(obj), data=json.dumps(obj),
                    params={"fieldManager": "helm", "fieldValidation": "Strict"},
                    headers={"content-type": "application/apply-patch+yaml"},
                ) as response:
                    assert response.status in (200, 201), await response.text()
                    await response.read()

            latencies, elapsed = await run_many(len(bodies), concurrency, apply)
            report("ssa " + ("install" if step == 0 else "upgrade"), latencies, elapsed)


def bench_helm(url: str, installs: int) -> None:
    import helm_python

    chart = Path(tempfile.mkdtemp()) / "payment-service"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: payment-service\nversion: 0.1.0\n")
    docs = release("{{ .Release.Name }}", "payment:1.0.0", 2)
    (chart / "templates" / "all.yaml").write_text(
        "\n---\n".join(json.dumps({**d, "metadata": {**d["metadata"], "namespace": "payments"}})
                       for d in docs))
    kubeconfig = chart.parent / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(url))
    helm = helm_python.Config(kubeconfig_path=str(kubeconfig), namespace="payments")
    walls = []
    for i in range(installs):
        started = time.perf_counter()
        helm.install(str(chart), f"bench-{i}", None, wait="hookOnly", timeout=60)
        walls.append(time.perf_counter() - started)
    print(f"{'helm install (8 objs)':<22} n={installs:>6}  median={statistics.median(walls) * 1000:7.1f} ms"
          f"  max={max(walls) * 1000:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--ssa-releases", type=int, default=100)
    parser.add_argument("--helm-installs", type=int, default=3)
    parser.add_argument("--ssa-concurrency", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shiplane.cluster.apiserver.serve",
                "--db",
                str(Path(tmp) / "store.db"),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        global SERVER_PID
        SERVER_PID = server.pid
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            print(
                f"API server (SQLite WAL store) at {url}; {args.pods} pods, "
                f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            asyncio.run(bench(url, args.pods, args.concurrency, args.watchers))
            if args.ssa_releases:
                asyncio.run(bench_apply(url, args.ssa_releases, args.ssa_concurrency))
            if args.helm_installs:
                bench_helm(url, args.helm_installs)
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
