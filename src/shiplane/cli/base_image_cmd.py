"""``shiplane base-image``: small real base images (busybox, python) for offline builds."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.cli.build_cmd import state_dir_option

app = typer.Typer()


@app.callback(invoke_without_command=True, context_settings={"allow_interspersed_args": True})
def base_image(
    registry: str = typer.Option("", "--registry", help="Registry host[:port] prefixing the references."),
    name: list[str] = typer.Option(["busybox", "python"], "--name", help="busybox and/or python."),
    push: bool = typer.Option(False, "--push", help="Push them to --registry."),
    output_layout: Path | None = typer.Option(None, "--output-layout", help="Also write an OCI layout."),
    python_prefix: Path | None = typer.Option(None, "--python-prefix", help="CPython install to copy."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Builder state folder."),
) -> None:
    """Create busybox (Debian busybox-static) and python (host CPython, lean) images."""
    from shiplane.build import Builder, create_base_images

    if push and not registry:
        raise typer.BadParameter("--push needs --registry")
    results = create_base_images(Builder.at(state_dir_option(state_dir)), registry=registry,
                                 names=name, layout=output_layout, push=push,
                                 python_prefix=python_prefix)
    for result in results:
        typer.echo(f"{result.reference}@{result.digest}")
