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
    """Scaffold payment-service, start the stack, pipeline to dev (v1), push a change, watch
    the push-triggered pipeline roll out v2; print the history and where to look next."""
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
    if ctx.history:
        history = Table(title=f"helm history {ctx.service} (dev)")
        for column in ("revision", "status", "app version", "description"):
            history.add_column(column)
        for revision in ctx.history:
            history.add_row(str(revision.number), revision.status, revision.app_version,
                            revision.description)
        console.print(history)
    if ctx.stack is not None:
        state = ctx.state_dir
        console.print(
            "[bold]Where to look next[/]\n"
            f"  kubectl --kubeconfig {ctx.stack.kubeconfig} -n dev get deploy,rs,pods\n"
            f"  curl -s http://{ctx.stack.registry}/v2/{ctx.service}/tags/list\n"
            f"  shiplane pipeline list --state-dir {state}   "
            f"(then: shiplane pipeline logs RUN --state-dir {state})\n"
            f"  shiplane status --state-dir {state}   (stack logs: {state / 'stack' / 'logs'})\n"
            f"  cd {ctx.service_repo} && git push shiplane HEAD:main   "
            "(each push runs the pipeline to dev)\n"
            f"  shiplane down --state-dir {state}   (stops the stack; state stays on disk)")
