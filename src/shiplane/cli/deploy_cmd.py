"""``shiplane deploy SERVICE --env ENV``: helm upgrade --install through Helm's SDK, live steps."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from shiplane.errors import UsageError
from shiplane.release import DeployFailedError, JsonLinesSink, LiveStepView, deploy

app = typer.Typer(invoke_without_command=True,
                  context_settings={"allow_interspersed_args": True})


@app.callback()
def deploy_command(
    service: str = typer.Argument(".", help="Service repo folder (or its name from inside it)."),
    env: str = typer.Option(..., "--env", "-e", help="Environment from shiplane.yaml."),
    values: list[Path] = typer.Option([], "--values", "-f", help="Extra values file (repeatable)."),
    set_: list[str] = typer.Option([], "--set", help="key=value (Helm typing)."),
    set_string: list[str] = typer.Option([], "--set-string", help="key=value, a string."),
    set_json: list[str] = typer.Option([], "--set-json", help="key=<JSON>."),
    set_file: list[str] = typer.Option([], "--set-file", help="key=<path>."),
    image_tag: str | None = typer.Option(None, "--image-tag", "--tag",
                                         help="image.tag (always a string)."),
    image: str | None = typer.Option(None, "--image",
                                     help="Full image reference, e.g. host/repo:tag@sha256:…"),
    version: str | None = typer.Option(None, "--version", help="Pin the chart version."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until Ready (kstatus)."),
    timeout: int = typer.Option(300, "--timeout", help="Seconds to wait."),
    rollback_on_failure: bool | None = typer.Option(
        None, "--rollback-on-failure/--no-rollback-on-failure",
        help="Roll back to the last deployed revision if the wait fails (default: on for prod)."),
    force_unlock: bool = typer.Option(False, "--force-unlock",
                                      help="Treat a pending revision as stuck even if recent."),
    output: str = typer.Option("text", "--output", "-o", help="text or json (JSON lines)."),
) -> None:
    """helm upgrade --install SERVICE ./helm -f values-ENV.yaml --set-string image.tag=…"""
    if output not in ("text", "json"):
        raise UsageError(f"--output {output!r}: use 'text' or 'json'")
    kwargs = dict(values_files=values, set=set_, set_string=set_string, set_json=set_json,
                  set_file=set_file, image_tag=image_tag, image_ref=image,
                  chart_version=version, wait=wait, timeout=timeout,
                  rollback_on_failure=rollback_on_failure, force_unlock=force_unlock)
    if output == "json":
        sink = JsonLinesSink()
        try:
            deploy(service, env, on_step=sink, **kwargs)
        except DeployFailedError as error:
            sink.record({"step": "failed-deploy", "message": error.message,
                         "rolled_back_to": error.rolled_back_to,
                         "pods": error.diagnosis.as_json() if error.diagnosis else []})
            raise
        return
    console = Console(highlight=False)
    with LiveStepView(console, title=f"deploy {service} → {env}") as view:
        result = deploy(service, env, on_step=view, **kwargs)
    console.print(f"{result.release}: revision {result.revision} {result.status} "
                  f"in namespace {result.namespace}", markup=False)
