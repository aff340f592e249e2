"""How long scaffolding, linting and rendering take (figures, no assertions).

    PYTHONPATH=src /work/venv/bin/python bench/scaffold_and_render.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shiplane.charts import environment_overrides, lint_chart, render_environment
from shiplane.scaffold import init_platform, init_service


def timed(label: str, rounds: int, action: Callable[[int], object]) -> None:
    samples = []
    for index in range(rounds):
        started = time.perf_counter()
        action(index)
        samples.append((time.perf_counter() - started) * 1000)
    print(f"{label:<38} median {statistics.median(samples):7.1f} ms   "
          f"min {min(samples):7.1f} ms   max {max(samples):7.1f} ms   (n={rounds})")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed("init service (incl. lint + git commit)", rounds,
              lambda i: init_service(f"svc-{i}", directory=root))
        timed("init platform (3 envs, 1 service)", rounds,
              lambda i: init_platform(f"plat-{i}", environments=["dev", "staging", "prod"],
                                      services=["svc"], directory=root))
        chart = root / "svc-0" / "helm"
        timed("helm lint, prod values", rounds,
              lambda i: lint_chart(chart, environment_overrides(chart, "prod")))
        timed("render prod (values.yaml + values-prod)", rounds,
              lambda i: render_environment(chart, "prod", release_name="svc"))


if __name__ == "__main__":
    main()
