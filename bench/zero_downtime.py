"""Benchmark zero downtime: requests through the Service proxy during 5 consecutive rollouts.

The scaffolded payment-service (``shiplane init service``), built by shiplane's builder as v1
and v2 and pushed to an embedded registry, runs as 4 real process pods on ``shiplane cluster
up --runtime process`` (API server and control plane in their own processes, as a user runs
them). A fixed-rate load generator (a new connection per request, open loop) sends
``GET /healthz`` to the Service's loopback address the whole time while the Deployment
(RollingUpdate maxSurge 1, maxUnavailable 0, readiness every second, 1 s preStop sleep, the
chart's values-dev resources: 100m CPU request, 1 CPU limit, as cgroups) is
rolled v1 → v2 → v1 ... ``--rollouts`` times with ``kubectl set image`` + ``rollout status``,
with ``--settle`` seconds of steady traffic before, between and after the rollouts:

    PYTHONPATH=src python bench/zero_downtime.py [--replicas 4] [--rate 200] [--rollouts 5]
        [--settle 5] [--nodes 2]

Prints total and failed requests, p50/p99 latency during and outside rollouts, their ratio and
each rollout's duration. Target: 0 failed requests, p99 during rollouts <= 2x p99 outside.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shiplane.cluster.apiserver import cluster_down, cluster_up  # noqa: E402
from shiplane.cluster.network.addresses import loopback_twin  # noqa: E402
from shiplane.registry import EmbeddedRegistry, MemoryStorage  # noqa: E402
from shiplane.testing.payment_service import (  # noqa: E402
    build_payment_images,
    payment_manifests,
    response_version,
)
from shiplane.testing.traffic import LoadGenerator, percentile  # noqa: E402


def kubectl(kubeconfig: Path, *args: str, input: str | None = None, timeout: float = 300) -> str:
    result = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], input=input,
                            text=True, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout


def wait_serving(address: str, port: int, version: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with LoadGenerator(address, port, "/healthz", rate=20) as probe:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            recent = probe.samples[-10:]
            if len(recent) == 10 and all(response_version(s.body) == version for s in recent):
                return
    raise SystemExit(f"the Service did not serve {version} within {timeout} s")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--rollouts", type=int, default=5)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="shiplane-bench-zd-") as tmp, \
            EmbeddedRegistry(MemoryStorage()) as registry:
        work = Path(tmp)
        started = time.monotonic()
        images = build_payment_images(work / "build", registry.host)
        print(f"images built and pushed in {time.monotonic() - started:.1f} s")
        state = work / "state"
        info = cluster_up(state, "bench", nodes=args.nodes, runtime="process")
        try:
            kubeconfig = info.kubeconfig
            kubectl(kubeconfig, "apply", "-f", "-",
                    input=yaml.safe_dump_all(payment_manifests(images.v1, args.replicas)))
            kubectl(kubeconfig, "rollout", "status", "deployment/payment-service",
                    "--timeout=300s")
            svc = json.loads(kubectl(kubeconfig, "get", "service", "payment-service", "-o",
                                     "json"))
            address = loopback_twin(svc["spec"]["clusterIP"])
            port = svc["spec"]["ports"][0]["port"]
            wait_serving(address, port, "v1")
            print(f"{args.replicas} replicas ready behind {address}:{port}; "
                  f"load {args.rate:.0f} req/s")

            windows: list[tuple[float, float]] = []
            with LoadGenerator(address, port, "/healthz", rate=args.rate) as load:
                time.sleep(args.settle)
                for index in range(args.rollouts):
                    image = images.v2 if index % 2 == 0 else images.v1
                    begin = time.monotonic()
                    kubectl(kubeconfig, "set", "image", "deployment/payment-service",
                            f"app={image}")
                    kubectl(kubeconfig, "rollout", "status", "deployment/payment-service",
                            "--timeout=300s")
                    end = time.monotonic()
                    windows.append((begin, end))
                    print(f"rollout {index + 1} to {image.split('@')[0].rsplit(':', 1)[1]}: "
                          f"{end - begin:.1f} s")
                    time.sleep(args.settle)
        finally:
            cluster_down(state, "bench")

    def during(sample) -> bool:
        return any(begin <= sample.started < end for begin, end in windows)

    inside = [s for s in load.samples if during(s)]
    outside = [s for s in load.samples if not during(s)]
    failed = load.failed()
    lat_in = [s.latency for s in inside if s.ok]
    lat_out = [s.latency for s in outside if s.ok]
    p99_in, p99_out = percentile(lat_in, 99), percentile(lat_out, 99)
    elapsed = load.samples[-1].started - load.samples[0].started if load.samples else 0.0
    print()
    print(f"total requests        {len(load.samples)} ({len(load.samples) / elapsed:.0f} req/s "
          f"over {elapsed:.0f} s)")
    print(f"failed requests       {len(failed)}")
    if failed:
        print("  kinds:", dict(Counter(s.error or f'HTTP {s.status}' for s in failed)))
        offsets = Counter(
            next((f"rollout {i + 1} +{int(s.started - b)} s" for i, (b, e) in enumerate(windows)
                  if b <= s.started < e), "outside") for s in failed)
        print("  when (started, by second of its rollout):", dict(sorted(offsets.items())))
    print(f"versions answered     {dict(Counter(response_version(s.body) for s in load.samples))}")
    print(f"during rollouts       {len(inside)} requests, p50 {ms(percentile(lat_in, 50))}, "
          f"p99 {ms(p99_in)}")
    print(f"outside rollouts      {len(outside)} requests, p50 {ms(percentile(lat_out, 50))}, "
          f"p99 {ms(p99_out)}")
    slowest = sorted((s for s in inside if s.ok), key=lambda s: s.latency, reverse=True)[:8]
    print("slowest during         " + ", ".join(
        f"{ms(s.latency)} at rollout {i + 1} +{s.started - b:.1f} s"
        for s in slowest for i, (b, e) in enumerate(windows) if b <= s.started < e))
    ratio = p99_in / p99_out if p99_out else float("inf")
    print(f"p99 during / outside  {ratio:.2f}x (target <= 2x; 0 failed)")
    print(f"host load average     {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end "
          f"({os.cpu_count()} CPUs): figures are only comparable on a quiet host")


if __name__ == "__main__":
    main()
