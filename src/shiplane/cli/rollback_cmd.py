"""``shiplane rollback SERVICE --env ENV [REVISION]``: Helm's rollback (a new revision)."""

from __future__ import annotations

import typer

from shiplane.release import rollback

app = typer.Typer(invoke_without_command=True,
                  context_settings={"allow_interspersed_args": True})


@app.callback()
def rollback_command(
    service: str = typer.Argument(..., help="Service (release) name."),
    revision: int | None = typer.Argument(None, help="Revision (default: the previous one)."),
    env: str = typer.Option(..., "--env", "-e", help="Environment from shiplane.yaml."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until Ready."),
    timeout: int = typer.Option(300, "--timeout", help="Seconds to wait."),
) -> None:
    """helm rollback SERVICE [REVISION]."""
    new = rollback(service, env, revision, wait=wait, timeout=timeout)
    typer.echo(f"{service}: rolled back; revision {new.number} {new.status} ({new.description})")
