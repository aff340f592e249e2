"""``shiplane history SERVICE --env ENV``: the release's Helm revisions."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from shiplane.release import release_revisions

app = typer.Typer(invoke_without_command=True,
                  context_settings={"allow_interspersed_args": True})


@app.callback()
def history_command(
    service: str = typer.Argument(..., help="Service (release) name."),
    env: str = typer.Option(..., "--env", "-e", help="Environment from shiplane.yaml."),
    output: str = typer.Option("text", "--output", "-o", help="text or json."),
) -> None:
    """helm history SERVICE: revision, updated, status, chart, app version, description."""
    revisions = release_revisions(service, env)
    if output == "json":
        typer.echo(json.dumps([{
            "revision": r.number, "updated": r.updated.isoformat() if r.updated else None,
            "status": r.status, "chart": r.chart, "app_version": r.app_version,
            "description": r.description,
        } for r in revisions], indent=2))
        return
    if not revisions:
        typer.echo(f"release {service} has no revisions in {env}")
        return
    table = Table("REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION")
    for r in revisions:
        table.add_row(str(r.number), r.updated.strftime("%Y-%m-%d %H:%M:%S") if r.updated else "",
                      r.status, r.chart, r.app_version, r.description)
    Console(highlight=False).print(table)
