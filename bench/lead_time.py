"""Lead time on the embedded stack: commit → every pod of the new version Ready in dev.

    PYTHONPATH=src /work/venv/bin/python bench/lead_time.py [--rounds 5] [--time-scale 10]

Starts ``shiplane up`` (the real supervisor process) in a temporary state folder,
scaffolds payment-service, creates the offline python base image and pushes v1 to the
stack's git server as a warm-up run. Then each round, warm (base image cached, dependencies unchanged):
change the version string ``/healthz`` reports, ``git commit``, ``git push`` to the
stack's git server (which runs test → build → tag → push → deploy), and wait until
the dev Deployment runs that run's digest with every replica updated and Ready.
Prints the median of the rounds: the total and where it went (commit + push, push →
run started, each pipeline step, run finished → all pods Ready as seen by polling).
``--time-scale`` is the simulated cluster's clock (probe delays, image pull pacing);
the pipeline's own work (pytest, build, push, Helm) runs in real time either way.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from shiplane.build import Builder, create_base_images
from shiplane.kube import KubeClient
from shiplane.pipeline import RunRecord, RunStatus, open_run_store
from shiplane.scaffold import init_service
from shiplane.stack import stack_down, stack_up

HEALTHZ = '{"status": "ok", "service": app.settings.service_name'
HEALTHZ_TEST = '{"status": "ok", "service": "payment-service"'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def wait_run(state: Path, commit: str, timeout: float = 120.0) -> RunRecord:
    store = open_run_store(state)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            runs = [r for r in store.list(service="payment-service", limit=10)
                    if r.commit == commit]
            if runs and runs[0].status.finished:
                return runs[0]
            time.sleep(0.02)
    finally:
        store.close()
    raise SystemExit(f"no finished run for {commit[:7]} in {timeout:.0f}s")


def wait_ready(kube: KubeClient, image: str, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = kube.get("apps/v1", "Deployment", "payment-service", "dev")
        wanted, status = live["spec"].get("replicas", 1), live.get("status", {})
        if (live["spec"]["template"]["spec"]["containers"][0]["image"] == image
                and status.get("updatedReplicas") == wanted == status.get("readyReplicas")
                and status.get("replicas") == wanted):
            return time.time()
        time.sleep(0.02)
    raise SystemExit(f"{image} not Ready in {timeout:.0f}s")


def set_version(repo: Path, version: str) -> None:
    for name, anchor in (("src/modules/http_api.py", HEALTHZ),
                         ("tests/integration/test_http_api.py", HEALTHZ_TEST)):
        path = repo / name
        text = path.read_text()
        head, rest = text.split(anchor, 1)
        rest = rest.split("}", 1)[1]
        path.write_text(f'{head}{anchor}, "version": "{version}"}}{rest}')


def seconds(start: datetime | None, end: datetime | None) -> float:
    return (end - start).total_seconds() if start and end else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lead-time-") as tmp:
        state = Path(tmp) / "state"
        stack, _ = stack_up(state, nodes=args.nodes, time_scale=args.time_scale, cwd=Path(tmp))
        try:
            repo = init_service("payment-service", directory=Path(tmp)).path
            create_base_images(Builder.at(state), names=("python",))
            git(repo, "remote", "add", "shiplane", f"{stack.git_url}/payment-service.git")
            git(repo, "push", "-q", "shiplane", "HEAD:main")  # warm-up: v1 through the server
            warm = wait_run(state, git(repo, "rev-parse", "HEAD"))
            assert warm.status is RunStatus.SUCCEEDED, warm.error
            figures: dict[str, list[float]] = {}
            with KubeClient.from_kubeconfig(Path(stack.kubeconfig)) as kube:
                wait_ready(kube, warm.image_reference or "")
                for index in range(args.rounds):
                    set_version(repo, f"r{index}")
                    started = time.time()
                    git(repo, "commit", "-qam", f"version r{index}")
                    git(repo, "push", "-q", "shiplane", "HEAD:main")
                    pushed = time.time()
                    run = wait_run(state, git(repo, "rev-parse", "HEAD"))
                    assert run.status is RunStatus.SUCCEEDED, (run.error, run.to_dict())
                    ready = wait_ready(kube, run.image_reference or "")
                    row = {
                        "commit + git push": pushed - started,
                        "push -> run started": run.started_at.timestamp() - pushed,
                        **{f"step {s.name}": seconds(s.started_at, s.ended_at)
                           for s in run.steps},
                        "run end -> all Ready seen": ready - run.ended_at.timestamp(),
                        "TOTAL commit -> all pods Ready": ready - started,
                    }
                    for key, value in row.items():
                        figures.setdefault(key, []).append(value)
                    print(f"round {index + 1}: {row['TOTAL commit -> all pods Ready']:.2f}s "
                          f"(run {run.id}, revision {run.release_revision})", flush=True)
        finally:
            stack_down(state)
    print(f"\nlead time, median of {args.rounds} warm rounds "
          f"({args.nodes} simulated nodes, cluster time x{args.time_scale:g}):")
    for key, values in figures.items():
        print(f"  {key:<32} {statistics.median(values):6.2f} s"
              f"   (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
