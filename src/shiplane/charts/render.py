"""Render a chart to Kubernetes objects, for a release or for an environment.

Helm renders every template to text; here the text is split into YAML
documents, empty documents dropped (templates switched off by values render
to nothing), hooks separated from the release's manifests, and the manifests
sorted in Helm's install order (``pkg/release/v1/util/kind_sorter.go``
``InstallOrder``) so the release layer can apply them as Helm does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shiplane.charts import _sdk
from shiplane.charts.errors import RenderError, ValuesFileError
from shiplane.charts.values import ValueOverrides, merge_values

__all__ = [
    "INSTALL_ORDER",
    "RenderedChart",
    "environment_overrides",
    "render_chart",
    "render_environment",
]

# helm pkg/release/v1/util/kind_sorter.go InstallOrder (unknown kinds go last).
INSTALL_ORDER: tuple[str, ...] = (
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
)
_HOOK_ANNOTATION = "helm.sh/hook"


@dataclass(frozen=True)
class RenderedChart:
    """What ``helm template`` would print, as data."""

    release_name: str
    namespace: str
    manifests: list[dict[str, Any]]
    hooks: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # coalesced, chart defaults included

    def find(self, kind: str, name: str | None = None) -> dict[str, Any]:
        """The one manifest of ``kind`` (and ``name``); KeyError if absent."""
        for manifest in self.manifests:
            if manifest.get("kind") == kind and (
                name is None or manifest.get("metadata", {}).get("name") == name
            ):
                return manifest
        raise KeyError(f"no {kind}{' ' + name if name else ''} in the rendered chart")

    def kinds(self) -> list[str]:
        return [str(m.get("kind")) for m in self.manifests]


def _install_rank(manifest: dict[str, Any]) -> int:
    kind = manifest.get("kind")
    return INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)


# libyaml's safe loader when PyYAML was built with it (Debian/PyPI wheels are): same
# results as yaml.SafeLoader, several times faster on rendered charts.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _documents(template: str, text: str) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.load_all(text, Loader=_SAFE_LOADER))
    except yaml.YAMLError as error:
        raise RenderError(f"{template}: rendered output is not valid YAML: {error}") from error
    out = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise RenderError(f"{template}: rendered a document without apiVersion/kind")
        out.append(doc)
    return out


def render_chart(
    chart: Path,
    overrides: ValueOverrides | None = None,
    *,
    release_name: str,
    namespace: str = "default",
) -> RenderedChart:
    """Render ``chart`` offline with values merged as Helm merges them."""
    values = merge_values(overrides or ValueOverrides())
    rendered, effective = _sdk.render(
        Path(chart), values, release_name=release_name, namespace=namespace
    )
    manifests: list[dict[str, Any]] = []
    hooks: list[dict[str, Any]] = []
    notes = ""
    for template in sorted(rendered):
        text = rendered[template]
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        if not template.endswith((".yaml", ".yml")):
            continue  # partials (_helpers.tpl) render to nothing
        for doc in _documents(template, text):
            annotations = (doc.get("metadata") or {}).get("annotations") or {}
            (hooks if _HOOK_ANNOTATION in annotations else manifests).append(doc)
    manifests.sort(key=_install_rank)  # stable: template order within a kind
    return RenderedChart(release_name, namespace, manifests, hooks, notes, effective)


def environment_overrides(
    chart: Path, environment: str, overrides: ValueOverrides | None = None
) -> ValueOverrides:
    """``-f values-<env>.yaml`` ahead of the caller's own flags (chart values.yaml is implicit)."""
    env_file = Path(chart) / f"values-{environment}.yaml"
    base = overrides or ValueOverrides()
    if not env_file.is_file():
        available = sorted(p.name for p in Path(chart).glob("values-*.yaml"))
        raise ValuesFileError(
            f"{chart}: no values file for environment {environment!r} ({env_file.name})",
            hint=f"available: {', '.join(available) or 'none'}",
        )
    return ValueOverrides(
        values_files=(env_file, *base.values_files),
        set_json=base.set_json, set=base.set, set_string=base.set_string,
        set_file=base.set_file, set_literal=base.set_literal, base=base.base,
    )


def render_environment(
    chart: Path,
    environment: str,
    overrides: ValueOverrides | None = None,
    *,
    release_name: str,
    namespace: str | None = None,
) -> RenderedChart:
    """Render for one environment: ``values.yaml`` < ``values-<env>.yaml`` < flags."""
    return render_chart(
        chart,
        environment_overrides(chart, environment, overrides),
        release_name=release_name,
        namespace=namespace or environment,
    )
