"""Carry out pipeline runs: record them, run their steps, keep every log.

:meth:`PipelineRunner.create` records a pending run (this is what a push does
before it returns); :meth:`PipelineRunner.execute` runs it to the end, asking
:func:`~shiplane.pipeline.states.next_action` what to do after every step and
saving the record after every change, so ``pipeline show`` of another process
sees the run move. A step that fails keeps its log and stops the run; the
remaining steps are skipped. Ctrl-C cancels the running step and the run.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from shiplane.config import Workspace
from shiplane.errors import ShiplaneError
from shiplane.pipeline.catalog import default_step_registry
from shiplane.pipeline.definition import plan_steps
from shiplane.pipeline.errors import StepFailed, UnknownEnvironment
from shiplane.pipeline.records import RunRecord, StepRecord, Trigger
from shiplane.pipeline.recovery import runner_id
from shiplane.pipeline.states import Event, FinishRun, StartStep, next_action
from shiplane.pipeline.steps import (
    RunSettings,
    StepContext,
    StepLog,
    StepOutputs,
    StepRegistry,
)
from shiplane.pipeline.store import RunStore

__all__ = ["PipelineRunner", "RunObserver", "RunRequest"]


@dataclass(frozen=True)
class RunRequest:
    """A run to start. ``checkout`` runs check ``commit`` of ``source`` out first."""

    source: str  # a working tree (manual) or a repository path/URL (push, webhook)
    service: str
    model: int
    env: str = "dev"
    trigger: Trigger = Trigger.MANUAL
    commit: str | None = None
    ref: str | None = None
    checkout: bool = False
    until: str | None = None
    settings: RunSettings = field(default_factory=RunSettings)


class RunObserver:
    """Hooks for a live view of a run; every method does nothing by default."""

    def run_started(self, run: RunRecord) -> None: ...

    def step_started(self, run: RunRecord, step: StepRecord) -> None: ...

    def log_written(self, run: RunRecord, step: StepRecord, text: str) -> None: ...

    def step_finished(self, run: RunRecord, step: StepRecord) -> None: ...

    def run_finished(self, run: RunRecord) -> None: ...


def _merge(run: RunRecord, outputs: StepOutputs) -> None:
    if outputs.image_reference:
        run.image_reference = outputs.image_reference
    if outputs.image_digest:
        run.image_digest = outputs.image_digest
    if outputs.image_tags:
        run.image_tags = list(outputs.image_tags)
    if outputs.release_revision is not None:
        run.release_revision = outputs.release_revision


class PipelineRunner:
    log_save_interval = 1.0  # seconds between saves of a running step's log

    def __init__(
        self, store: RunStore, *, state_dir: Path, workspace: Workspace | None = None,
        steps: StepRegistry | None = None,
    ) -> None:
        self.store = store
        self.state_dir = Path(state_dir)
        self.workspace = workspace or Workspace()
        self.steps = steps or default_step_registry()

    def create(self, request: RunRequest) -> RunRecord:
        """Validate ``request`` and record it as a pending run."""
        if request.env not in self.workspace.environments:
            raise UnknownEnvironment(
                f"unknown environment {request.env!r}",
                hint=f"known: {', '.join(self.workspace.environments)}",
            )
        run = RunRecord(
            service=request.service, env=request.env, model=request.model,
            trigger=request.trigger, source=request.source, commit=request.commit,
            ref=request.ref,
            steps=plan_steps(request.model, checkout=request.checkout, until=request.until),
            runner=runner_id(),
        )
        return self.store.add(run)

    def work_dir(self, run: RunRecord) -> Path:
        return self.state_dir / "pipeline" / "work" / f"run-{run.id}"

    def execute(
        self, run: RunRecord, request: RunRequest, observer: RunObserver | None = None
    ) -> RunRecord:
        """Run every step of a pending ``run``; returns the finished record."""
        observer = observer or RunObserver()
        workdir = self.work_dir(run) if request.checkout else Path(request.source)
        context = StepContext(
            run=run, workdir=workdir, state_dir=self.state_dir,
            environment=self.workspace.environment(run.env), settings=request.settings,
            log=StepLog(),
            workspace=self.workspace.model_copy(update={"state_dir": self.state_dir}),
        )
        run.apply(Event.START)
        self.store.save(run)
        observer.run_started(run)
        try:
            while True:
                action = next_action([step.status for step in run.steps])
                if isinstance(action, FinishRun):
                    self._finish(run, action)
                    observer.run_finished(run)
                    return run
                assert isinstance(action, StartStep)
                self._run_step(run, run.steps[action.index], context, observer)
        finally:
            if request.checkout:
                shutil.rmtree(workdir, ignore_errors=True)

    def run(self, request: RunRequest, observer: RunObserver | None = None) -> RunRecord:
        return self.execute(self.create(request), request, observer)

    def _run_step(
        self, run: RunRecord, step: StepRecord, context: StepContext, observer: RunObserver
    ) -> None:
        step.apply(Event.START)
        self.store.save(run)
        observer.step_started(run, step)
        last_save = time.monotonic()

        def written(text: str) -> None:
            nonlocal last_save
            observer.log_written(run, step, text)
            # `pipeline logs RUN` in another terminal follows a long step
            if time.monotonic() - last_save >= self.log_save_interval:
                step.log = log.text
                self.store.save(run)
                last_save = time.monotonic()

        log = StepLog(written)
        context.log = log
        context.run = RunRecord.from_dict(run.to_dict())
        implementation = self.steps.get(step.name)
        interrupted: KeyboardInterrupt | None = None
        try:
            if implementation is None:
                raise StepFailed(
                    f"this shiplane has no implementation of the {step.name!r} step",
                    hint=f"available steps: {', '.join(self.steps.names())}; "
                    f"use --until to stop before it",
                )
            outputs = implementation(context) or StepOutputs()
        except KeyboardInterrupt as error:
            context.cancelled.set()
            log.write("cancelled (interrupted)")
            step.apply(Event.CANCEL, summary="cancelled")
            run.error = f"{step.name}: cancelled"
            interrupted = error
        except ShiplaneError as error:
            log.write(f"error: {error.message}")
            if error.hint:
                log.write(f"hint: {error.hint}")
            step.apply(Event.FAIL, summary=error.message)
            run.error = f"{step.name}: {error.message}"
        except Exception as error:  # noqa: BLE001 — a bug in a step: record it, do not crash
            log.write(traceback.format_exc())
            step.apply(Event.FAIL, summary=f"unexpected {type(error).__name__}: {error}")
            run.error = f"{step.name}: unexpected {type(error).__name__}: {error}"
        else:
            _merge(run, outputs)
            step.apply(Event.SUCCEED, summary=outputs.summary)
        step.log = log.text
        self.store.save(run)
        observer.step_finished(run, step)
        if interrupted is not None:
            self._finish(run, next_action([s.status for s in run.steps]))  # type: ignore[arg-type]
            observer.run_finished(run)
            raise interrupted

    def _finish(self, run: RunRecord, action: FinishRun) -> None:
        stopped = run.failed_step
        for index in action.pending:
            reason = (
                f"{stopped.name} {stopped.status.value}" if stopped is not None else "not run"
            )
            run.steps[index].apply(action.step_event, summary=f"skipped: {reason}"
                                   if action.step_event is Event.SKIP else reason)
        run.apply(action.event)
        self.store.save(run)
