"""``shiplane quickstart``: run the guide end to end and print a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shiplane.quickstart import StepRecord, run_quickstart

app = typer.Typer()


@app.callback(invoke_without_command=True)
def quickstart(
    directory: Path = typer.Option(Path("shiplane-quickstart"), "--dir",
                                   help="Work folder (re-runs replace what a previous run made)."),
) -> None:
    """Scaffold payment-service and a platform repo, lint and render the chart per environment."""
    console = Console(highlight=False)

    def progress(record: StepRecord) -> None:
        console.print(f"[green]✓[/] {record.step.title} [dim]({record.seconds:.1f}s)[/] "
                      f"{record.result.summary}")

    report = run_quickstart(directory, on_step=progress)
    ctx = report.context
    table = Table(title=f"{ctx.service} rendered per environment")
    for column in ("env", "replicas", "image tag", "cpu / memory", "objects"):
        table.add_column(column)
    for env, rendered in ctx.renders.items():
        deployment = rendered.find("Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        requests = container.get("resources", {}).get("requests", {})
        replicas = deployment["spec"].get("replicas")
        if replicas is None:
            hpa = rendered.find("HorizontalPodAutoscaler")
            replicas = f"HPA {hpa['spec']['minReplicas']}-{hpa['spec']['maxReplicas']}"
        kinds = rendered.kinds()
        extras = [k for k in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress")
                  if k in kinds]
        table.add_row(env, str(replicas), container["image"].rsplit(":", 1)[-1],
                      f"{requests.get('cpu', '-')} / {requests.get('memory', '-')}",
                      f"{len(kinds)}" + (f" (+{', '.join(extras)})" if extras else ""))
    console.print(table)
    console.print(f"service repo:  {ctx.service_repo}\nplatform repo: {ctx.platform_repo}")
