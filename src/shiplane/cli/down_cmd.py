"""``shiplane down``: stop the embedded stack; its stores stay on disk for the next ``up``."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.cli.cluster_cmd import _state_dir
from shiplane.stack import stack_down

app = typer.Typer()


@app.callback(invoke_without_command=True)
def down(
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Override the state folder."),
) -> None:
    """Stop the supervisor and every part it runs."""
    stopped = stack_down(_state_dir(state_dir))
    typer.echo("stack stopped" if stopped else "stack was not running")
