"""Commit → pipeline on the local git server: where the time goes (figures, no assertions).

    PYTHONPATH=src /work/venv/bin/python bench/pipeline_push.py [rounds]

Each round commits a change to a scaffolded payment-service and pushes it to a
PipelineServer running the pipeline until the test step; it prints the `git push`
time, push → run recorded (should be ~0: recorded before the push returns), and
each step's duration, as medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shiplane.pipeline import MemoryRunStore, PipelineServer
from shiplane.scaffold import init_service


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", *args],
                   check=True, capture_output=True)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        repo = init_service("payment-service", directory=Path(tmp)).path
        figures: dict[str, list[float]] = {}
        with PipelineServer(Path(tmp) / "state", store=MemoryRunStore(), until="test") as ci:
            url = ci.clone_url("payment-service")
            for index in range(rounds):
                (repo / "README.md").write_text(f"# payment-service, round {index}\n")
                git(repo, "commit", "-qam", f"round {index}")
                started = time.perf_counter()
                git(repo, "push", "-q", url, "main")
                pushed = time.perf_counter()
                recorded = len(ci.store.list()) == index + 1
                ci.wait_idle(300)
                done = time.perf_counter()
                run = ci.store.list()[0]
                figures.setdefault("git push", []).append(pushed - started)
                figures.setdefault("push -> run finished", []).append(done - started)
                for step in run.steps:
                    if step.seconds is not None:
                        figures.setdefault(f"step {step.name}", []).append(step.seconds)
                assert recorded, "the run was not recorded when git push returned"
    print(f"{rounds} rounds (run recorded before `git push` returned in every round)")
    for label, samples in figures.items():
        print(f"{label:<24} median {statistics.median(samples) * 1000:8.1f} ms   "
              f"min {min(samples) * 1000:8.1f} ms   max {max(samples) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
