"""What the quickstart steps share: the context they fill in, and a step's record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.charts import RenderedChart

__all__ = ["QuickstartContext", "QuickstartReport", "Step", "StepRecord", "StepResult"]


@dataclass
class QuickstartContext:
    workdir: Path
    service: str = "payment-service"
    platform: str = "k8s-platform-config"
    environments: tuple[str, ...] = ("dev", "staging", "prod")
    # filled in by the steps
    service_repo: Path | None = None
    platform_repo: Path | None = None
    renders: dict[str, RenderedChart] = field(default_factory=dict)
    # the delivery half (quickstart.delivery)
    time_scale: float = 1.0  # the embedded cluster's clock (real time; >1 speeds probes up)
    stack: Any = None  # shiplane.config.StackState of the running `shiplane up`
    stack_started: bool = False
    runs: dict[str, Any] = field(default_factory=dict)  # "v1"/"v2" -> pipeline RunRecord
    history: list[Any] = field(default_factory=list)  # release Revisions, oldest first

    @property
    def state_dir(self) -> Path:
        return self.workdir / ".shiplane"

    @property
    def chart(self) -> Path:
        assert self.service_repo is not None, "scaffold-service runs first"
        return self.service_repo / "helm"


@dataclass(frozen=True)
class StepResult:
    summary: str


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[QuickstartContext], StepResult]


@dataclass(frozen=True)
class StepRecord:
    step: Step
    result: StepResult
    seconds: float


@dataclass
class QuickstartReport:
    context: QuickstartContext
    records: list[StepRecord] = field(default_factory=list)
