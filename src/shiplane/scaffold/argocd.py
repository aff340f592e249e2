"""Argo CD ``Application`` and ``AppProject`` documents for a platform repo (pure).

Field names follow argo-cd ``docs/operator-manual/application.yaml`` and
``project.yaml`` (``pkg/apis/application/v1alpha1/types.go``). Each service gets
one Application per environment using **multi-source** (argo-cd #2789): the
chart comes from the service repo's ``helm/`` folder and the values from this
platform repo, referenced as ``$values``::

    sources:
      - repoURL: <service repo>   path: helm   helm.valueFiles: [values-<env>.yaml,
                                                 $values/<env>/<svc>/values.yaml]
      - repoURL: <platform repo>  ref: values

so the platform repo's ``<env>/<svc>/values.yaml`` wins over the chart's own
files. Non-production environments sync automatically (prune + selfHeal);
production syncs only when someone presses sync (no ``automated`` block).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "API_VERSION",
    "IN_CLUSTER",
    "application",
    "app_project",
    "application_problems",
    "is_manual_sync",
]

API_VERSION = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
MANUAL_SYNC_ENVIRONMENTS = frozenset({"prod", "production"})
_FINALIZER = "resources-finalizer.argocd.argoproj.io"


def is_manual_sync(environment: str) -> bool:
    """Production is synced by a person; every other environment automatically."""
    return environment in MANUAL_SYNC_ENVIRONMENTS


def application(
    service: str,
    environment: str,
    *,
    project: str,
    service_repo: str,
    platform_repo: str,
    namespace: str,
    server: str = IN_CLUSTER,
    argocd_namespace: str = "argocd",
    target_revision: str = "main",
) -> dict[str, Any]:
    """The Application deploying ``service`` to ``environment``."""
    sync_policy: dict[str, Any] = {
        "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
        "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
    }
    if not is_manual_sync(environment):
        sync_policy = {"automated": {"prune": True, "selfHeal": True}, **sync_policy}
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": f"{service}-{environment}",
            "namespace": argocd_namespace,
            "labels": {
                "app.kubernetes.io/name": service,
                "shiplane.io/environment": environment,
            },
            "finalizers": [_FINALIZER],
        },
        "spec": {
            "project": project,
            "sources": [
                {
                    "repoURL": service_repo,
                    "path": "helm",
                    "targetRevision": target_revision,
                    "helm": {
                        "releaseName": service,
                        "valueFiles": [
                            f"values-{environment}.yaml",
                            f"$values/{environment}/{service}/values.yaml",
                        ],
                    },
                },
                {"repoURL": platform_repo, "targetRevision": target_revision, "ref": "values"},
            ],
            "destination": {"server": server, "namespace": namespace},
            "syncPolicy": sync_policy,
            "revisionHistoryLimit": 10,
        },
    }


def app_project(
    name: str,
    *,
    source_repos: Sequence[str],
    destinations: Mapping[str, str],
    server: str = IN_CLUSTER,
    argocd_namespace: str = "argocd",
    description: str = "",
) -> dict[str, Any]:
    """An AppProject allowing only these repos and these namespaces."""
    return {
        "apiVersion": API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": argocd_namespace},
        "spec": {
            "description": description or f"Services deployed from the {name} platform repo",
            "sourceRepos": list(dict.fromkeys(source_repos)),
            "destinations": [
                {"server": server, "namespace": namespace}
                for namespace in dict.fromkeys(destinations.values())
            ],
            # CreateNamespace=true needs Namespaces; nothing else cluster-wide.
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}],
            "orphanedResources": {"warn": True},
        },
    }


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, Mapping) or key not in doc:
            return None
        doc = doc[key]
    return doc


def application_problems(doc: Mapping[str, Any]) -> list[str]:
    """Structural problems of an Application (empty list: well formed).

    A check of the fields Argo CD requires (until the CRD schemas are served by
    the cluster): apiVersion/kind, metadata.name, spec.project, exactly one of
    spec.source / spec.sources with repoURL each, a ``$values`` reference only
    with a matching ``ref`` source, destination server|name and namespace.
    """
    problems: list[str] = []
    if doc.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion must be {API_VERSION}")
    if doc.get("kind") != "Application":
        problems.append("kind must be Application")
    if not _get(doc, "metadata", "name"):
        problems.append("metadata.name is required")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        return [*problems, "spec is required"]
    if not spec.get("project"):
        problems.append("spec.project is required")
    source, sources = spec.get("source"), spec.get("sources")
    if (source is None) == (sources is None):
        problems.append("exactly one of spec.source and spec.sources is required")
    all_sources = [source] if source is not None else list(sources or [])
    refs = {s.get("ref") for s in all_sources if isinstance(s, Mapping) and s.get("ref")}
    for index, item in enumerate(all_sources):
        if not isinstance(item, Mapping) or not item.get("repoURL"):
            problems.append(f"source {index}: repoURL is required")
            continue
        for value_file in _get(item, "helm", "valueFiles") or []:
            if str(value_file).startswith("$"):
                ref = str(value_file)[1:].split("/", 1)[0]
                if ref not in refs:
                    problems.append(f"source {index}: {value_file} needs a source with ref {ref}")
    destination = spec.get("destination")
    if not isinstance(destination, Mapping):
        problems.append("spec.destination is required")
    else:
        if bool(destination.get("server")) == bool(destination.get("name")):
            problems.append("spec.destination needs exactly one of server and name")
        if not destination.get("namespace"):
            problems.append("spec.destination.namespace is required")
    automated = _get(spec, "syncPolicy", "automated")
    if automated is not None and not isinstance(automated, Mapping):
        problems.append("spec.syncPolicy.automated must be a map")
    return problems
