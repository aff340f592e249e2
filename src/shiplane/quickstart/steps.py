"""The quickstart as a list of steps over one shared context.

Theory of operation: :data:`STEPS` is an ordered table of :class:`Step`; each
step is a plain function ``(QuickstartContext) -> StepResult`` that may read
what earlier steps stored on the context. :func:`run_quickstart` runs them in
order and stops at the first error (a ``ShiplaneError`` naming the problem).
The delivery half (``delivery``: stack, base image, pipeline to dev, a pushed
change rolled out) is appended as more rows; ``RENDER_STEPS`` is the local half.

The workdir belongs to the quickstart: it is marked with ``.shiplane-quickstart``
and a re-run replaces the repositories the previous run generated there. A
non-empty folder without the marker is never touched.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from shiplane.charts import lint_chart, render_environment
from shiplane.charts.render import environment_overrides
from shiplane.errors import ShiplaneError
from shiplane.quickstart.context import (
    QuickstartContext,
    QuickstartReport,
    Step,
    StepRecord,
    StepResult,
)
from shiplane.quickstart.delivery import DELIVERY_STEPS
from shiplane.scaffold import TargetNotEmptyError, init_platform, init_service

__all__ = [
    "MARKER",
    "RENDER_STEPS",
    "STEPS",
    "QuickstartContext",
    "QuickstartReport",
    "Step",
    "StepResult",
    "run_quickstart",
]

MARKER = ".shiplane-quickstart"


def prepare_workdir(ctx: QuickstartContext) -> StepResult:
    workdir = ctx.workdir
    if workdir.exists() and not workdir.is_dir():
        raise TargetNotEmptyError(f"{workdir} exists and is not a folder", hint="pass --dir")
    marked = (workdir / MARKER).is_file()
    if workdir.is_dir() and any(workdir.iterdir()) and not marked:
        raise TargetNotEmptyError(
            f"{workdir} is not empty and was not made by `shiplane quickstart`",
            hint="pass --dir with a new or empty folder",
        )
    workdir.mkdir(parents=True, exist_ok=True)
    replaced = []
    for name in (ctx.service, ctx.platform):
        previous = workdir / name
        if marked and previous.exists():
            shutil.rmtree(previous)
            replaced.append(name)
    (workdir / MARKER).write_text("made by `shiplane quickstart`; re-runs replace its repos\n")
    return StepResult(f"{workdir}" + (f" (replaced {', '.join(replaced)})" if replaced else ""))


def scaffold_service(ctx: QuickstartContext) -> StepResult:
    written = init_service(ctx.service, directory=ctx.workdir, model=1)
    ctx.service_repo = written.path
    return StepResult(
        f"{written.path.name}: {len(written.files)} files, commit {written.commit[:7]}")


def scaffold_platform(ctx: QuickstartContext) -> StepResult:
    written = init_platform(
        ctx.platform, environments=ctx.environments, services=[ctx.service],
        directory=ctx.workdir,
    )
    ctx.platform_repo = written.path
    return StepResult(
        f"{written.path.name}: {len(written.files)} files, commit {written.commit[:7]}")


def lint_chart_step(ctx: QuickstartContext) -> StepResult:
    counts = []
    for env in ctx.environments:
        report = lint_chart(
            ctx.chart, environment_overrides(ctx.chart, env), strict=True, raise_on_error=True
        )
        counts.append(f"{env}: {len(report.errors)} errors, {len(report.warnings)} warnings")
    return StepResult("; ".join(counts))


def render_chart_step(ctx: QuickstartContext) -> StepResult:
    for env in ctx.environments:
        ctx.renders[env] = render_environment(ctx.chart, env, release_name=ctx.service)
    total = sum(len(r.manifests) for r in ctx.renders.values())
    return StepResult(f"{total} manifests for {', '.join(ctx.environments)}")


STEPS: list[Step] = [
    Step("workdir", "Prepare the work folder", prepare_workdir),
    Step("scaffold-service", "Scaffold payment-service (Model 1)", scaffold_service),
    Step("scaffold-platform", "Scaffold the platform repo (Model 2)", scaffold_platform),
    Step("lint", "helm lint the chart per environment", lint_chart_step),
    Step("render", "Render the chart per environment", render_chart_step),
]
RENDER_STEPS = list(STEPS)  # the local half: no stack, no build (fast)
STEPS += DELIVERY_STEPS


def run_quickstart(
    workdir: Path,
    *,
    steps: list[Step] | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
) -> QuickstartReport:
    """Run the quickstart steps in ``workdir``; raises at the first failing step."""
    ctx = QuickstartContext(Path(workdir).absolute())
    report = QuickstartReport(ctx)
    for step in steps if steps is not None else STEPS:
        started = time.perf_counter()
        try:
            result = step.run(ctx)
        except ShiplaneError as error:
            error.message = f"quickstart step {step.name!r} failed: {error.message}"
            raise
        record = StepRecord(step, result, time.perf_counter() - started)
        report.records.append(record)
        if on_step is not None:
            on_step(record)
    return report
