"""``shiplane status``: each part of the embedded stack, its endpoint and its health."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.cli.cluster_cmd import _state_dir
from shiplane.stack import stack_status

app = typer.Typer()


@app.callback(invoke_without_command=True)
def status(
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Override the state folder."),
) -> None:
    """Exit 0 when every part is healthy, 1 when a part is not, 3 when the stack is stopped."""
    report = stack_status(_state_dir(state_dir))
    if not report.running:
        typer.echo("stack: stopped")
        raise typer.Exit(3)
    assert report.state is not None
    typer.echo(f"stack: running (pid {report.state.pid}), logs in {report.logs}")
    for part in report.parts:
        mark = "ok  " if part.healthy else "DOWN"
        typer.echo(f"  {mark} {part.name:<9} {part.endpoint}"
                   + (f"  ({part.detail})" if part.detail and not part.healthy else ""))
    typer.echo(f"  kubeconfig: {report.state.kubeconfig}")
    if not report.healthy:
        raise typer.Exit(1)
