"""The guide's Model 2 platform (GitOps) repository and the commands that edit it.

::

    NAME/ shiplane-platform.yaml        settings read by `shiplane platform ...`
          <env>/<service>/values.yaml   per-environment values, owned by the platform team
          argocd-apps/<service>.yaml    one Argo CD Application per environment
          argocd-apps/appproject.yaml   the AppProject: allowed repos and namespaces
          README.md

Every change is a git commit (deployment version = platform repo commit).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from shiplane.config import load_workspace
from shiplane.scaffold import argocd
from shiplane.scaffold.errors import (
    NotAPlatformRepoError,
    ScaffoldError,
    ServiceExistsError,
    UnknownEnvironmentError,
)
from shiplane.scaffold.git import commit_paths
from shiplane.scaffold.names import validate_environments, validate_name
from shiplane.scaffold.output import WrittenRepository, update_files, write_repository
from shiplane.scaffold.service import DEFAULT_REGISTRY
from shiplane.scaffold.template_tree import RepoFile

__all__ = [
    "MANIFEST",
    "PlatformSpec",
    "add_service",
    "find_platform_root",
    "init_platform",
    "load_platform",
    "platform_files",
    "service_files_for_platform",
    "set_image",
]

MANIFEST = "shiplane-platform.yaml"
DEFAULT_GIT_BASE = "https://github.com/example-org"


@dataclass(frozen=True)
class EnvironmentDefaults:
    replicas: int
    tag: str
    cpu: str
    memory: str


# The guide's per-environment numbers (values-dev/-prod.yaml); other envs get staging's.
ENVIRONMENT_DEFAULTS: dict[str, EnvironmentDefaults] = {
    "dev": EnvironmentDefaults(1, "dev", "100m", "128Mi"),
    "staging": EnvironmentDefaults(2, "staging", "250m", "256Mi"),
    "prod": EnvironmentDefaults(4, "1.2.0", "500m", "512Mi"),
}


@dataclass(frozen=True)
class PlatformSpec:
    """A platform repo's settings, stored in ``shiplane-platform.yaml``."""

    name: str
    environments: Mapping[str, str]  # environment -> namespace
    services: tuple[str, ...] = ()
    git_base: str = DEFAULT_GIT_BASE
    registry: str = DEFAULT_REGISTRY
    server: str = argocd.IN_CLUSTER
    argocd_namespace: str = "argocd"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def repo_url(self) -> str:
        return f"{self.git_base.rstrip('/')}/{self.name}.git"

    def service_repo(self, service: str) -> str:
        return f"{self.git_base.rstrip('/')}/{service}.git"

    def to_manifest(self) -> dict[str, Any]:
        return {
            "kind": "PlatformRepo",
            "name": self.name,
            "gitBase": self.git_base,
            "registry": self.registry,
            "server": self.server,
            "argocdNamespace": self.argocd_namespace,
            "environments": dict(self.environments),
            "services": list(self.services),
        }


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def values_file(spec: PlatformSpec, service: str, environment: str) -> str:
    """``<env>/<service>/values.yaml``: what the platform team sets for this env."""
    defaults = ENVIRONMENT_DEFAULTS.get(
        environment, replace(ENVIRONMENT_DEFAULTS["staging"], tag=environment)
    )
    return (
        f"# {service} in {environment}: owned by the platform team.\n"
        "# Layered over the service chart's values.yaml and values-"
        f"{environment}.yaml by Argo CD.\n"
        "# CI (Model 2) commits new image tags here; promotion is a reviewed commit.\n"
        f"replicaCount: {defaults.replicas}\n"
        "image:\n"
        f"  repository: {spec.registry.rstrip('/')}/{service}\n"
        f"  tag: {json.dumps(defaults.tag)}\n"
        "resources:\n"
        "  requests:\n"
        f"    cpu: {defaults.cpu}\n"
        f"    memory: {defaults.memory}\n"
    )


def applications_file(spec: PlatformSpec, service: str) -> str:
    docs = [
        argocd.application(
            service, env, project=spec.name, service_repo=spec.service_repo(service),
            platform_repo=spec.repo_url, namespace=namespace, server=spec.server,
            argocd_namespace=spec.argocd_namespace,
        )
        for env, namespace in spec.environments.items()
    ]
    header = (
        f"# Argo CD Applications for {service}: one per environment.\n"
        "# Chart from the service repo, values from this repo ($values).\n"
    )
    return header + "---\n".join(_dump(doc) for doc in docs)


def project_file(spec: PlatformSpec) -> str:
    project = argocd.app_project(
        spec.name,
        source_repos=[spec.repo_url, *(spec.service_repo(s) for s in spec.services)],
        destinations=spec.environments, server=spec.server,
        argocd_namespace=spec.argocd_namespace,
    )
    return "# Only these repositories may be deployed, only to these namespaces.\n" + _dump(
        project
    )


def manifest_file(spec: PlatformSpec) -> str:
    return (
        "# shiplane platform repository settings (read by `shiplane platform ...`).\n"
        + _dump(spec.to_manifest())
    )


def service_files_for_platform(spec: PlatformSpec, service: str) -> dict[str, str]:
    """The files one service adds: values per environment and its Applications."""
    files = {f"{env}/{service}/values.yaml": values_file(spec, service, env)
             for env in spec.environments}
    files[f"argocd-apps/{service}.yaml"] = applications_file(spec, service)
    return files


def _readme(spec: PlatformSpec) -> str:
    envs = " -> ".join(spec.environments)
    return f"""# {spec.name}

The platform (GitOps) repository of the delivery guide's Model 2: per-environment
Helm values for each service and the Argo CD Applications that deploy them.
Service repos only build and push images; a commit here is a deployment.

| path | what |
|---|---|
| `<env>/<service>/values.yaml` | one service in one environment (wins over the chart) |
| `argocd-apps/<service>.yaml` | an Argo CD `Application` per environment (chart + `$values`) |
| `argocd-apps/appproject.yaml` | the `AppProject`: allowed source repos and namespaces |
| `{MANIFEST}` | settings used by `shiplane platform ...` |

Environments: {envs}. Non-production environments sync automatically (prune,
self-heal); prod syncs when someone presses sync.

    shiplane platform add-service orders-service      # every environment, one commit
    shiplane platform set-image payment-service --env staging --tag 1.5.0   # promotion
"""


def platform_files(spec: PlatformSpec) -> dict[str, RepoFile]:
    """Every file of a new platform repository (pure)."""
    files = {"README.md": _readme(spec), MANIFEST: manifest_file(spec),
             "argocd-apps/appproject.yaml": project_file(spec)}
    for env in spec.environments:
        if not spec.services:
            files[f"{env}/.gitkeep"] = ""
    for service in spec.services:
        files.update(service_files_for_platform(spec, service))
    return {path: RepoFile(path, text) for path, text in files.items()}


def _known_environments(workspace_config: Path | None) -> dict[str, str]:
    workspace = load_workspace(workspace_config)
    return {env: workspace.namespace_for(env) for env in workspace.environments}


def init_platform(
    name: str,
    *,
    environments: Sequence[str],
    services: Sequence[str] = (),
    directory: Path | None = None,
    force: bool = False,
    git_base: str = DEFAULT_GIT_BASE,
    registry: str = DEFAULT_REGISTRY,
    workspace_config: Path | None = None,
) -> WrittenRepository:
    """Generate the platform repository ``<directory>/<name>`` (git, one commit).

    Environments must be defined by the workspace (``shiplane.yaml``, default
    dev/staging/prod); their namespaces come from there too.
    """
    validate_name(name, what="platform repo name")
    known = _known_environments(workspace_config)
    envs = validate_environments(environments, list(known))
    for service in services:
        validate_name(service)
    spec = PlatformSpec(
        name, {env: known[env] for env in envs}, tuple(dict.fromkeys(services)),
        git_base=git_base, registry=registry,
    )
    return write_repository(
        Path(directory or Path.cwd()) / name,
        platform_files(spec),
        message=f"{name}: platform repo for {', '.join(envs)}"
        + (f" with {', '.join(spec.services)}" if spec.services else ""),
        force=force,
    )


def find_platform_root(start: Path | None = None) -> Path:
    """The platform repo holding ``start`` (default: the current folder)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    raise NotAPlatformRepoError(
        f"{here} is not inside a platform repository (no {MANIFEST} found)",
        hint="run it inside a repo made by `shiplane init platform`, or pass --dir",
    )


def load_platform(root: Path) -> PlatformSpec:
    path = root / MANIFEST
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return PlatformSpec(
            name=str(data["name"]),
            environments={str(k): str(v) for k, v in dict(data["environments"]).items()},
            services=tuple(str(s) for s in data.get("services") or ()),
            git_base=str(data.get("gitBase", DEFAULT_GIT_BASE)),
            registry=str(data.get("registry", DEFAULT_REGISTRY)),
            server=str(data.get("server", argocd.IN_CLUSTER)),
            argocd_namespace=str(data.get("argocdNamespace", "argocd")),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise NotAPlatformRepoError(f"{path} is unreadable or incomplete: {error}") from error


def _commit_or_undo(root: Path, files: Mapping[str, str], message: str) -> str:
    undo = update_files(root, files)
    try:
        return commit_paths(root, sorted(files), message)
    except Exception:
        undo()
        raise


def add_service(service: str, *, directory: Path | None = None) -> tuple[Path, str]:
    """Add ``service`` to every environment of the platform repo; one commit.

    Returns (platform root, commit id).
    """
    validate_name(service)
    root = find_platform_root(directory)
    spec = load_platform(root)
    if service in spec.services or (root / "argocd-apps" / f"{service}.yaml").exists():
        raise ServiceExistsError(
            f"{service} is already in the platform repo {root.name}",
            hint=f"edit {root.name}/<env>/{service}/values.yaml to change it",
        )
    spec = replace(spec, services=(*spec.services, service))
    files = service_files_for_platform(spec, service)
    files[MANIFEST] = manifest_file(spec)
    files["argocd-apps/appproject.yaml"] = project_file(spec)
    commit = _commit_or_undo(
        root, files, f"add {service} to {', '.join(spec.environments)}"
    )
    return root, commit


def set_image(
    service: str,
    *,
    environment: str,
    tag: str,
    repository: str | None = None,
    directory: Path | None = None,
    message: str | None = None,
) -> tuple[Path, str]:
    """Commit a new image tag for ``service`` in ``environment`` (CI's Model 2 step,
    and promotion). Comments and layout of the values file are kept.
    """
    root = find_platform_root(directory)
    spec = load_platform(root)
    if environment not in spec.environments:
        raise UnknownEnvironmentError(
            f"unknown environment {environment!r} in {root.name}",
            hint=f"known: {', '.join(spec.environments)}",
        )
    rel = f"{environment}/{service}/values.yaml"
    path = root / rel
    if not path.is_file():
        raise ScaffoldError(
            f"{service} is not deployed to {environment} from {root.name} (no {rel})",
            hint=f"add it first: shiplane platform add-service {service}",
        )
    rt = YAML()
    rt.preserve_quotes = True
    data = rt.load(path.read_text(encoding="utf-8")) or {}
    image = data.setdefault("image", {})
    image["tag"] = DoubleQuotedScalarString(tag)  # an all-digit SHA stays a string
    if repository:
        image["repository"] = repository
    out = io.StringIO()
    rt.dump(data, out)
    commit = _commit_or_undo(
        root, {rel: out.getvalue()}, message or f"{service}: {environment} -> {tag}"
    )
    return root, commit
