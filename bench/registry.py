"""Registry throughput: the embedded registry vs the CNCF distribution registry.

Both servers run as separate processes on loopback with disk storage in a temp
folder; the same shiplane client drives both. Prints push and pull MB/s for a
200 MiB image of several layers — once with the shiplane client, once with
skopeo (Go) so the client's own speed does not hide the server's — the ratio
embedded/distribution, and the 1 MiB monolithic push rate (HEAD + POST + PUT
per blob, shiplane client) with p50 latency, and the server processes' CPU
seconds for the push and pull (load-independent). Rounds alternate between the
servers, each round on a fresh empty server; the best value of each is kept.

    PYTHONPATH=src /work/venv/bin/python bench/registry.py [--size-mib 200] [--layers 8] [--small 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from shiplane.registry import RegistryClient, pull_to_oci_layout, push_oci_layout

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v2/").status_code in (200, 401):
                return
        except httpx.TransportError:
            time.sleep(0.05)
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
    raise SystemExit(f"{url} did not start")


def start_embedded(tmp: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "shiplane", "registry", "serve", "--no-auth",
                             "--root", str(tmp / "embedded"), "--port", str(port), "--gc-interval", "0"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return f"127.0.0.1:{port}", proc


def start_distribution(tmp: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    config = tmp / "distribution.yml"
    config.write_text("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                      f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'distribution'}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return f"127.0.0.1:{port}", proc


def make_image(layout: Path, size_mib: int, layers: int) -> int:
    """An OCI layout with ``layers`` random (incompressible) layers totalling size_mib."""
    import hashlib

    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256" / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    per_layer = size_mib * (1 << 20) // layers
    descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(os.urandom(per_layer))}
             for _ in range(layers)]
    config = blob(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descs]}}).encode())
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                           "layers": descs}).encode()
    root = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(manifest),
            "annotations": {"org.opencontainers.image.ref.name": "bench"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [root]}))
    return sum(d["size"] for d in descs) + config["size"] + len(manifest)


def skopeo(*args: str) -> None:
    subprocess.run(["skopeo", "--insecure-policy", *args], check=True, capture_output=True)


def cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (the server's cost, independent of machine load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(pid: int, action) -> tuple[float, float]:
    cpu0, started = cpu_seconds(pid), time.perf_counter()
    action()
    return time.perf_counter() - started, cpu_seconds(pid) - cpu0


def one_round(host: str, pid: int, layout: Path, total: int, work: Path, round_: int,
              small: int) -> dict[str, float]:
    mb = total / 1e6
    repo = f"bench/r{round_}"
    out: dict[str, float] = {}
    with RegistryClient(host, resolve=False) as client:
        wall, cpu = timed(pid, lambda: push_oci_layout(layout, f"{host}/{repo}:bench", client=client))
        out.update(push_mbs=mb / wall, push_cpu=cpu)
        wall, cpu = timed(pid, lambda: pull_to_oci_layout(f"{host}/{repo}:bench", work / f"pull-{round_}",
                                                          client=client))
        out.update(pull_mbs=mb / wall, pull_cpu=cpu)
        latencies = []
        blob = bytearray(os.urandom(1 << 20))
        started = time.perf_counter()
        for i in range(small):
            blob[:12] = (round_ * 1_000_000 + i).to_bytes(12, "big")
            t0 = time.perf_counter()
            client.push_blob(f"{repo}-small", bytes(blob))
            latencies.append(time.perf_counter() - t0)
        out.update(small_rps=small / (time.perf_counter() - started),
                   small_p50_ms=statistics.median(latencies) * 1000)
    wall, _ = timed(pid, lambda: skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:bench",
                                        f"docker://{host}/{repo}-skopeo:bench"))
    out["skopeo_push_mbs"] = mb / wall
    wall, _ = timed(pid, lambda: skopeo("copy", "--src-tls-verify=false", f"docker://{host}/{repo}-skopeo:bench",
                                        f"oci:{work / f'skopeo-{round_}'}:bench"))
    out["skopeo_pull_mbs"] = mb / wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--small", type=int, default=200, help="1 MiB monolithic pushes per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating servers; best kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-") as tmp_name:
        tmp = Path(tmp_name)
        layout = tmp / "layout"
        total = make_image(layout, args.size_mib, args.layers)
        print(f"image: {total / (1 << 20):.0f} MiB in {args.layers} layers; "
              f"{args.rounds} alternating rounds, best value kept (machine load is noisy)")
        starters = {"embedded": start_embedded, "distribution": start_distribution}
        best: dict[str, dict[str, float]] = {name: {} for name in starters}
        for round_ in range(args.rounds):
            for name, start in starters.items():
                # a fresh, empty server per round: nothing can be skipped as "already there"
                work = tmp / f"{name}-{round_}"
                work.mkdir()
                host, proc = start(work)
                try:
                    got = one_round(host, proc.pid, layout, total, work, round_, args.small)
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
                for key, value in got.items():
                    pick = min if key.endswith(("_ms", "_cpu")) else max
                    best[name][key] = pick(best[name].get(key, value), value)
        for name, b in best.items():
            print(f"{name:13s} shiplane client: push {b['push_mbs']:6.1f} MB/s (server CPU {b['push_cpu']:.2f} s)"
                  f"  pull {b['pull_mbs']:6.1f} MB/s (server CPU {b['pull_cpu']:.2f} s)"
                  f" | skopeo: push {b['skopeo_push_mbs']:6.1f} MB/s  pull {b['skopeo_pull_mbs']:6.1f} MB/s"
                  f" | 1 MiB push {b['small_rps']:5.1f} req/s (p50 {b['small_p50_ms']:.1f} ms)")
        e, d = best["embedded"], best["distribution"]
        print("ratio embedded/distribution: "
              f"shiplane client push {e['push_mbs'] / d['push_mbs']:.2f}x pull {e['pull_mbs'] / d['pull_mbs']:.2f}x; "
              f"skopeo push {e['skopeo_push_mbs'] / d['skopeo_push_mbs']:.2f}x "
              f"pull {e['skopeo_pull_mbs'] / d['skopeo_pull_mbs']:.2f}x; "
              f"1 MiB push {e['small_rps'] / d['small_rps']:.2f}x")


if __name__ == "__main__":
    main()
