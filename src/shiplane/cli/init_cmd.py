"""``shiplane init``: generate the guide's repositories."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from shiplane.scaffold import WrittenRepository, init_platform, init_service
from shiplane.scaffold.names import parse_csv
from shiplane.scaffold.platform import DEFAULT_GIT_BASE
from shiplane.scaffold.service import DEFAULT_PLATFORM_REPO, DEFAULT_REGISTRY, MODELS

app = typer.Typer(no_args_is_help=True)


def _report(console: Console, kind: str, written: WrittenRepository) -> None:
    console.print(f"[green]created[/] {kind} {written.path} "
                  f"({len(written.files)} files, commit {written.commit[:7]})")
    if written.backup is not None:
        console.print(f"[yellow]moved the previous folder to[/] {written.backup}")


@app.command("service")
def service(
    name: str = typer.Argument(..., help="Service name: a DNS-1123 label of at most 53 chars."),
    model: int = typer.Option(1, "--model", min=1, max=2,
                              help="1: CI deploys with Helm. 2: CI commits the tag to the "
                              "platform repo (GitOps)."),
    directory: Path = typer.Option(Path("."), "--dir", help="Folder in which NAME/ is created."),
    force: bool = typer.Option(False, "--force", help="If NAME/ exists and is not empty, move it "
                               "aside to NAME.bak-<timestamp> (nothing is deleted)."),
    registry: str = typer.Option(DEFAULT_REGISTRY, "--registry", help="Image registry host."),
    platform_repo: str = typer.Option(
        DEFAULT_PLATFORM_REPO, "--platform-repo",
        help="Model 2: the platform repo CI commits to (owner/name)."),
) -> None:
    """Create a service repository: app, tests, Dockerfile, Helm chart, CI (git, one commit)."""
    written = init_service(name, directory=directory, model=model, force=force,
                           registry=registry, platform_repo=platform_repo)
    console = Console()
    _report(console, f"{MODELS[model]} service repo", written)
    console.print(f"next: cd {written.path} && python -m pytest tests")


@app.command("platform")
def platform(
    name: str = typer.Argument(..., help="Platform repo name, e.g. k8s-platform-config."),
    envs: str = typer.Option("dev,staging,prod", "--envs",
                             help="Comma-separated environments (defined in shiplane.yaml)."),
    services: str = typer.Option("", "--services", help="Comma-separated services to add."),
    directory: Path = typer.Option(Path("."), "--dir", help="Folder in which NAME/ is created."),
    force: bool = typer.Option(False, "--force", help="Move a non-empty NAME/ aside first."),
    git_base: str = typer.Option(DEFAULT_GIT_BASE, "--git-base",
                                 help="URL prefix of the git repos (service and platform)."),
    registry: str = typer.Option(DEFAULT_REGISTRY, "--registry", help="Image registry host."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Path of shiplane.yaml."),
) -> None:
    """Create a platform (GitOps) repository: values per env and Argo CD Applications."""
    written = init_platform(
        name, environments=parse_csv(envs), services=parse_csv(services), directory=directory,
        force=force, git_base=git_base, registry=registry, workspace_config=config,
    )
    _report(Console(), "platform repo", written)
