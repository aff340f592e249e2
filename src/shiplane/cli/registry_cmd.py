"""``shiplane registry``: serve the embedded registry, log in, list, inspect, copy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from shiplane.config import STATE_DIR_ENV_VAR, find_config, load_workspace, resolve_setting
from shiplane.registry import ProgressEvent
from shiplane.registry.embedded import serve_forever
from shiplane.registry.lifecycle import RepositoryRules
from shiplane.registry.operations import (
    copy_between,
    inspect_image,
    list_repositories,
    list_tags,
    login_password,
    open_registry_server,
)

app = typer.Typer(no_args_is_help=True)

_USER = typer.Option(None, "--username", "-u", help="Registry user (default: docker config / ECR).")
_PASSWORD = typer.Option(None, "--password", "-p", envvar="SHIPLANE_REGISTRY_PASSWORD",
                         help="Registry password (or SHIPLANE_REGISTRY_PASSWORD).")
_PLAIN = typer.Option(None, "--plain-http/--https", help="Force http or https (default: http for loopback).")


def _root(root: Path | None) -> Path:
    if root is not None:
        return root
    path = find_config()
    workspace = load_workspace(path)
    state = resolve_setting(flag=None, env_var=STATE_DIR_ENV_VAR,
                            file_value=workspace.state_dir if path else None,
                            default=workspace.state_dir, convert=Path)
    return Path(state.value) / "registry"


_ROOT = typer.Option(None, "--root", help="Registry storage folder (default: <state dir>/registry).")


@app.command("serve")
def serve(
    root: Path | None = _ROOT,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(5000, help="Port to listen on."),
    auth_config: Path | None = typer.Option(None, "--auth-config", help="Users, principals and policies (YAML)."),
    no_auth: bool = typer.Option(False, "--no-auth", help="Open registry: anyone may push and pull."),
    auth_scheme: str = typer.Option("token", "--auth-scheme",
                                    help="token (Docker token auth) or basic (ECR-style, per request)."),
    immutable: list[str] = typer.Option([], "--immutable", help="Repository glob whose tags are immutable."),
    gc_interval: float = typer.Option(600.0, help="Seconds between online GC cycles (0: off)."),
    gc_grace: float = typer.Option(3600.0, help="Unreferenced blobs younger than this are kept."),
) -> None:
    """Run the OCI registry in the foreground (Ctrl-C to stop)."""
    parts = open_registry_server(_root(root), auth_config=auth_config, no_auth=no_auth,
                                 rules=RepositoryRules(immutable=tuple(immutable)),
                                 gc_interval=gc_interval, gc_grace=gc_grace, auth_scheme=auth_scheme)
    console = Console(stderr=True)
    console.print(f"registry: http://{host}:{port}  storage: {parts.storage.root}")
    for note in parts.notes:
        console.print(f"[dim]{note}[/]")
    if parts.collector:
        parts.collector.start()
    try:
        serve_forever(parts.storage, auth=parts.auth, settings=parts.settings, host=host, port=port)
    finally:
        if parts.collector:
            parts.collector.stop()


@app.command("login-password")
def login_password_cmd(
    root: Path | None = _ROOT,
    principal: str = typer.Option("admin", help="Principal the password authenticates."),
    kind: str = typer.Option("user", help="Principal kind: user, ci or node."),
) -> None:
    """Print a 12-hour password for user AWS (like `aws ecr get-login-password`)."""
    typer.echo(login_password(_root(root), principal=principal, kind=kind))


@app.command("ls")
def ls(registry: str = typer.Argument(..., help="host[:port]"), username: str | None = _USER,
       password: str | None = _PASSWORD, plain_http: bool | None = _PLAIN) -> None:
    """List repositories."""
    for name in list_repositories(registry, username=username, password=password, plain_http=plain_http):
        typer.echo(name)


@app.command("tags")
def tags(repository: str = typer.Argument(..., help="host[:port]/repository"),
         username: str | None = _USER, password: str | None = _PASSWORD,
         plain_http: bool | None = _PLAIN) -> None:
    """List a repository's tags in lexical order."""
    for tag in list_tags(repository, username=username, password=password, plain_http=plain_http):
        typer.echo(tag)


@app.command("inspect")
def inspect(reference: str = typer.Argument(..., help="host[:port]/repository[:tag|@digest]"),
            username: str | None = _USER, password: str | None = _PASSWORD,
            plain_http: bool | None = _PLAIN,
            raw: bool = typer.Option(False, "--raw", help="Print the manifest exactly as stored.")) -> None:
    """Show an image's digest, media type, layers and manifest."""
    info = inspect_image(reference, username=username, password=password, plain_http=plain_http)
    if raw:
        typer.echo(json.dumps(info.manifest, indent=2))
        return
    typer.echo(f"reference:  {info.reference}\ndigest:     {info.digest}\nmedia type: {info.media_type}\n"
               f"entries:    {info.layers}\ntotal size: {info.total_size} bytes")


@app.command("copy")
def copy(source: str = typer.Argument(...), destination: str = typer.Argument(...),
         source_creds: str | None = typer.Option(None, "--src-creds", help="USER:PASSWORD for the source."),
         dest_creds: str | None = typer.Option(None, "--dest-creds", help="USER:PASSWORD for the destination."),
         plain_http: bool | None = _PLAIN) -> None:
    """Copy an image or index between registries, digests preserved."""
    show = os.environ.get("TERM") != "dumb"
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  transient=True, disable=not show, console=Console(stderr=True)) as bars:
        tasks: dict[tuple[str, str], int] = {}

        def progress(event: ProgressEvent) -> None:
            key = (event.action, event.digest)
            if key not in tasks:
                tasks[key] = bars.add_task(f"{event.action} {event.digest[7:19]}", total=event.total or None)
            bars.update(tasks[key], completed=event.done)
        image = copy_between(source, destination, source_creds=source_creds,
                             destination_creds=dest_creds, plain_http=plain_http, progress=progress)
    typer.echo(f"copied {source} -> {image.reference}")
