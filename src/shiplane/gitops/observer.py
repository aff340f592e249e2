"""Observing an Application: render, list its live objects, compare, assess health.

The look half of the reconciler (``Reconciler`` extends :class:`Observer`;
``executor.SyncExecutor`` is the act half): argo-cd ``controller/state.go``
``CompareAppState`` in small. The live objects of an app are those git has and those
carrying its tracking mark, looked for among the kinds it is known to have; during a
controller pass each kind is listed once per cluster (``LiveCache``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.gitops.application import Application
from shiplane.gitops.desired import CLUSTER_SCOPED, DesiredState, SourceResolver, render_application
from shiplane.gitops.diff import Comparison, compare
from shiplane.gitops.errors import GitOpsError
from shiplane.gitops.health import Health, HealthStatus, app_health, resource_health
from shiplane.gitops.live import LiveCache
from shiplane.gitops.tracking import owned_by, resource_key
from shiplane.kube import KubeClient, KubeError

__all__ = ["PRUNABLE", "AppState", "Observer"]

# Kinds listed for pruning besides those in git (what service charts produce).
PRUNABLE: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
)


@dataclass
class AppState:
    app: Application
    comparison: Comparison
    health: Health
    desired: DesiredState | None
    healths: dict[tuple[str, str, str, str], Health | None] = field(default_factory=dict)

    @property
    def revisions(self) -> tuple[str, ...]:
        return self.desired.revisions if self.desired else ()


class Observer:
    """The look half of the reconciler."""

    client: KubeClient
    sources: SourceResolver
    tracking_method: str
    live_cache: LiveCache | None
    _rendered: dict[Any, DesiredState]

    def begin_pass(self) -> None:
        """Observe through a fresh :class:`LiveCache` until ``end_pass`` (a full pass)."""
        self.live_cache = LiveCache(self.client)

    def end_pass(self) -> None:
        self.live_cache = None

    # -- observe ----------------------------------------------------------------------------
    def _live(self, app: Application, desired: Sequence[Mapping[str, Any]],
              known: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Live objects of ``app``: those git has, and those with its tracking mark — looked
        for among the kinds of ``known`` (the app's last status ``resources``, which holds
        every kind it applied) or, without a status yet, every ``PRUNABLE`` kind."""
        if known is None:
            extra: list[tuple[str, str]] = list(PRUNABLE)
        else:
            extra = [(f"{r['group']}/{r['version']}" if r.get("group") else str(r["version"]),
                      str(r["kind"])) for r in known if r.get("version") and r.get("kind")]
        kinds = dict.fromkeys([*((str(m["apiVersion"]), str(m["kind"])) for m in desired),
                               *extra])
        wanted = {resource_key(m) for m in desired}

        def ours(obj: Mapping[str, Any]) -> bool:
            return resource_key(obj) in wanted or owned_by(obj, app.name, self.tracking_method)

        live: list[dict[str, Any]] = []
        for api_version, kind in kinds:
            namespace = None if kind in CLUSTER_SCOPED else app.destination.namespace
            try:
                if self.live_cache is not None:
                    items = self.live_cache.objects(api_version, kind, namespace, ours)
                else:
                    items = self.client.list(api_version, kind, namespace)
            except KubeError:
                continue  # kind not served by this cluster: nothing of it can be live
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                live.append(item)
        return [o for o in live if ours(o)]

    def observe(self, app: Application, revisions: Mapping[int, str] | None = None,
                desired: DesiredState | None = None,
                known: Sequence[Mapping[str, Any]] | None = None) -> AppState:
        """Render (unless ``desired`` is given), list live objects, compare, assess health.
        ``known``: the app's last status ``resources`` (fewer kinds to list, see ``_live``)."""
        try:
            if desired is None:
                desired = render_application(app, self.sources,
                                             tracking_method=self.tracking_method,
                                             revisions=revisions, cache=self._rendered)
        except GitOpsError as error:
            comparison = compare([], [], app_name=app.name, error=str(error))
            return AppState(app, comparison, Health(HealthStatus.UNKNOWN, str(error)), None)
        live = self._live(app, desired.manifests, known)
        comparison = compare(desired.manifests, live, app_name=app.name,
                             ignore_differences=app.ignore_differences,
                             tracking_method=self.tracking_method)
        healths = {r.key: resource_health(r.live) for r in comparison.resources
                   if not r.requires_pruning}
        return AppState(app, comparison, app_health(healths.values()), desired, healths)

