"""``shiplane diff SERVICE --env ENV``: what a deploy would change (rendered vs live)."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.release import release_diff

app = typer.Typer(invoke_without_command=True,
                  context_settings={"allow_interspersed_args": True})


@app.callback()
def diff_command(
    service: str = typer.Argument(".", help="Service repo folder (or its name from inside it)."),
    env: str = typer.Option(..., "--env", "-e", help="Environment from shiplane.yaml."),
    values: list[Path] = typer.Option([], "--values", "-f", help="Extra values file."),
    set_: list[str] = typer.Option([], "--set", help="key=value."),
    set_string: list[str] = typer.Option([], "--set-string", help="key=value, a string."),
    image_tag: str | None = typer.Option(None, "--image-tag", "--tag", help="image.tag."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when there are changes."),
) -> None:
    """Unified diff of live objects (server-set fields ignored) against the rendered chart."""
    changes = release_diff(service, env, values_files=values, set=set_,
                           set_string=set_string, image_tag=image_tag)
    for change in changes:
        typer.echo(change.diff, nl=False)
    typer.echo(f"{len(changes)} object(s) would change" if changes else "no changes")
    if changes and exit_code:
        raise typer.Exit(1)
