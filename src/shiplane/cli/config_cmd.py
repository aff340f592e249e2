"""``shiplane config``: show the resolved workspace configuration."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shiplane.config import (
    STATE_DIR_ENV_VAR,
    ValueSource,
    find_config,
    load_workspace,
    resolve_setting,
)

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(
    config: Path | None = typer.Option(None, "--config", "-c", help="Path of shiplane.yaml."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Override the state folder."),
) -> None:
    """Print each environment's registry, cluster and namespace, and where values came from."""
    path = config or find_config()
    workspace = load_workspace(path)
    resolved = resolve_setting(
        flag=state_dir,
        env_var=STATE_DIR_ENV_VAR,
        file_value=workspace.state_dir if path else None,
        default=workspace.state_dir,
        convert=Path,
    )
    console = Console()
    origin = resolved.source.value + (f" {resolved.detail}" if resolved.detail else "")
    console.print(f"config file: {path or '(none: defaults)'}")
    console.print(f"state dir:   {resolved.value}  [dim]({origin})[/]")
    table = Table("environment", "registry", "cluster", "namespace")
    for name, env in workspace.environments.items():
        cluster = (
            f"embedded:{env.cluster.name}"
            if env.cluster.is_embedded
            else f"{env.cluster.kubeconfig or '~/.kube/config'} [{env.cluster.context or 'current'}]"
        )
        table.add_row(name, env.registry.url, cluster, workspace.namespace_for(name))
    console.print(table)
    if resolved.source is ValueSource.DEFAULT and path is None:
        console.print("[dim]no shiplane.yaml found: built-in defaults shown[/]")


@app.command("check")
def check(path: Path = typer.Argument(Path("shiplane.yaml"), help="File to validate.")) -> None:
    """Validate a shiplane.yaml; exits 1 naming the key and line at fault."""
    load_workspace(path)
    typer.echo(f"{path}: ok")
