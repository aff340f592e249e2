"""The CI pipeline of a service repository, as data.

The guide's two models share the front of the pipeline and differ at the end::

    Model 1 (service-owned CI/CD):  test → build → tag → push → deploy
    Model 2 (hybrid GitOps):        test → build → tag → push → bump

``deploy`` is ``helm upgrade --install`` into the environment; ``bump`` commits
the new image tag to the platform repo (``platform set-image``) and leaves the
deploy to the GitOps controller. A run started by a push or a webhook first
checks the pushed commit out (``checkout``), as a CI runner does.

Which model a repository follows, and its service name, are read from its
chart: ``helm/Chart.yaml`` ``name`` and the ``shiplane.io/delivery-model``
annotation that ``shiplane init service`` writes (Model 1 when absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from shiplane.pipeline.errors import NotAServiceRepo, UnknownStep
from shiplane.pipeline.records import StepRecord
from shiplane.pipeline.states import Event

__all__ = [
    "CHECKOUT",
    "MODEL_ANNOTATION",
    "MODEL_STEPS",
    "ServiceInfo",
    "plan_steps",
    "read_service_info",
    "service_info_from_chart",
]

CHECKOUT = "checkout"
MODEL_ANNOTATION = "shiplane.io/delivery-model"
MODEL_STEPS: dict[int, tuple[str, ...]] = {
    1: ("test", "build", "tag", "push", "deploy"),
    2: ("test", "build", "tag", "push", "bump"),
}
CHART_FILE = "helm/Chart.yaml"


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    model: int
    version: str | None = None  # the chart's appVersion: the image's semver tag


def service_info_from_chart(text: str, *, source: str = CHART_FILE) -> ServiceInfo:
    """Service name, delivery model and app version from the text of ``helm/Chart.yaml``."""
    try:
        chart = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise NotAServiceRepo(f"{source} is not valid YAML: {error}") from None
    if not isinstance(chart, dict) or not isinstance(chart.get("name"), str):
        raise NotAServiceRepo(f"{source} has no chart name")
    annotations = chart.get("annotations") or {}
    raw_model = str(annotations.get(MODEL_ANNOTATION, "1")) if isinstance(annotations, dict) else "1"
    if not raw_model.isdigit() or int(raw_model) not in MODEL_STEPS:
        raise NotAServiceRepo(
            f"{source}: annotation {MODEL_ANNOTATION}: {raw_model!r} is not a delivery model",
            hint="use \"1\" (CI deploys) or \"2\" (GitOps)",
        )
    version = chart.get("appVersion")
    return ServiceInfo(chart["name"], int(raw_model), str(version) if version else None)


def read_service_info(repo: Path) -> ServiceInfo:
    """:func:`service_info_from_chart` for a working tree."""
    chart = Path(repo) / CHART_FILE
    if not chart.is_file():
        raise NotAServiceRepo(
            f"{repo} is not a service repository (no {CHART_FILE})",
            hint="run in a repo made by `shiplane init service`, or pass --repo PATH",
        )
    return service_info_from_chart(chart.read_text(encoding="utf-8"), source=str(chart))


def plan_steps(
    model: int, *, checkout: bool = False, until: str | None = None
) -> list[StepRecord]:
    """The step records of a new run; steps after ``until`` are skipped from the start."""
    if model not in MODEL_STEPS:
        raise NotAServiceRepo(f"unknown delivery model {model}", hint="1 or 2")
    names: Sequence[str] = ((CHECKOUT,) if checkout else ()) + MODEL_STEPS[model]
    if until is not None and until not in names:
        raise UnknownStep(
            f"--until {until}: the Model {model} pipeline has no such step",
            hint=f"steps: {', '.join(names)}",
        )
    steps = [StepRecord(name) for name in names]
    if until is not None:
        for step in steps[names.index(until) + 1:]:
            step.apply(Event.SKIP, summary=f"not requested (--until {until})")
    return steps
