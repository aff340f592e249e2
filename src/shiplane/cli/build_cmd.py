"""``shiplane build``: Dockerfile → tagged OCI image, written to a layout and/or pushed."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.config import STATE_DIR_ENV_VAR, find_config, load_workspace, resolve_setting
from shiplane.errors import UsageError

app = typer.Typer()


def state_dir_option(flag: Path | None) -> Path:
    path = find_config()
    workspace = load_workspace(path)
    return resolve_setting(flag=flag, env_var=STATE_DIR_ENV_VAR,
                           file_value=workspace.state_dir if path else None,
                           default=workspace.state_dir, convert=Path).value


def parse_build_args(values: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for value in values:
        key, eq, text = value.partition("=")
        if not key:
            raise UsageError(f"--build-arg {value!r}: expected KEY=VALUE")
        if not eq:
            import os

            if key not in os.environ:
                continue  # Docker: KEY alone takes the value from the environment, if set
            text = os.environ[key]
        args[key] = text
    return args


@app.callback(invoke_without_command=True, context_settings={"allow_interspersed_args": True})
def build(
    path: Path = typer.Argument(Path("."), help="Build context (the service repository)."),
    tag: list[str] = typer.Option([], "--tag", "-t", help="repo[:tag] or an extra tag; repeatable."),
    repository: str | None = typer.Option(None, "--repo", help="Image repository (registry/name)."),
    version: str | None = typer.Option(None, "--version", help="Semver (default: helm/Chart.yaml appVersion)."),
    environment: str | None = typer.Option(None, "--env", help="Target environment; 'latest' is refused for staging/prod."),
    push: bool = typer.Option(False, "--push", help="Push every tag to the repository's registry."),
    output_layout: Path | None = typer.Option(None, "--output-layout", help="Write the image to this OCI layout."),
    build_arg: list[str] = typer.Option([], "--build-arg", help="KEY=VALUE; repeatable."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step again."),
    pull: bool = typer.Option(False, "--pull", help="Pull base images even when present locally."),
    network: str = typer.Option("default", "--network", help="RUN network: default/none (isolated) or host."),
    builder: str = typer.Option("embedded", "--builder", help="embedded (default), buildah, or docker (the engine at DOCKER_HOST)."),
    target: str | None = typer.Option(None, "--target", help="Build this stage."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Dockerfile (default: PATH/Dockerfile)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the image references."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Builder state folder (cache, blobs)."),
) -> None:
    """Build PATH's Dockerfile into an OCI image tagged with semver, sha-<7>, build number and time."""
    from shiplane.build import BuildRequest, build_and_tag  # imported on use: keeps startup fast

    result = build_and_tag(BuildRequest(
        path=path, state_dir=state_dir_option(state_dir), repository=repository, tags=tag,
        version=version, environment=environment, push=push, output_layout=output_layout,
        build_args=parse_build_args(build_arg), no_cache=no_cache, pull=pull, network=network,
        builder=builder, target=target, dockerfile=file,
        progress=None if quiet else (lambda line: typer.echo(line, err=True)),
    ))
    if not quiet and result.result is not None:
        r = result.result
        typer.echo(f"built in {r.seconds:.2f}s ({r.cache_hits} cached, {r.cache_misses} run)",
                   err=True)
    for reference in result.references:
        typer.echo(reference)
