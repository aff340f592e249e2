"""An Application's desired state: its sources rendered through Helm (``shiplane.charts``).

Argo CD renders Helm sources with ``helm template`` semantics (no cluster
lookups); value files are relative to the chart path, or ``$<ref>/<path>`` into
the checkout of the source that has ``ref: <ref>`` (multi-source, argo-cd #2789).
Order of values, as Argo CD passes them to Helm: ``valueFiles`` (``-f``, in
order) < ``values``/``valuesObject`` < ``parameters`` (``--set`` /
``--set-string`` with ``forceString``). Sources are checked out by a
:class:`SourceResolver`: a local directory per repoURL (``LocalSources``), or a
dulwich export of a git revision (``GitSources``). A source with ``chart:`` names a
chart in a Helm repository (``repoURL`` an HTTP repository with ``index.yaml``, or
``oci://host/path``) at version ``targetRevision`` (exact or a constraint); it is
pulled with the Helm SDK (:class:`ChartCache`) and its resolved version is the
source's revision, as in Argo CD. A repository that needs credentials gets them from
Argo CD's repository Secrets (``credentials``: ``repository`` / ``repo-creds``); a pull
refused for want of them says so, naming the repository and the registry's answer.
"""

from __future__ import annotations

import copy
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from dulwich.objects import Tree
from dulwich.repo import Repo

from shiplane.charts import ChartError, ValueOverrides, pull_chart, render_chart
from shiplane.gitops.application import Application, Source
from shiplane.gitops.credentials import RepoCredentials
from shiplane.gitops.errors import SourceUnavailable
from shiplane.gitops.tracking import mark

__all__ = [
    "CLUSTER_SCOPED",
    "ChartCache",
    "DesiredState",
    "GitSources",
    "LocalSources",
    "SourceResolver",
    "render_application",
]

_ARGO_HOOK = "argocd.argoproj.io/hook"
CLUSTER_SCOPED = frozenset({
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Node",
})


class SourceResolver(Protocol):
    def checkout(self, repo_url: str, revision: str) -> tuple[Path, str]:
        """A directory holding ``repo_url`` at ``revision``, and the resolved revision."""

    def chart(self, repo_url: str, chart: str, version: str) -> tuple[Path, str]:
        """The directory of Helm chart ``chart`` at ``version`` from the Helm repository
        ``repo_url`` (HTTP with ``index.yaml``, or ``oci://``), and the resolved version."""


_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")


_AUTH_REFUSED = re.compile(r"\b40[13]\b|unauthori[sz]ed|denied|authentication required", re.I)


class ChartCache:
    """Charts pulled with the Helm SDK (``shiplane.charts.pull_chart``), one directory per
    (repository, chart, version). An exact version is immutable and pulled once; a
    constraint (``1.x``, ``>=1.0``, ``*``; ``HEAD`` or empty means latest) is resolved
    again at each render, so a newly published version is picked up (Argo CD resolves
    chart constraints against the index on every refresh). ``credentials`` finds the
    username/password of a repository (``credentials.SecretRepositoryCredentials``)."""

    def __init__(self, root: Path,
                 credentials: Callable[[str], RepoCredentials | None] | None = None) -> None:
        self.root = root
        self.credentials = credentials
        self._pulled: dict[tuple[str, str, str], tuple[Path, str]] = {}
        self._lock = threading.Lock()

    def fetch(self, repo_url: str, chart: str, version: str) -> tuple[Path, str]:
        with self._lock:
            return self._fetch(repo_url, chart, version)

    def _fetch(self, repo_url: str, chart: str, version: str) -> tuple[Path, str]:
        key = (repo_url, chart, version)
        if key in self._pulled:
            return self._pulled[key]
        wanted = None if version in ("", "HEAD", "*") else version
        found_credentials = self.credentials(repo_url) if self.credentials else None
        usable = found_credentials if found_credentials and \
            found_credentials.has_credentials else None
        try:
            found = pull_chart(repo_url, chart, wanted, self.root / chart,
                               username=usable.username if usable else None,
                               password=usable.password if usable else None,
                               insecure=bool(found_credentials and found_credentials.insecure))
        except ChartError as error:
            what = f"chart {chart} {version or 'latest'} from {repo_url}"
            if _AUTH_REFUSED.search(str(error)):
                who = f"with the credentials of {usable.source}" if usable else \
                    "without credentials: no repository Secret matches it"
                raise SourceUnavailable(
                    f"{what} ({who}): {error}",
                    hint="add a Secret labelled argocd.argoproj.io/secret-type: repository "
                         "(url, username, password; type: helm) or repo-creds (url prefix) "
                         "in the argocd namespace") from error
            raise SourceUnavailable(f"{what}: {error}", hint=error.hint) from error
        if _EXACT_VERSION.match(version):
            self._pulled[key] = found
        return found


@dataclass
class LocalSources:
    """Working trees on disk, one per repoURL (the revision is what is on disk)."""

    repos: Mapping[str, Path]
    charts: ChartCache = field(default_factory=lambda: ChartCache(
        Path(tempfile.mkdtemp(prefix="shiplane-charts-"))))

    def chart(self, repo_url: str, chart: str, version: str) -> tuple[Path, str]:
        return self.charts.fetch(repo_url, chart, version)

    def checkout(self, repo_url: str, revision: str) -> tuple[Path, str]:
        path = self.repos.get(repo_url)
        if path is None or not Path(path).is_dir():
            raise SourceUnavailable(f"no local checkout for {repo_url}",
                                    hint=f"known: {', '.join(self.repos) or 'none'}")
        return Path(path), revision


class GitSources:
    """Git repositories on disk; each (repo, commit) is exported once to a temp folder.
    ``credentials``: for charts from Helm repositories (see :class:`ChartCache`)."""

    def __init__(self, repos: Mapping[str, Path], *,
                 credentials: Callable[[str], RepoCredentials | None] | None = None) -> None:
        self.repos = dict(repos)
        self._root = Path(tempfile.mkdtemp(prefix="shiplane-gitops-"))
        self._exports: dict[tuple[str, str], Path] = {}
        self._lock = threading.Lock()
        self.charts = ChartCache(self._root / "charts", credentials)

    def chart(self, repo_url: str, chart: str, version: str) -> tuple[Path, str]:
        return self.charts.fetch(repo_url, chart, version)

    def resolve(self, repo_url: str, revision: str) -> str:
        path = self.repos.get(repo_url)
        if path is None:
            raise SourceUnavailable(f"no git repository registered for {repo_url}",
                                    hint=f"known: {', '.join(self.repos) or 'none'}")
        with Repo(str(path)) as repo:
            for ref in (b"HEAD" if revision in ("HEAD", "") else None,
                        f"refs/heads/{revision}".encode(), f"refs/tags/{revision}".encode()):
                if ref is not None and ref in repo.refs:
                    return repo.refs[ref].decode()
            try:
                return repo[revision.encode()].id.decode()
            except (KeyError, ValueError):
                raise SourceUnavailable(f"{repo_url} has no revision {revision!r}") from None

    def checkout(self, repo_url: str, revision: str) -> tuple[Path, str]:
        commit = self.resolve(repo_url, revision)
        key = (repo_url, commit)
        with self._lock:  # parallel reconciles export each (repo, commit) once
            if key not in self._exports:
                target = self._root / f"{len(self._exports)}-{commit[:12]}"
                with Repo(str(self.repos[repo_url])) as repo:
                    _export_tree(repo, repo[repo[commit.encode()].tree], target)
                self._exports[key] = target
            return self._exports[key], commit


def _export_tree(repo: Repo, tree: Tree, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in tree.items():
        path = target / entry.path.decode()
        obj = repo[entry.sha]
        if isinstance(obj, Tree):
            _export_tree(repo, obj, path)
        else:
            path.write_bytes(obj.as_raw_string())


@dataclass(frozen=True)
class DesiredState:
    manifests: list[dict[str, Any]]
    hooks: list[dict[str, Any]]
    revisions: tuple[str, ...]  # resolved revision per source, in spec order


def _value_file(app: Application, chart_dir: Path, entry: str,
                checkouts: Mapping[str, Path]) -> Path:
    if entry.startswith("$"):
        ref, _, rest = entry[1:].partition("/")
        return checkouts[ref] / rest
    return chart_dir / entry


def _source_overrides(app: Application, source: Source, chart_dir: Path,
                      checkouts: Mapping[str, Path]) -> ValueOverrides:
    helm = source.helm
    if helm is None:
        return ValueOverrides()
    files = []
    for entry in helm.value_files:
        path = _value_file(app, chart_dir, entry, checkouts)
        if not path.is_file():
            if helm.ignore_missing_value_files:
                continue
            raise SourceUnavailable(
                f"{app.name}: value file {entry} not found ({path})",
                hint="set helm.ignoreMissingValueFiles: true to skip missing files")
        files.append(path)
    inline: dict[str, Any] = {}
    if helm.values_object is not None:
        inline = dict(helm.values_object)
    elif helm.values:
        loaded = yaml.safe_load(helm.values)
        if loaded is not None and not isinstance(loaded, dict):
            raise SourceUnavailable(f"{app.name}: helm.values is not a YAML map")
        inline = loaded or {}
    if inline:
        # inline values go after the files, as Argo CD writes them to a temp file
        extra = Path(tempfile.mkstemp(suffix=".yaml", prefix="argocd-values-")[1])
        extra.write_text(yaml.safe_dump(inline), encoding="utf-8")
        files.append(extra)
    return ValueOverrides(
        values_files=tuple(files),
        set=tuple(f"{p.name}={p.value}" for p in helm.parameters if not p.force_string),
        set_string=tuple(f"{p.name}={p.value}" for p in helm.parameters if p.force_string),
    )


def _namespaced(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    if obj.get("kind") not in CLUSTER_SCOPED and not meta.get("namespace"):
        meta["namespace"] = namespace
    return obj


def render_application(app: Application, sources: SourceResolver, *,
                       tracking_method: str = "annotation",
                       revisions: Mapping[int, str] | None = None,
                       cache: dict[Any, DesiredState] | None = None) -> DesiredState:
    """Render every manifest-producing source of ``app``; objects get the destination
    namespace (when namespaced) and the app's tracking mark.

    ``revisions`` overrides ``targetRevision`` per source index (rollback, history).
    ``cache`` keeps results per (Application, resolved commits), as Argo CD's repo-server
    caches generated manifests per revision: an unchanged commit is not rendered again.
    """
    checkouts: dict[str, Path] = {}
    resolved: list[str] = []
    dirs: list[Path] = []
    for index, source in enumerate(app.sources):
        revision = (revisions or {}).get(index, source.target_revision)
        if source.chart:  # a chart from a Helm repository: the revision is its version
            directory, commit = sources.chart(source.repo_url, source.chart, revision)
        else:
            directory, commit = sources.checkout(source.repo_url, revision)
        dirs.append(directory)
        resolved.append(commit)
        if source.ref:
            checkouts[source.ref] = directory
    key = (repr(app), tuple(resolved), tracking_method)
    if cache is not None and key in cache:
        return copy.deepcopy(cache[key])
    manifests: list[dict[str, Any]] = []
    hooks: list[dict[str, Any]] = []
    for index, source in enumerate(app.sources):
        if source.ref and not source.path:
            continue
        chart_dir = dirs[index] / (source.path or ".")
        if not (chart_dir / "Chart.yaml").is_file():
            what = f"chart {source.chart}" if source.chart else f"path {source.path}"
            raise SourceUnavailable(f"{app.name}: {source.repo_url} {what} "
                                    "is not a Helm chart (no Chart.yaml)")
        release = (source.helm.release_name if source.helm else None) or app.name
        overrides = _source_overrides(app, source, chart_dir, checkouts)
        try:
            rendered = render_chart(chart_dir, overrides, release_name=release,
                                    namespace=app.destination.namespace)
        except ChartError as error:
            raise SourceUnavailable(f"{app.name}: rendering {source.repo_url} failed: {error}",
                                    hint=error.hint) from error
        finally:
            for path in overrides.values_files:
                if path.name.startswith("argocd-values-"):
                    path.unlink(missing_ok=True)
        # Argo CD hooks (argocd.argoproj.io/hook) are not part of the app's resources:
        # they run in their phase and are left out of the diff, as Helm's hooks are
        for obj in rendered.manifests:
            if _ARGO_HOOK in ((obj.get("metadata") or {}).get("annotations") or {}):
                hooks.append(_namespaced(obj, app.destination.namespace))
            else:
                manifests.append(mark(_namespaced(obj, app.destination.namespace), app.name,
                                      tracking_method))
        hooks += [_namespaced(h, app.destination.namespace) for h in rendered.hooks]
    state = DesiredState(manifests, hooks, tuple(resolved))
    if cache is not None:
        cache[key] = copy.deepcopy(state)
    return state
