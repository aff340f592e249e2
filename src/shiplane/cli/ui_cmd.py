"""``shiplane ui``: serve the web dashboard in the foreground; ``ui add-user`` issues tokens."""

from __future__ import annotations

import threading
from pathlib import Path

import typer

from shiplane.cli.cluster_cmd import _state_dir
from shiplane.web import WebServer, add_user, open_dashboard, users_file

app = typer.Typer()

_STATE = typer.Option(None, "--state-dir", help="Override the state folder.")


@app.callback(invoke_without_command=True)
def ui(
    ctx: typer.Context,
    port: int = typer.Option(8480, "--port", help="Port (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    platform: Path | None = typer.Option(
        None, "--platform", help="Platform repo (Model 2): Applications, promotions, audit."),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="Cluster holding the Applications' status (gitops)."),
    context: str | None = typer.Option(None, "--context", help="Its kubeconfig context."),
    state_dir: Path | None = _STATE,
) -> None:
    """Serve the dashboard: overview, services, live rollouts, cluster, audit; JSON at /api."""
    if ctx.invoked_subcommand is not None:
        return
    folder = _state_dir(state_dir)
    dashboard = open_dashboard(folder, platform_dir=platform, gitops_kubeconfig=kubeconfig,
                               gitops_context=context)
    with WebServer(dashboard, host=host, port=port) as server:
        typer.echo(f"dashboard: {server.url}  (actions need a token: shiplane ui add-user NAME)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


@app.command("add-user")
def add_user_cmd(
    name: str = typer.Argument(..., help="User name (recorded as Promoted-by/Approved-by)."),
    action: list[str] = typer.Option([], "--action",
                                     help="Allow only these: sync, rollback, approve, reject."),
    state_dir: Path | None = _STATE,
) -> None:
    """Add a user (or give them a new token) in <state>/web/users.yaml; prints the token."""
    path = users_file(_state_dir(state_dir))
    token = add_user(path, name, action or None)
    typer.echo(f"user {name} in {path}; token (shown once): {token}")
