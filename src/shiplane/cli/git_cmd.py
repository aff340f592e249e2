"""``shiplane git``: the local git server (smart HTTP) whose pushes run the pipeline."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from shiplane.cli.build_cmd import parse_build_args
from shiplane.cli.pipeline_cmd import LiveView
from shiplane.pipeline import PipelineServer, RunSettings, serve_git

app = typer.Typer(no_args_is_help=True)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8418, "--port", help="Port to listen on (0: any free port)."),
    env: str = typer.Option("dev", "--env", help="Environment that pushes to main deliver to."),
    until: str | None = typer.Option(None, "--until", help="Stop triggered runs after this step."),
    webhook_secret: str | None = typer.Option(
        None, "--webhook-secret", envvar="SHIPLANE_WEBHOOK_SECRET",
        help="Require GitHub/Gitea webhook signatures made with this secret."),
    registry: str | None = typer.Option(None, "--registry", help="Push images to this registry host."),
    platform_repo: Path | None = typer.Option(None, "--platform-repo", help="Model 2: platform repo for `bump`."),
    build_arg: list[str] = typer.Option([], "--build-arg", help="KEY=VALUE for builds; repeatable."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Workspace state folder."),
) -> None:
    """Serve <state dir>/git over HTTP; a push to main of a service repo runs its pipeline."""
    console = Console()

    def started(server: PipelineServer) -> None:
        console.print(f"git server: [bold]{server.url}[/]  repositories: {server.git.repositories.root}")
        console.print(f"  push:    git push {server.url}/<service>.git main   (created on first push)")
        console.print(f"  webhook: POST {server.url}/hooks/push (GitHub/Gitea push events)")
        console.print("  runs:    shiplane pipeline list   [dim](Ctrl-C stops the server)[/]")

    settings = RunSettings(registry=registry, platform_repo=platform_repo,
                           build_args=parse_build_args(build_arg))
    serve_git(host=host, port=port, env=env, until=until, webhook_secret=webhook_secret,
              state_dir=state_dir, settings=settings, observer=LiveView(console),
              on_start=started)
