"""``shiplane pipeline``: run a service repo's CI pipeline and look at recorded runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from shiplane.cli.build_cmd import parse_build_args
from shiplane.errors import UsageError
from shiplane.pipeline import (
    RunObserver,
    RunRecord,
    RunSettings,
    RunStatus,
    StepRecord,
    StepStatus,
    follow_run,
    get_run,
    list_runs,
    log_tail,
    run_logs,
    run_pipeline,
)

app = typer.Typer(no_args_is_help=True)

_STATE_DIR = typer.Option(None, "--state-dir", help="Workspace state folder (run database).")
_OUTPUT = typer.Option("text", "--output", "-o", help="text (Rich) or json.")

MARKS = {
    StepStatus.PENDING: ("○", "dim"),
    StepStatus.RUNNING: ("●", "cyan"),
    StepStatus.SUCCEEDED: ("✓", "green"),
    StepStatus.FAILED: ("✗", "bold red"),
    StepStatus.SKIPPED: ("–", "dim"),
    StepStatus.CANCELLED: ("■", "yellow"),
}
RUN_STYLES = {
    RunStatus.PENDING: "dim", RunStatus.RUNNING: "cyan", RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "bold red", RunStatus.CANCELLED: "yellow",
}


def _json_output(output: str) -> bool:
    if output not in ("text", "json"):
        raise UsageError(f"--output {output}: choose text or json")
    return output == "json"


def _seconds(value: float | None) -> str:
    return f"{value:.1f}s" if value is not None else ""


def _mark(step: StepRecord) -> Text:
    mark, style = MARKS[step.status]
    return Text(mark, style=style)


def _status(run: RunRecord) -> Text:
    return Text(run.status.value, style=RUN_STYLES[run.status])


class LiveView(RunObserver):
    """Prints each step as it starts and ends, with its output indented and dimmed."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def run_started(self, run: RunRecord) -> None:
        commit = f" @ {run.commit[:7]}" if run.commit else ""
        self.console.print(f"[bold]run {run.id}[/] {run.service}{commit} → {run.env} "
                           f"(Model {run.model})")

    def step_started(self, run: RunRecord, step: StepRecord) -> None:
        self.console.print(f"[cyan]▶ {step.name}[/]")

    def log_written(self, run: RunRecord, step: StepRecord, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            self.console.print(Text("  " + line, style="dim"), highlight=False, soft_wrap=True)

    def step_finished(self, run: RunRecord, step: StepRecord) -> None:
        mark, style = MARKS[step.status]
        self.console.print(f"[{style}]{mark} {step.name}[/] {escape(step.summary)} "
                           f"[dim]{_seconds(step.seconds)}[/]")


def _print_steps(console: Console, run: RunRecord) -> None:
    table = Table("", "step", "status", "time", "summary", box=None, pad_edge=False)
    for step in run.steps:
        table.add_row(_mark(step), step.name, step.status.value, _seconds(step.seconds),
                      escape(step.summary))
    console.print(table)


def _print_run(console: Console, run: RunRecord) -> None:
    console.print(Text.assemble(("run ", "bold"), (str(run.id), "bold"), "  ", _status(run)))
    rows = [
        ("service", f"{run.service} (Model {run.model})"), ("env", run.env),
        ("trigger", run.trigger.value), ("source", run.source),
        ("commit", run.commit or "-"), ("ref", run.ref or "-"),
        ("started", run.started_at.isoformat(timespec="seconds") if run.started_at else "-"),
        ("duration", _seconds(run.seconds) or "-"),
    ]
    if run.image_reference or run.image_digest:
        rows.append(("image", run.image_reference or "-"))
        rows.append(("digest", run.image_digest or "-"))
    if run.image_tags:
        rows.append(("tags", ", ".join(run.image_tags)))
    if run.release_revision is not None:
        rows.append(("revision", str(run.release_revision)))
    for key, value in rows:
        console.print(f"  [dim]{key:<9}[/] {escape(value)}")
    _print_steps(console, run)


def _print_failure(console: Console, run: RunRecord) -> None:
    step = run.failed_step
    if step is None:
        return
    console.print(Panel(Text(log_tail(step.log) or "(no output)"),
                        title=f"{step.name}: last lines of the log", border_style="red"))
    console.print(f"[bold red]{run.status.value}[/] at [bold]{step.name}[/]: "
                  f"{escape(step.summary)}")
    console.print(f"[dim]full log: shiplane pipeline logs {run.id} --step {step.name}[/]")


@app.command("run")
def run_cmd(
    env: str = typer.Option("dev", "--env", help="Environment to deliver to."),
    repo: Path = typer.Option(Path("."), "--repo", help="The service repository (working tree)."),
    until: str | None = typer.Option(None, "--until", help="Stop after this step (later ones skipped)."),
    model: int | None = typer.Option(None, "--model", help="Delivery model (default: from helm/Chart.yaml)."),
    registry: str | None = typer.Option(None, "--registry", help="Push to this registry host instead of the environment's."),
    platform_repo: Path | None = typer.Option(None, "--platform-repo", help="Model 2: the platform repo to commit the new tag to."),
    build_arg: list[str] = typer.Option([], "--build-arg", help="KEY=VALUE for the build; repeatable."),
    state_dir: Path | None = _STATE_DIR,
    output: str = _OUTPUT,
) -> None:
    """Run the pipeline on REPO: test → build → tag → push → deploy (Model 2: → bump)."""
    as_json = _json_output(output)
    console = Console()
    run = run_pipeline(
        repo, env=env, until=until, model=model, state_dir=state_dir,
        settings=RunSettings(registry=registry, platform_repo=platform_repo,
                             build_args=parse_build_args(build_arg)),
        observer=None if as_json else LiveView(console),
    )
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=2))
    else:
        console.print()
        _print_steps(console, run)
        if run.status is RunStatus.SUCCEEDED:
            console.print(f"[green]run {run.id} succeeded[/] in {_seconds(run.seconds)}")
        else:
            _print_failure(console, run)
    if run.status is not RunStatus.SUCCEEDED:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    service: str | None = typer.Option(None, "--service", help="Only this service's runs."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many runs (newest first)."),
    state_dir: Path | None = _STATE_DIR,
    output: str = _OUTPUT,
) -> None:
    """List recorded runs, newest first."""
    as_json = _json_output(output)
    runs = list_runs(service=service, limit=limit, state_dir=state_dir)
    if as_json:
        typer.echo(json.dumps([run.to_dict(logs=False) for run in runs], indent=2))
        return
    console = Console()
    if not runs:
        console.print("no pipeline runs yet: [bold]shiplane pipeline run[/] in a service repo")
        return
    table = Table("run", "service", "env", "trigger", "commit", "status", "steps", "started",
                  "time")
    for column in table.columns:
        column.no_wrap = True
    for run in runs:
        steps = Text()
        for step in run.steps:
            steps.append_text(_mark(step))
        table.add_row(
            str(run.id), run.service, run.env, run.trigger.value,
            (run.commit or "-")[:7], _status(run), steps,
            run.created_at.astimezone().strftime("%m-%d %H:%M"), _seconds(run.seconds),
        )
    console.print(table)


@app.command("show")
def show_cmd(
    run_id: int = typer.Argument(..., metavar="RUN", help="Run number (see `pipeline list`)."),
    state_dir: Path | None = _STATE_DIR,
    output: str = _OUTPUT,
) -> None:
    """Show a run: source, commit, image, release revision and every step."""
    as_json = _json_output(output)
    run = get_run(run_id, state_dir=state_dir)
    if as_json:
        typer.echo(json.dumps(run.to_dict(logs=False), indent=2))
        return
    console = Console()
    _print_run(console, run)
    if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
        _print_failure(console, run)


@app.command("logs")
def logs_cmd(
    run_id: int = typer.Argument(..., metavar="RUN", help="Run number."),
    step: str | None = typer.Option(None, "--step", help="Only this step's log, as captured."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until the run ends."),
    state_dir: Path | None = _STATE_DIR,
    output: str = _OUTPUT,
) -> None:
    """Print the captured logs of a run's steps."""
    as_json = _json_output(output)
    if follow:
        console, current = Console(), None
        for name, text in follow_run(run_id, state_dir=state_dir):
            if step is not None and name != step:
                continue
            if name != current and step is None:
                console.rule(f"[bold]{name}[/]", align="left")
            current = name
            typer.echo(text, nl=False)
        return
    logs = run_logs(run_id, step=step, state_dir=state_dir)
    if as_json:
        typer.echo(json.dumps([{"step": name, "log": log} for name, log in logs], indent=2))
        return
    if step is not None:
        typer.echo(logs[0][1], nl=False)
        return
    console = Console()
    for name, log in logs:
        console.rule(f"[bold]{name}[/]", align="left")
        if log:
            console.print(Text(log.rstrip("\n")), highlight=False)
