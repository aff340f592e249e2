"""A platform repo on disk wired to a cluster: what the ``shiplane gitops`` / ``promote``
commands call (one function per command; tests call the same ones).

Sources: the platform repo itself, and each service repo found next to it
(``<parent>/<service>``, the layout ``shiplane init`` and quickstart produce), or
given explicitly as ``repoURL=path``. Status goes to the Application objects when
the cluster serves the ``argoproj.io`` CRD, else to ``.git/shiplane-gitops/`` in the
platform repo. Before every sync the platform's policies (``policies.yaml``) are
evaluated for the app's environment; error-severity violations refuse the sync.
Charts from Helm repositories that need credentials get them from Argo CD's
repository Secrets in the ``argocd`` namespace of the cluster holding the status.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from shiplane.gitops.application import AppProject, Application, HelmParameter, load_documents
from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.credentials import SecretRepositoryCredentials
from shiplane.gitops.desired import CLUSTER_SCOPED, GitSources, render_application
from shiplane.gitops.errors import GitOpsError, PromotionError
from shiplane.gitops.gates import Gate, GateFacts, evaluate_gates
from shiplane.gitops.project import project_problems, resource_permitted
from shiplane.gitops.promotion import Promotion, file_at_revision, plan_promotion
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.roles import check as check_role
from shiplane.gitops.windows import can_sync
from shiplane.gitops.status import ClusterStatusStore, FileStatusStore, StatusStore
from shiplane.kube import KubeClient, KubeError
from shiplane.policy import POLICY_FILE, Policy, blocking, evaluate, load_policy
from shiplane.scaffold import find_platform_root, load_platform

__all__ = ["ENVIRONMENT_LABEL", "PlatformWorkspace"]

ENVIRONMENT_LABEL = "shiplane.io/environment"


@dataclass
class PlatformWorkspace:
    root: Path
    repos: dict[str, Path]
    apps: dict[str, Application]
    policy: Policy
    projects: dict[str, AppProject] = dataclasses.field(default_factory=dict)
    _git: GitSources | None = None
    render_cache: dict[Any, Any] = dataclasses.field(default_factory=dict)
    now: Any = dataclasses.field(default=lambda: _dt.datetime.now(_dt.UTC))
    _reconcilers: dict[Any, Reconciler] = dataclasses.field(default_factory=dict)

    @classmethod
    def open(cls, directory: Path | None = None,
             extra_repos: Mapping[str, Path] | None = None) -> PlatformWorkspace:
        root = find_platform_root(directory)
        spec = load_platform(root)
        repos = {spec.repo_url: root}
        for service in spec.services:
            sibling = root.parent / service
            if (sibling / ".git").exists():
                repos[spec.service_repo(service)] = sibling
        repos.update({k: Path(v) for k, v in (extra_repos or {}).items()})
        apps, projects = load_documents((root / "argocd-apps").glob("*.yaml"))
        return cls(root, repos, {a.name: a for a in apps}, load_policy(root / POLICY_FILE),
                   {p.name: p for p in projects})

    def application_manifests(self) -> dict[str, Mapping[str, Any]]:
        """The Application documents as written in ``argocd-apps/`` (to create on a cluster)."""
        import yaml
        out: dict[str, Mapping[str, Any]] = {}
        for path in sorted((self.root / "argocd-apps").glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(doc, Mapping) and doc.get("kind") == "Application":
                    out[str(doc["metadata"]["name"])] = doc
        return out

    def app(self, name: str) -> Application:
        if name not in self.apps:
            raise GitOpsError(f"no Application {name!r} in {self.root.name}/argocd-apps",
                              hint=f"known: {', '.join(sorted(self.apps)) or 'none'}")
        return self.apps[name]

    def environment_of(self, app: Application) -> str:
        return str(app.labels.get(ENVIRONMENT_LABEL) or app.name.rsplit("-", 1)[-1])

    def violations(self, app: Application, manifests: Sequence[Mapping[str, Any]]) -> list[str]:
        """Why ``app`` must not sync these manifests: its AppProject, then the policies."""
        project = self.projects.get(app.project)
        if project is None:
            return [f"AppProject {app.project!r} is not defined in argocd-apps/"]
        problems = project_problems(app, project)
        for manifest in manifests:
            kind = str(manifest.get("kind"))
            group = str(manifest.get("apiVersion", "")).rpartition("/")[0]
            if not resource_permitted(project, group, kind, namespaced=kind not in CLUSTER_SCOPED):
                problems.append(f"{kind} is not permitted in project {project.name}")
        env = self.environment_of(app)
        return problems + [str(v) for v in blocking(evaluate(manifests, self.policy, env))]

    def permission(self, app: Application, initiated_by: str,
                   groups: Sequence[str] = ()) -> list[str]:
        """Why ``app`` must not sync now: its AppProject's sync windows (automated or
        manual) and, for a user, its roles (a rollback is a sync)."""
        project = self.projects.get(app.project)
        if project is None:
            return []  # ``violations`` reports the missing project
        manual = initiated_by != "automated"
        ok, why = can_sync(project.sync_windows, app, manual=manual, now=self.now())
        problems = [] if ok else [why]
        if manual:
            denied = check_role(project, app.name, initiated_by, groups=groups)
            problems += [denied] if denied else []
        return problems

    def store(self, client: KubeClient | None) -> StatusStore:
        if client is not None:
            try:
                client.resource("argoproj.io/v1alpha1", "Application")
                return ClusterStatusStore(client, self.application_manifests())
            except KubeError:
                pass
        return FileStatusStore(self.root / ".git" / "shiplane-gitops")

    def reconciler(self, client: KubeClient, *, apply_mode: str = "server-side",
                   status_client: KubeClient | None = None, **options: Any) -> Reconciler:
        """A reconciler applying through ``client``; status on ``status_client`` (default
        the same cluster); ``options`` as :class:`Reconciler` (``sync_wave_delay``,
        ``interrupted``...)."""
        sources = self._sources()
        if sources.charts.credentials is None:  # Argo CD's repository Secrets, where the
            # Applications live (the control cluster's argocd namespace)
            sources.charts.credentials = SecretRepositoryCredentials(status_client or client)
        return Reconciler(client, sources, self.store(status_client or client),
                          apply_mode=apply_mode, admit=self.violations,
                          permit=self.permission, render_cache=self.render_cache, **options)

    def _sources(self) -> GitSources:
        if self._git is None:
            self._git = GitSources(self.repos)
        return self._git

    def reconciler_for(self, app: Application, clusters: ClusterClients, *,
                       apply_mode: str = "server-side", **options: Any) -> Reconciler:
        """The reconciler for ``app``'s destination cluster (one per cluster, reused;
        ``options`` apply when it is made)."""
        client = clusters.for_destination(app.destination)
        key = (id(client), apply_mode)
        if key not in self._reconcilers:
            self._reconcilers[key] = self.reconciler(client, apply_mode=apply_mode,
                                                     status_client=clusters.control,
                                                     **options)
        return self._reconcilers[key]

    # -- promotion ----------------------------------------------------------------------------
    def _synced_tag(self, app: Application, status: Mapping[str, Any], service: str,
                    environment: str) -> str | None:
        revisions = (status.get("sync") or {}).get("revisions") or []
        platform = next((i for i, s in enumerate(app.sources) if self.repos.get(s.repo_url)
                         == self.root), None)
        if platform is None or platform >= len(revisions):
            return None
        from dulwich.repo import Repo
        with Repo(str(self.root)) as repo:
            try:
                text = file_at_revision(repo, str(revisions[platform]).encode(),
                                f"{environment}/{service}/values.yaml")
            except (KeyError, ValueError):
                return None
        data = YAML().load(text) if text else None
        tag = ((data or {}).get("image") or {}).get("tag")
        return str(tag) if tag is not None else None

    def promotion_gates(self, promotion: Promotion, *, author: str,
                        pipeline_passed: bool | None, approvers: Sequence[str] = (),
                        client: KubeClient | None = None) -> list[Gate]:
        source_app = self.app(f"{promotion.service}-{promotion.source}")
        target_app = self.app(f"{promotion.service}-{promotion.target}")
        status = self.store(client).load(source_app.name)
        # the target as it would render after the promotion: same chart, promoted tag
        chart = target_app.chart_sources[0]
        helm = dataclasses.replace(chart.helm or _empty_helm(), parameters=(
            *(chart.helm.parameters if chart.helm else ()),
            HelmParameter("image.tag", promotion.tag, True)))
        promoted = dataclasses.replace(target_app, sources=tuple(
            dataclasses.replace(s, helm=helm) if s is chart else s for s in target_app.sources))
        try:
            manifests = render_application(promoted, GitSources(self.repos)).manifests
            violations = self.violations(target_app, manifests)
        except GitOpsError as error:
            violations = [f"cannot render {target_app.name}: {error}"]
        return evaluate_gates(GateFacts(
            tag=promotion.tag, target_environment=promotion.target, author=author,
            source_status=status,
            source_tag_at_synced_revision=self._synced_tag(source_app, status, promotion.service,
                                                           promotion.source),
            pipeline_passed=pipeline_passed, policy_violations=violations, approvers=approvers))

    def plan(self, service: str, source: str, target: str) -> Promotion:
        keys = self.policy.promotion_keys
        if not keys:
            raise PromotionError("the promotion policy allows no keys (promotion.allowedKeys)")
        return plan_promotion(self.root, service, source, target, keys)

    def history(self, client: KubeClient | None) -> dict[str, list[Mapping[str, Any]]]:
        store = self.store(client)
        out: dict[str, list[Mapping[str, Any]]] = {}
        for name in self.apps:
            try:
                out[name] = list(store.load(name).get("history") or [])
            except KubeError:
                out[name] = []  # the Application object is not on the cluster yet
        return out


def _empty_helm():
    from shiplane.gitops.application import HelmSource
    return HelmSource()
