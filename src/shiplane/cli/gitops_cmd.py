"""``shiplane gitops``: status, diff, sync, terminate-op, reconcile, history and rollback of the
platform repo's Argo CD Applications on a cluster (embedded or any kubeconfig)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shiplane.errors import UsageError
from shiplane.gitops.checkout import RepoCheckout
from shiplane.gitops.diff import SyncStatus
from shiplane.gitops.controller import serve_controller
from shiplane.gitops.leader import LeaderElector, LeaseSettings
from shiplane.gitops.status import terminate
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.gitops.clusters import ClusterClients

app = typer.Typer(no_args_is_help=True)

_DIR = typer.Option(None, "--dir", help="The platform repo (default: here).")
_KUBECONFIG = typer.Option(None, "--kubeconfig", help="Kubeconfig file (default: KUBECONFIG).")
_CONTEXT = typer.Option(None, "--context", help="Kubeconfig context.")
_REPO = typer.Option([], "--repo", help="repoURL=PATH for a source repo not next to the "
                                        "platform repo (repeatable).")
_GROUP = typer.Option([], "--group", help="A group of the user, for the AppProject's roles "
                                          "(repeatable).")
_MODE = typer.Option("server-side", "--apply-mode",
                     help="server-side (SSA, field manager shiplane-gitops) or update "
                          "(create/replace, for API servers without SSA).")


def _repos(pairs: list[str]) -> dict[str, Path]:
    out = {}
    for pair in pairs:
        url, sep, path = pair.partition("=")
        if not sep:
            raise UsageError(f"--repo {pair!r}: expected repoURL=PATH")
        out[url] = Path(path)
    return out


def _open(directory, kubeconfig, context, repo):
    """The platform repo and its clusters: kubeconfig contexts (``context`` is the default,
    where Application status lives; destinations pick theirs by name or server)."""
    workspace = PlatformWorkspace.open(directory, _repos(repo))
    return workspace, ClusterClients(kubeconfig, context)


@app.command("status")
def status_cmd(name: str | None = typer.Argument(None, help="Application (default: all)."),
               directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
               context: str | None = _CONTEXT, repo: list[str] = _REPO) -> None:
    """Sync and health of each Application (compares, changes nothing)."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    table = Table("APPLICATION", "SYNC", "HEALTH", "REVISION", "MESSAGE", box=None)
    with clusters:
        for app_name in [name] if name else sorted(workspace.apps):
            app_ = workspace.app(app_name)
            state = workspace.reconciler_for(app_, clusters).observe(app_)
            revision = state.revisions[-1][:7] if state.revisions else ""
            table.add_row(app_name, state.comparison.status.value, state.health.status.value,
                          revision, state.comparison.message or state.health.message)
    Console(width=200).print(table)


@app.command("diff")
def diff_cmd(name: str = typer.Argument(..., help="Application."),
             directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
             context: str | None = _CONTEXT, repo: list[str] = _REPO) -> None:
    """What differs between git and the cluster; exit 1 when OutOfSync."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    with clusters:
        app_ = workspace.app(name)
        state = workspace.reconciler_for(app_, clusters).observe(app_)
    console = Console(highlight=False, width=200)
    for resource in state.comparison.out_of_sync:
        console.print(f"{resource.kind}/{resource.name} ({resource.key[2] or 'cluster'})"
                      + (" [requires pruning]" if resource.requires_pruning else ""), markup=False)
        for path in resource.paths:
            console.print(f"    {path}", markup=False)
    console.print(f"{name}: {state.comparison.status.value}", markup=False)
    if state.comparison.status is not SyncStatus.SYNCED:
        raise typer.Exit(1)


def _report(name: str, store, console: Console) -> None:
    op = store.load(name).get("operationState") or {}
    for result in (op.get("syncResult") or {}).get("resources") or []:
        console.print(f"  {result['status']:<10} {result['kind']}/{result['name']} "
                      f"{result['message']}", markup=False)
    console.print(f"{name}: {op.get('phase', 'no operation')} {op.get('message', '')}",
                  markup=False)
    if op.get("phase") in ("Failed", "Error"):
        raise typer.Exit(1)


@app.command("sync")
def sync_cmd(name: str = typer.Argument(..., help="Application."),
             prune: bool | None = typer.Option(None, "--prune/--no-prune",
                                               help="Delete resources removed from git "
                                                    "(default: the app's automated.prune)."),
             user: str = typer.Option("admin", "--user", help="Recorded as initiatedBy."),
             group: list[str] = _GROUP,
             directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
             context: str | None = _CONTEXT, repo: list[str] = _REPO,
             apply_mode: str = _MODE) -> None:
    """Sync one Application now (sync windows, project roles and policies are checked
    first)."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    with clusters:
        app_ = workspace.app(name)
        reconciler = workspace.reconciler_for(app_, clusters, apply_mode=apply_mode)
        reconciler.sync(app_, prune=prune, initiated_by=user, groups=group)
        _report(name, reconciler.store, Console(highlight=False, width=200))


@app.command("terminate-op")
def terminate_op_cmd(name: str = typer.Argument(..., help="Application."),
                     directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
                     context: str | None = _CONTEXT, repo: list[str] = _REPO) -> None:
    """End the operation in progress (as ``argocd app terminate-op``): its phase becomes
    Terminating; whoever runs it deletes the running hooks and fails it."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    with clusters:
        terminate(workspace.store(clusters.control), workspace.app(name).name)
    Console(highlight=False).print(f"{name}: operation terminating", markup=False)


@app.command("reconcile")
def reconcile_cmd(directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
                  context: str | None = _CONTEXT, repo: list[str] = _REPO,
                  apply_mode: str = _MODE) -> None:
    """One controller pass over every Application (automated ones sync when OutOfSync)."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    console = Console(highlight=False, width=200)
    with clusters:
        for app_name in sorted(workspace.apps):
            reconciler = workspace.reconciler_for(workspace.apps[app_name], clusters,
                                                  apply_mode=apply_mode)
            state = reconciler.reconcile(workspace.apps[app_name])
            op = reconciler.store.load(app_name).get("operationState") or {}
            failed = f" (sync {op['phase']}: {op.get('message')})" \
                if op.get("phase") in ("Failed", "Error") else ""
            console.print(f"{app_name}: {state.comparison.status.value} "
                          f"{state.health.status.value}{failed}", markup=False)


@app.command("run")
def run_cmd(interval: float = typer.Option(180.0, "--interval", help="Seconds between passes."),
            jitter: float = typer.Option(0.0, "--jitter", help="Up to this many extra seconds."),
            passes: int = typer.Option(0, "--passes", help="Stop after N passes (0: forever)."),
            workers: int = typer.Option(4, "--workers", help="Applications reconciled at once."),
            sync_wave_delay: float | None = typer.Option(
                None, "--sync-wave-delay",
                help="Seconds between sync waves (default: $ARGOCD_SYNC_WAVE_DELAY, else 2)."),
            webhook: str = typer.Option("", "--webhook", help="Listen for GitHub/Gitea push "
                                        "webhooks on HOST:PORT (POST /api/webhook)."),
            webhook_secret: str = typer.Option("", "--webhook-secret",
                                               envvar="SHIPLANE_GITOPS_WEBHOOK_SECRET",
                                               help="Shared secret of the webhook signatures."),
            leader_elect: bool = typer.Option(
                False, "--leader-elect", help="Only the holder of a coordination.k8s.io Lease "
                "reconciles (run several replicas)."),
            lease: str = typer.Option("argocd/shiplane-gitops-controller", "--lease",
                                      help="NAMESPACE/NAME of the leader-election Lease."),
            platform_url: str = typer.Option(
                "", "--platform-url", help="Clone the platform repo from this URL into --dir "
                "and fetch it before every pass and webhook refresh (no git-sync needed); "
                "each --repo PATH is then kept fetched from its URL too."),
            branch: str = typer.Option("", "--branch", help="The platform repo's branch to "
                                       "check out (default: the remote's HEAD)."),
            directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
            context: str | None = _CONTEXT, repo: list[str] = _REPO,
            apply_mode: str = _MODE) -> None:
    """The controller: reconcile every Application, wait, repeat (polling); a webhook push
    refreshes the affected Applications at once."""
    console = Console(highlight=False, width=200)

    def report(name, state):
        console.print(f"{name}: {state.comparison.status.value} {state.health.status.value}",
                      markup=False)

    checkouts = []
    if platform_url:
        if directory is None:
            raise UsageError("--platform-url needs --dir: where to keep the checkout")
        checkouts = [RepoCheckout(platform_url, directory, branch or None)] + [
            RepoCheckout(url, path) for url, path in _repos(repo).items()]
    serve_controller(directory, kubeconfig, context, interval=interval, jitter=jitter,
                     passes=passes, apply_mode=apply_mode, extra_repos=_repos(repo),
                     checkouts=checkouts,
                     webhook=webhook or None, webhook_secret=webhook_secret or None,
                     report=report, announce=lambda line: console.print(line, markup=False),
                     elector_factory=_elector(lease) if leader_elect else None,
                     workers=workers, sync_wave_delay=sync_wave_delay)


def _elector(lease: str):
    namespace, sep, name = lease.partition("/")
    if not sep or not namespace or not name:
        raise UsageError(f"--lease {lease!r}: expected NAMESPACE/NAME")
    settings = LeaseSettings(name=name, namespace=namespace)
    return lambda clusters: LeaderElector(clusters.control, settings)


@app.command("history")
def history_cmd(name: str = typer.Argument(..., help="Application."),
                directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
                context: str | None = _CONTEXT, repo: list[str] = _REPO) -> None:
    """Deployment history (id, revision, deployedAt, initiatedBy)."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    with clusters:
        history = workspace.store(clusters.control).load(workspace.app(name).name).get(
            "history") or []
    table = Table("ID", "DEPLOYED AT", "REVISIONS", "BY", box=None)
    for entry in history:
        by = entry.get("initiatedBy") or {}
        table.add_row(str(entry["id"]), entry.get("deployedAt", ""),
                      " ".join(r[:7] for r in entry.get("revisions") or []),
                      "automated" if by.get("automated") else str(by.get("username", "")))
    Console(width=200).print(table)


@app.command("rollback")
def rollback_cmd(name: str = typer.Argument(..., help="Application."),
                 history_id: int = typer.Argument(..., help="History id (gitops history)."),
                 disable_auto_sync: bool = typer.Option(
                     False, "--disable-auto-sync",
                     help="Roll back although automated sync is on (it may return to git)."),
                 user: str = typer.Option("admin", "--user", help="Recorded as initiatedBy."),
                 group: list[str] = _GROUP,
                 directory: Path | None = _DIR, kubeconfig: Path | None = _KUBECONFIG,
                 context: str | None = _CONTEXT, repo: list[str] = _REPO,
                 apply_mode: str = _MODE) -> None:
    """Sync to the revisions of an earlier deployment (refused under automated sync)."""
    workspace, clusters = _open(directory, kubeconfig, context, repo)
    with clusters:
        app_ = workspace.app(name)
        reconciler = workspace.reconciler_for(app_, clusters, apply_mode=apply_mode)
        reconciler.rollback(app_, history_id, initiated_by=user,
                            disable_auto_sync=disable_auto_sync, groups=group)
        _report(name, reconciler.store, Console(highlight=False, width=200))


image_app = typer.Typer(no_args_is_help=True)
app.add_typer(image_app, name="image",
              help="The controller's container image (the shiplane CLI), built offline.")


@image_app.command("build")
def image_build_cmd(
        reference: str = typer.Argument("shiplane", help="REPOSITORY[:TAG] (default tag: "
                                        "shiplane's version), e.g. 127.0.0.1:5000/shiplane:0.1.0."),
        push: bool = typer.Option(False, "--push", help="Push it to REPOSITORY's registry."),
        output_layout: Path | None = typer.Option(None, "--output-layout",
                                                  help="Also write an OCI layout here."),
        base_image: str | None = typer.Option(
            None, "--base-image", help="FROM image (default: the offline python base image of "
            "this machine's CPython, made when missing)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Run every step again."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the reference."),
        state_dir: Path | None = typer.Option(None, "--state-dir",
                                              help="Builder state folder (cache, blobs)."),
) -> None:
    """Build the image deploy/charts/shiplane-gitops runs: this shiplane and its installed
    runtime dependencies as wheels, pip-installed (--no-index) on the python base image."""
    from shiplane.build.shiplane_image import ShiplaneImageRequest, build_shiplane_image
    from shiplane.cli.build_cmd import state_dir_option

    image = build_shiplane_image(ShiplaneImageRequest(
        state_dir=state_dir_option(state_dir), reference=reference, push=push,
        output_layout=output_layout, base_image=base_image, no_cache=no_cache,
        progress=None if quiet else (lambda line: typer.echo(line, err=True))))
    if not quiet:
        typer.echo(f"built in {image.seconds:.1f}s, {image.size / 1e6:.0f} MB compressed"
                   f"{', pushed' if image.pushed else ''}", err=True)
    typer.echo(image.pinned)
