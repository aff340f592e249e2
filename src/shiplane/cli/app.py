"""The root ``shiplane`` command and its table of command groups.

Each group lives in its own module as a ``typer.Typer`` named ``app`` and is a
thin layer over plain library functions (the same ones tests call). To add a
group, add one row to ``COMMAND_GROUPS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer

from shiplane import __version__

__all__ = ["COMMAND_GROUPS", "build_app", "selected_group"]

# (group name, module under shiplane.cli, help) — the explicit command table.
COMMAND_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("config", "config_cmd", "Show and check the workspace configuration (shiplane.yaml)."),
    ("init", "init_cmd", "Generate a service repo (Model 1/2) or a platform (GitOps) repo."),
    ("platform", "platform_cmd", "Change a platform repo: add services, set image tags."),
    ("chart", "chart_cmd", "Lint and render Helm charts with Helm's own Go SDK."),
    ("quickstart", "quickstart_cmd", "Scaffold, lint and render the guide's repos end to end."),
    ("registry", "registry_cmd", "Run the OCI registry; log in, list, inspect and copy images."),
    ("deploy", "deploy_cmd", "helm upgrade --install a service into an environment (live steps)."),
    ("history", "history_cmd", "A service's release revisions in an environment."),
    ("rollback", "rollback_cmd", "Roll a service's release back to a revision."),
    ("diff", "diff_cmd", "What a deploy would change: rendered chart vs live objects."),
    ("cluster", "cluster_cmd", "Run the embedded Kubernetes API server: up, down, status, kubeconfig."),
    ("build", "build_cmd", "Build a Dockerfile into a tagged OCI image (no daemon needed)."),
    ("base-image", "base_image_cmd", "Create small offline base images (busybox, python)."),
    ("pipeline", "pipeline_cmd", "Run a service repo's CI pipeline; list, show and read runs."),
    ("up", "up_cmd", "Start the embedded stack: registry, cluster, git server (background)."),
    ("status", "status_cmd", "Each part of the embedded stack: endpoint and health."),
    ("down", "down_cmd", "Stop the embedded stack (its state stays on disk)."),
    ("git", "git_cmd", "Local git server: smart HTTP; a push to main runs the pipeline."),
    ("gitops", "gitops_cmd", "Argo CD Applications of a platform repo: status, diff, sync, history, rollback."),
    ("promote", "promote_cmd", "Promote an image tag between environments through gates; review; audit."),
    ("audit", "audit_cmd", "Who promoted what, where and when (platform repo + sync history)."),
    ("policy", "policy_cmd", "Governance rules: list them, check rendered manifests per environment."),
    ("ui", "ui_cmd", "Web dashboard: services × environments, runs, live rollouts, promotions, audit."),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shiplane {__version__}")
        raise typer.Exit()


def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show full tracebacks for errors (also SHIPLANE_DEBUG=1)."
    ),
) -> None:
    """shiplane command line."""


def selected_group(argv: Sequence[str]) -> str | None:
    """The command group named on the command line, if it is a known one."""
    names = {name for name, _, _ in COMMAND_GROUPS}
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in names else None
    return None


def build_app(argv: Sequence[str] = ()) -> typer.Typer:
    """The root command with its groups.

    Only the group named in ``argv`` is imported when there is one (each group pulls in
    its own heavy parts — Helm's SDK, web servers — so importing all of them would cost
    every command about a second); ``--help`` or an unknown name loads them all.
    """
    app = typer.Typer(
        name="shiplane",
        help="Deliver microservices to Kubernetes — service-owned CI (Model 1) or hybrid GitOps "
        "(Model 2) — on an embedded stack or real infrastructure.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode="rich",
    )
    app.callback()(root)
    wanted = selected_group(argv)
    for name, module_name, help_text in COMMAND_GROUPS:
        if wanted is None or name == wanted:
            module = importlib.import_module(f"shiplane.cli.{module_name}")
            app.add_typer(module.app, name=name, help=help_text)
    return app
