"""``shiplane promote``: copy an image tag to the next environment through gates, directly
or as a reviewable branch; ``list``, ``approve``, ``reject`` pending ones; ``audit``.

``shiplane promote SERVICE --from dev --to staging`` is the default command (the
first argument is a service unless it names a subcommand).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from shiplane.gitops.gates import pipeline_verdict
from shiplane.gitops.promotion import approve, audit, commit_promotion, list_pending, reject
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient
from shiplane.pipeline import list_runs

_SUBCOMMANDS = ("list", "approve", "reject", "audit", "service")


class _ServiceByDefault(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in _SUBCOMMANDS and not args[0].startswith("-"):
            args = ["service", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(no_args_is_help=True, cls=_ServiceByDefault)
_DIR = typer.Option(None, "--dir", help="The platform repo (default: here).")
_USER = typer.Option(None, "--user", help="Who you are (default: your login name).")
_KUBECONFIG = typer.Option(None, "--kubeconfig", help="Cluster holding the source app's status.")
_CONTEXT = typer.Option(None, "--context", help="Kubeconfig context.")


def _user(user: str | None) -> str:
    return user or getpass.getuser()


def _print_gates(gates, console: Console) -> None:
    for gate in gates:
        console.print(f"  {gate}", markup=False)


@app.command("service")
def promote_service(
    service: str = typer.Argument(..., help="Service to promote."),
    source: str = typer.Option(..., "--from", help="Environment to take the tag from."),
    target: str = typer.Option(..., "--to", help="Environment to promote to."),
    pr: bool = typer.Option(False, "--pr", help="Commit on a branch for review instead."),
    pipeline_passed: bool = typer.Option(
        False, "--pipeline-passed",
        help="The pipeline that built the tag passed (for CI that runs outside shiplane; "
             "otherwise read from the workspace's pipeline runs)."),
    state_dir: Path | None = typer.Option(None, "--state-dir",
                                          help="Workspace state folder (pipeline runs)."),
    user: str | None = _USER, directory: Path | None = _DIR,
    kubeconfig: Path | None = _KUBECONFIG, context: str | None = _CONTEXT,
) -> None:
    """Promote SERVICE's image tag FROM one environment TO the next."""
    console = Console(highlight=False, width=200)
    workspace = PlatformWorkspace.open(directory)
    promotion = workspace.plan(service, source, target)
    author = _user(user)
    passed: bool | None = True
    if not pipeline_passed:
        passed, why = pipeline_verdict(list_runs(service=service, limit=200,
                                                 state_dir=state_dir), promotion.tag)
        console.print(f"  pipeline: {why}", markup=False)
    with KubeClient.from_kubeconfig(kubeconfig, context) as client:
        gates = workspace.promotion_gates(promotion, author=author, client=client,
                                          pipeline_passed=passed)
    _print_gates(gates, console)
    commit = commit_promotion(workspace.root, promotion, gates, author=author, on_branch=pr)
    where = f"branch {promotion.branch}" if pr else "the current branch"
    console.print(f"promoted {service} {promotion.tag}: {source} -> {target} on {where} "
                  f"(commit {commit[:7]})", markup=False)


@app.command("list")
def list_cmd(directory: Path | None = _DIR) -> None:
    """Promotions waiting for review."""
    workspace = PlatformWorkspace.open(directory)
    table = Table("BRANCH", "SERVICE", "FROM", "TO", "TAG", "AUTHOR", box=None)
    for p in list_pending(workspace.root):
        table.add_row(p.branch, p.service, p.source, p.target, p.tag, p.author)
    Console(width=200).print(table)


@app.command("approve")
def approve_cmd(branch: str = typer.Argument(..., help="Pending promotion branch."),
                user: str | None = _USER, directory: Path | None = _DIR) -> None:
    """Approve and land a pending promotion (not by its author)."""
    workspace = PlatformWorkspace.open(directory)
    commit = approve(workspace.root, branch, approver=_user(user))
    Console().print(f"approved {branch} (commit {commit[:7]})")


@app.command("reject")
def reject_cmd(branch: str = typer.Argument(..., help="Pending promotion branch."),
               user: str | None = _USER, directory: Path | None = _DIR) -> None:
    """Reject a pending promotion (its branch is deleted)."""
    workspace = PlatformWorkspace.open(directory)
    pending = reject(workspace.root, branch, reviewer=_user(user))
    Console().print(f"rejected {pending.service} {pending.tag} -> {pending.target}")


@app.command("audit")
def audit_cmd(service: str | None = typer.Argument(None, help="Only this service."),
              directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
              context: str | None = _CONTEXT,
              offline: bool = typer.Option(False, "--offline",
                                           help="Git history only (no cluster: no deployedAt).")
              ) -> None:
    """Who promoted what, where and when (platform repo history + sync history)."""
    import datetime as dt
    workspace = PlatformWorkspace.open(directory)
    if offline:
        history = workspace.history(None)
    else:
        with KubeClient.from_kubeconfig(kubeconfig, context) as client:
            history = workspace.history(client)
    entries = audit(workspace.root, service, history)
    table = Table("WHEN", "SERVICE", "ENV", "TAG", "BY", "FROM", "APPROVED BY", "DEPLOYED AT",
                  "COMMIT", box=None)
    for e in entries:
        when = dt.datetime.fromtimestamp(e.when, dt.UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(when, e.service, e.environment, e.tag, e.by, e.source, e.approved_by,
                      e.deployed_at, e.commit[:7])
    Console(width=220).print(table)
