"""``shiplane up``: start the embedded stack as one supervised background process."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.cli.cluster_cmd import _state_dir
from shiplane.stack import log_dir, stack_up

app = typer.Typer()


@app.callback(invoke_without_command=True)
def up(
    nodes: int = typer.Option(3, "--nodes", help="Simulated nodes."),
    time_scale: float = typer.Option(1.0, "--time-scale",
                                     help="Cluster clock speed (30: a 600 s deadline in 20 s)."),
    registry_port: int | None = typer.Option(None, "--registry-port", help="Registry port."),
    api_port: int | None = typer.Option(None, "--api-port", help="API server port."),
    git_port: int | None = typer.Option(None, "--git-port", help="Git server port."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Override the state folder."),
    platform: Path | None = typer.Option(None, "--platform", help="A platform repo: run the "
                                         "GitOps controller on it (with its webhook)."),
    gitops_port: int = typer.Option(0, "--gitops-port", help="GitOps webhook port."),
    gitops_interval: float = typer.Option(180.0, "--gitops-interval",
                                          help="Seconds between GitOps polls."),
) -> None:
    """Registry, cluster (API server, controllers, nodes) and git server; state on disk."""
    folder = _state_dir(state_dir)
    state, started = stack_up(folder, nodes=nodes, time_scale=time_scale,
                              registry_port=registry_port, api_port=api_port, git_port=git_port,
                              part_options=_gitops_options(platform, gitops_port, gitops_interval))
    typer.echo(f"stack {'started' if started else 'already running'} (pid {state.pid})")
    typer.echo(f"registry:   {state.registry}")
    typer.echo(f"cluster:    {state.api_url} ({state.nodes} nodes, time x{state.time_scale:g})")
    typer.echo(f"kubeconfig: {state.kubeconfig}")
    typer.echo(f"git:        {state.git_url}/<service>.git (a push to main runs the pipeline)")
    for name, endpoint in sorted(state.parts.items()):
        typer.echo(f"{name + ':':<11} {endpoint}")
    if state.web_url:
        typer.echo(f"dashboard:  {state.web_url} (shiplane ui add-user NAME for a token)")
    typer.echo(f"logs:       {log_dir(folder)}")


def _gitops_options(platform: Path | None, port: int, interval: float) -> tuple[str, ...]:
    if platform is None:
        return ()
    return ("--platform", str(platform.resolve()), "--gitops-port", str(port),
            "--gitops-interval", str(interval))
