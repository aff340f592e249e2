"""Where a release goes: environment -> cluster access + namespace; repo -> chart; image -> values.

An environment of ``shiplane.yaml`` names its cluster either as the embedded one
(``cluster: embedded`` / ``{name: N}``: the kubeconfig ``shiplane cluster up``
writes under the state folder) or as a kubeconfig file and context. Both become
the same :class:`~shiplane.charts.ClusterAccess`, so every later step runs the
same code whatever the cluster is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from shiplane.charts import ClusterAccess
from shiplane.config import (
    STATE_DIR_ENV_VAR,
    Workspace,
    find_config,
    load_workspace,
    running_stack,
)
from shiplane.registry import ImageReference
from shiplane.release.errors import ReleaseTargetError

__all__ = [
    "ServiceChart",
    "embedded_image_repository",
    "image_overrides",
    "load_target_workspace",
    "resolve_access",
    "resolve_chart",
]


def load_target_workspace(config: Path | None = None) -> Workspace:
    """The workspace config (found upwards from the cwd), state folder from the env if set."""
    workspace = load_workspace(config or find_config())
    if os.environ.get(STATE_DIR_ENV_VAR):
        workspace = workspace.model_copy(
            update={"state_dir": Path(os.environ[STATE_DIR_ENV_VAR]).resolve()}
        )
    return workspace


def resolve_access(workspace: Workspace, env: str) -> ClusterAccess:
    """The kubeconfig, context and namespace of environment ``env``."""
    try:
        environment = workspace.environment(env)
    except KeyError:
        raise ReleaseTargetError(
            f"no environment {env!r} in the workspace config",
            hint=f"known environments: {', '.join(workspace.environments)}",
        ) from None
    namespace = workspace.namespace_for(env)
    cluster = environment.cluster
    if cluster.is_embedded:
        from shiplane.cluster import cluster_status  # the embedded cluster's on-disk layout

        info = cluster_status(workspace.state_dir, cluster.name)
        if not info.running or not info.kubeconfig.is_file():
            raise ReleaseTargetError(
                f"environment {env!r} deploys to the embedded cluster {cluster.name!r}, "
                "which is not running",
                hint=f"start it: shiplane cluster up --name {cluster.name}",
            )
        return ClusterAccess(info.kubeconfig, namespace)
    kubeconfig = cluster.kubeconfig
    if kubeconfig is None:  # a context in the default kubeconfig
        kubeconfig = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    kubeconfig = kubeconfig.expanduser()
    if not kubeconfig.is_file():
        raise ReleaseTargetError(f"environment {env!r}: kubeconfig {kubeconfig} does not exist")
    return ClusterAccess(kubeconfig, namespace, cluster.context)


@dataclass(frozen=True)
class ServiceChart:
    """A service repository's chart (``<repo>/helm``) and its release name."""

    repo: Path
    chart: Path
    name: str
    version: str


def resolve_chart(service: str | Path, chart_version: str | None = None) -> ServiceChart:
    """``service`` is a service repo folder, or a service name when the cwd is its repo."""
    candidates = [Path(service), Path.cwd()]
    for repo in candidates:
        chart_file = repo / "helm" / "Chart.yaml"
        if not chart_file.is_file():
            continue
        try:
            meta = yaml.safe_load(chart_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ReleaseTargetError(f"{chart_file}: cannot be read: {error}") from error
        name, version = str(meta.get("name") or ""), str(meta.get("version") or "")
        if repo == Path.cwd() and Path(service) != repo and str(service) != name:
            continue
        if chart_version and chart_version != version:
            raise ReleaseTargetError(
                f"{chart_file}: chart version is {version}, not the pinned {chart_version}",
                hint="check out the commit with that chart version or drop --version",
            )
        return ServiceChart(repo.resolve(), (repo / "helm").resolve(), name, version)
    raise ReleaseTargetError(
        f"{service}: not a service repository (no helm/Chart.yaml) and the current folder "
        "is not its repository",
        hint="pass the service repo folder, or run from inside it",
    )


def embedded_image_repository(workspace: Workspace, env: str, service: str) -> str | None:
    """``<stack registry>/<service>`` when ``env`` uses the embedded registry and ``shiplane
    up`` runs (so ``deploy --tag T`` names the image the pipeline pushed), else None."""
    environment = workspace.environments.get(env)
    if environment is None or not environment.registry.is_embedded:
        return None
    stack = running_stack(workspace.state_dir)
    return f"{stack.registry}/{service}" if stack is not None else None


def image_overrides(image_tag: str | None, image_ref: str | None) -> tuple[str, ...]:
    """``--set-string`` expressions for the image: tags always strings (``0123456`` too).

    ``image_ref`` is a full reference, ideally digest-pinned
    (``host/repo:tag@sha256:…``); the chart's ``repository:tag`` template then
    yields ``host/repo:tag@sha256:…``, which the kubelet pulls by digest.
    """
    if image_tag and image_ref:
        raise ReleaseTargetError("give either an image tag or an image reference, not both")
    if image_tag:
        return (f"image.tag={_escaped(image_tag)}",)
    if not image_ref:
        return ()
    try:
        ref = ImageReference.parse(image_ref)
    except Exception as error:  # the registry's parser raises its own error type
        raise ReleaseTargetError(f"image reference {image_ref!r} is invalid: {error}") from error
    if ref.tag is None:
        raise ReleaseTargetError(
            f"image reference {image_ref!r} has a digest but no tag",
            hint="the chart renders repository:tag; pass repo:TAG@sha256:… (the pushed tag)",
        )
    tag = ref.tag + (f"@{ref.digest}" if ref.digest else "")
    repository = f"{ref.registry}/{ref.repository}"
    return (f"image.repository={_escaped(repository)}", f"image.tag={_escaped(tag)}")


def _escaped(value: str) -> str:
    # strvals treats ',' as a separator and '\' as an escape (pkg/strvals/parser.go).
    return value.replace("\\", "\\\\").replace(",", "\\,")
