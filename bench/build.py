"""Cold and warm builds of a payment-service-like image: embedded builder vs buildah vs docker.

Setup (not timed): a loopback docker-registry, the python base image from
``shiplane base-image`` pushed to it. Then, for each Dockerfile variant:

* embedded cold: empty builder state (the base image is pulled from the registry), build;
* embedded warm: the same build again, nothing changed (library call, and the CLI process);
* buildah cold: ``buildah --storage-driver vfs bud --isolation chroot --layers`` with empty
  storage (pulls the base too); buildah warm: the same again with its layer cache;
* docker cold: ``docker build`` (classic builder) on a private dockerd (vfs storage, like
  buildah's) after ``docker system prune -af`` (pulls the base too); docker warm: the same again
  with its layer cache; docker delegated warm: ``build_with_docker`` (build + ``docker save`` +
  skopeo → OCI layout), i.e. what ``shiplane build --builder docker`` adds on a cache hit.

Run: ``PYTHONPATH=src /work/venv/bin/python bench/build.py [--rounds 3]``.
Targets (issue #4): warm rebuild <= 0.3 s; cold <= 1.0x buildah.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from shiplane.build import Builder, BuildOptions, create_base_images
from shiplane.build.buildah import buildah_command
from shiplane.build.docker import build_with_docker, docker_build_command

MAIN = """\
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(json.dumps({"status": "ok"}).encode())
ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
"""

SCAFFOLD = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8080
WORKDIR /app
COPY src/ /app/src/
USER 10001:10001
EXPOSE 8080
CMD ["python", "/app/src/main.py"]
"""

WITH_RUN = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV PYTHONUNBUFFERED=1 PORT=8080
WORKDIR /app
COPY requirements.txt /app/
RUN python -c "print(open('/app/requirements.txt').read() or 'no deps')" > /app/deps.txt
COPY src/ /app/src/
RUN python -m compileall -q /app/src
USER 10001:10001
EXPOSE 8080
CMD ["python", "/app/src/main.py"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = root / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {root / 'registry'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return process, f"127.0.0.1:{port}"
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("registry did not start")


def make_context(root: Path, dockerfile: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text(MAIN)
    (root / "requirements.txt").write_text("")
    (root / "Dockerfile").write_text(dockerfile)
    return root


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def embedded(ctx: Path, base: str, state: Path) -> float:
    builder = Builder.at(state)
    return timed(lambda: builder.build(BuildOptions(ctx, build_args={"BASE_IMAGE": base})))


def cli_warm(ctx: Path, base: str, state: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    command = [sys.executable, "-m", "shiplane", "build", str(ctx), "-q", "--repo", "bench/app",
               "--build-arg", f"BASE_IMAGE={base}", "--state-dir", str(state)]
    subprocess.run(command, check=True, env=env, capture_output=True)
    return timed(lambda: subprocess.run(command, check=True, env=env, capture_output=True))


def buildah(ctx: Path, base: str, root: Path) -> float:
    command = buildah_command(ctx, ctx / "Dockerfile", "localhost/bench:latest",
                              build_args={"BASE_IMAGE": base}, insecure=True, root=root)
    return timed(lambda: subprocess.run(command, check=True, capture_output=True))


def start_dockerd(root: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    """A private dockerd (as in tests/builder/test_docker_builder.py); (None, why) if none."""
    binary = shutil.which("dockerd")
    if binary is None or shutil.which("docker") is None:
        return None, "docker.io is not installed"
    host = f"unix://{root}/docker.sock"
    process = subprocess.Popen(
        [binary, "--iptables=false", "--ip6tables=false", "--bridge=none",
         "--storage-driver=vfs", f"--data-root={root}/data", f"--exec-root={root}/exec",
         "-H", host, f"--pidfile={root}/pid"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, DOCKER_HOST=host)
    for _ in range(300):
        if subprocess.run(["docker", "info"], env=env, capture_output=True).returncode == 0:
            return process, host
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    process.wait()
    return None, "dockerd did not start on this machine"


def docker(ctx: Path, base: str, env: dict[str, str], *, prune: bool) -> float:
    if prune:
        subprocess.run(["docker", "system", "prune", "-af"], env=env, check=True,
                       capture_output=True)
    command = docker_build_command("docker", ctx, ctx / "Dockerfile", image="bench:latest",
                                   iidfile=ctx.parent / f"{ctx.name}.iid",
                                   build_args={"BASE_IMAGE": base}, labels={})
    env = dict(env, DOCKER_BUILDKIT="0")
    return timed(lambda: subprocess.run(command, check=True, env=env, capture_output=True))


def docker_delegated(ctx: Path, base: str, env: dict[str, str], layout: Path) -> float:
    return timed(lambda: build_with_docker(ctx, ctx / "Dockerfile", layout, "bench",
                                           build_args={"BASE_IMAGE": base}, environ=env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-") as tmp:
        work = Path(tmp)
        registry, address = start_registry(work)
        # Short socket path: unix socket paths are limited to ~100 bytes.
        docker_root = Path(tempfile.mkdtemp(prefix="shl-bench-dockerd-", dir="/tmp"))
        dockerd, docker_host = start_dockerd(docker_root)
        docker_env = dict(os.environ, DOCKER_HOST=docker_host)
        try:
            started = time.perf_counter()
            results = create_base_images(Builder.at(work / "base"), registry=address,
                                         names=["python"], push=True)
            base = results[0].reference
            print(f"setup: {base} ({sum(l['size'] for l in results[0].image.layers) / 1e6:.1f} MB "
                  f"compressed) created and pushed in {time.perf_counter() - started:.1f}s")
            buildah_ok = shutil.which("buildah") is not None
            for name, dockerfile in (("scaffold (no RUN)", SCAFFOLD), ("with 2 RUN", WITH_RUN)):
                rows: dict[str, list[float]] = {k: [] for k in
                                                ("cold", "warm", "warm-cli", "b-cold", "b-warm",
                                                 "d-cold", "d-warm", "d-deleg")}
                for round_ in range(args.rounds):
                    ctx = make_context(work / f"ctx-{name[:4]}-{round_}", dockerfile)
                    state = work / f"state-{name[:4]}-{round_}"
                    rows["cold"].append(embedded(ctx, base, state))
                    rows["warm"].append(embedded(ctx, base, state))
                    rows["warm-cli"].append(cli_warm(ctx, base, state))
                    if buildah_ok:
                        root = work / f"buildah-{name[:4]}-{round_}"
                        rows["b-cold"].append(buildah(ctx, base, root))
                        rows["b-warm"].append(buildah(ctx, base, root))
                        shutil.rmtree(root, ignore_errors=True)
                    if dockerd is not None:
                        rows["d-cold"].append(docker(ctx, base, docker_env, prune=True))
                        rows["d-warm"].append(docker(ctx, base, docker_env, prune=False))
                        rows["d-deleg"].append(docker_delegated(
                            ctx, base, docker_env, work / f"docker-layout-{name[:4]}-{round_}"))
                med = {k: statistics.median(v) if v else float("nan") for k, v in rows.items()}
                print(f"\n{name}: median of {args.rounds} rounds")
                print(f"  embedded cold (pull base + build) {med['cold']:7.3f} s")
                print(f"  embedded warm (library call)      {med['warm']:7.3f} s   target <= 0.3 s")
                print(f"  embedded warm (CLI process)       {med['warm-cli']:7.3f} s")
                if buildah_ok:
                    print(f"  buildah  cold (pull base + bud)   {med['b-cold']:7.3f} s")
                    print(f"  buildah  warm (--layers cache)    {med['b-warm']:7.3f} s")
                    print(f"  cold ratio embedded/buildah       {med['cold'] / med['b-cold']:7.2f}x"
                          "  target <= 1.0x")
                    print(f"  warm ratio embedded/buildah       {med['warm'] / med['b-warm']:7.3f}x")
                else:
                    print("  buildah: not installed on this machine")
                if dockerd is not None:
                    print(f"  docker   cold (pull base + build) {med['d-cold']:7.3f} s")
                    print(f"  docker   warm (layer cache)       {med['d-warm']:7.3f} s")
                    print(f"  docker   warm + save + skopeo     {med['d-deleg']:7.3f} s   (--builder docker)")
                    print(f"  cold ratio embedded/docker        {med['cold'] / med['d-cold']:7.2f}x")
                else:
                    print(f"  docker: {docker_host}")
        finally:
            if dockerd is not None:
                dockerd.terminate()
                dockerd.wait()
            shutil.rmtree(docker_root, ignore_errors=True)
            registry.terminate()
            registry.wait()


if __name__ == "__main__":
    main()
