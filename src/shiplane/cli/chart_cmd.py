"""``shiplane chart``: lint and render Helm charts with Helm itself (the Go SDK)."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console

from shiplane.charts import ValueOverrides, environment_overrides, lint_chart, render_chart
from shiplane.errors import UsageError

app = typer.Typer(no_args_is_help=True)

_VALUES = typer.Option([], "--values", "-f", help="Values file (repeatable, left to right).")
_SET = typer.Option([], "--set", help="key=value (Helm typing).")
_SET_STRING = typer.Option([], "--set-string", help="key=value, always a string.")
_SET_JSON = typer.Option([], "--set-json", help="key=<JSON>.")
_SET_FILE = typer.Option([], "--set-file", help="key=<path>: the file's content.")
_SET_LITERAL = typer.Option([], "--set-literal", help="key=value taken verbatim.")
_ENV = typer.Option(None, "--env", help="Add -f <chart>/values-<env>.yaml first.")


def _overrides(chart: Path, env: str | None, values: list[Path], set_: list[str],
               set_string: list[str], set_json: list[str], set_file: list[str],
               set_literal: list[str]) -> ValueOverrides:
    overrides = ValueOverrides(values_files=tuple(values), set=tuple(set_),
                               set_string=tuple(set_string), set_json=tuple(set_json),
                               set_file=tuple(set_file), set_literal=tuple(set_literal))
    return environment_overrides(chart, env, overrides) if env else overrides


@app.command("lint")
def lint(
    chart: Path = typer.Argument(..., help="Chart folder."),
    env: str | None = _ENV, values: list[Path] = _VALUES, set_: list[str] = _SET,
    set_string: list[str] = _SET_STRING, set_json: list[str] = _SET_JSON,
    set_file: list[str] = _SET_FILE, set_literal: list[str] = _SET_LITERAL,
    strict: bool = typer.Option(False, "--strict", help="Warnings count as errors."),
) -> None:
    """helm lint: exits 1 when Helm reports errors."""
    overrides = _overrides(chart, env, values, set_, set_string, set_json, set_file, set_literal)
    report = lint_chart(chart, overrides, strict=strict)
    console = Console(highlight=False)
    for message in report.messages:
        console.print(str(message), markup=False)
    console.print(f"{chart}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if not report.ok:
        raise typer.Exit(1)


def _chart_name(chart: Path) -> str:
    try:
        return str(yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))["name"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return "release-name"  # what `helm template` calls an unnamed release


@app.command("render")
def render(
    chart: Path = typer.Argument(..., help="Chart folder."),
    release: str = typer.Option(None, "--release",
                                help="Release name (default: the chart's name)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n",
                                         help="Default: the env, else 'default'."),
    env: str | None = _ENV, values: list[Path] = _VALUES, set_: list[str] = _SET,
    set_string: list[str] = _SET_STRING, set_json: list[str] = _SET_JSON,
    set_file: list[str] = _SET_FILE, set_literal: list[str] = _SET_LITERAL,
) -> None:
    """helm template: print the rendered manifests as YAML, in install order."""
    if not chart.is_dir():
        raise UsageError(f"{chart}: no such chart folder")
    overrides = _overrides(chart, env, values, set_, set_string, set_json, set_file, set_literal)
    rendered = render_chart(chart, overrides, release_name=release or _chart_name(chart),
                            namespace=namespace or env or "default")
    typer.echo(yaml.safe_dump_all(rendered.manifests, sort_keys=False), nl=False)
