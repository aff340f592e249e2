"""``shiplane platform``: change a platform (GitOps) repository, one commit per change."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from shiplane.scaffold import add_service, set_image

app = typer.Typer(no_args_is_help=True)


@app.command("add-service")
def add_service_cmd(
    service: str = typer.Argument(..., help="Service name (DNS-1123 label, at most 53 chars)."),
    directory: Path | None = typer.Option(None, "--dir", help="The platform repo (default: here)."),
) -> None:
    """Add SERVICE to every environment: values files and Argo CD Applications."""
    root, commit = add_service(service, directory=directory)
    Console().print(f"[green]added[/] {service} to {root} (commit {commit[:7]})")


@app.command("set-image")
def set_image_cmd(
    service: str = typer.Argument(..., help="Service name."),
    env: str = typer.Option(..., "--env", help="Environment to change."),
    tag: str = typer.Option(..., "--tag", help="Image tag (kept a string, e.g. an all-digit SHA)."),
    repository: str | None = typer.Option(None, "--repository", help="Also set image.repository."),
    message: str | None = typer.Option(None, "--message", "-m", help="Commit message."),
    directory: Path | None = typer.Option(None, "--dir", help="The platform repo (default: here)."),
) -> None:
    """Commit a new image tag for SERVICE in ENV (Model 2 CI and promotion)."""
    root, commit = set_image(service, environment=env, tag=tag, repository=repository,
                             directory=directory, message=message)
    Console().print(f"[green]{service}[/] {env} -> {tag} in {root} (commit {commit[:7]})")
