"""``shiplane policy``: the platform's governance rules, checked on rendered manifests."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console

from shiplane.charts import render_environment
from shiplane.errors import UsageError
from shiplane.policy import DEFAULT_POLICY, POLICY_FILE, RULES, blocking, evaluate, load_policy

app = typer.Typer(no_args_is_help=True)


@app.command("rules")
def rules_cmd() -> None:
    """The documented rule names."""
    console = Console(highlight=False, width=200)
    for rule in RULES.values():
        console.print(f"{rule.name:<22} {rule.summary}", markup=False)


@app.command("init")
def init_cmd(directory: Path = typer.Option(Path("."), "--dir", help="Platform repo folder.")
             ) -> None:
    """Write the default policies.yaml (refuses to overwrite)."""
    path = directory / POLICY_FILE
    if path.exists():
        raise UsageError(f"{path} already exists")
    path.write_text(DEFAULT_POLICY, encoding="utf-8")
    Console().print(f"wrote {path}")


@app.command("check")
def check_cmd(
    env: str = typer.Option(..., "--env", help="Environment whose rules apply."),
    files: list[Path] = typer.Option([], "--file", "-f", help="Rendered manifests (YAML)."),
    chart: Path | None = typer.Option(None, "--chart", help="Render this chart for --env."),
    policy_file: Path | None = typer.Option(None, "--policy",
                                            help=f"Policy file (default: ./{POLICY_FILE} or "
                                                 "the built-in default)."),
) -> None:
    """Evaluate the policy; exit 1 when an error-severity rule is violated."""
    manifests: list[dict] = []
    for path in files:
        try:
            manifests += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                          if isinstance(d, dict)]
        except (OSError, yaml.YAMLError) as error:
            raise UsageError(f"{path}: cannot read manifests: {error}") from error
    if chart is not None:
        manifests += render_environment(chart, env, release_name=chart.resolve().parent.name
                                        if chart.name == "helm" else chart.name).manifests
    if not files and chart is None:
        raise UsageError("nothing to check: pass --file and/or --chart")
    policy = load_policy(policy_file if policy_file else Path(POLICY_FILE))
    violations = evaluate(manifests, policy, env)
    console = Console(highlight=False, width=240)
    for violation in violations:
        console.print(f"{violation.severity:<8}{violation}", markup=False)
    errors = blocking(violations)
    console.print(f"{len(manifests)} manifests, {len(errors)} error(s), "
                  f"{len(violations) - len(errors)} warning(s) for {env}", markup=False)
    if errors:
        raise typer.Exit(1)
