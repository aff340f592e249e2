"""Argo CD ``Application`` and ``AppProject`` as typed, validated data (pure).

Parsed from the very ``argocd-apps/*.yaml`` documents real Argo CD consumes, so a
team can move to Argo CD without rewriting the platform repo. Field names and
defaults follow argo-cd ``pkg/apis/application/v1alpha1/types.go`` and
``docs/operator-manual/application.yaml``; every problem is reported with the
path of the offending field (``spec.sources[1].helm.valueFiles[0]``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shiplane.gitops.errors import ApplicationInvalid

__all__ = [
    "API_VERSION",
    "Application",
    "AppProject",
    "Destination",
    "HelmParameter",
    "HelmSource",
    "IgnoreDifference",
    "ProjectDestination",
    "ProjectRole",
    "Retry",
    "Source",
    "SyncPolicy",
    "SyncWindow",
    "load_documents",
    "parse_application",
    "parse_project",
]

API_VERSION = "argoproj.io/v1alpha1"
KNOWN_SYNC_OPTIONS = frozenset({
    "CreateNamespace", "PruneLast", "ServerSideApply", "ApplyOutOfSyncOnly", "Validate",
    "RespectIgnoreDifferences", "Prune", "Replace", "FailOnSharedResource", "PrunePropagationPolicy",
    "SkipDryRunOnMissingResource", "Delete",
})


@dataclass(frozen=True)
class HelmParameter:
    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True)
class HelmSource:
    value_files: tuple[str, ...] = ()
    values: str = ""  # inline YAML text (``helm.values``)
    values_object: Mapping[str, Any] | None = None  # wins over ``values``
    parameters: tuple[HelmParameter, ...] = ()
    release_name: str | None = None
    ignore_missing_value_files: bool = False


@dataclass(frozen=True)
class Source:
    repo_url: str
    path: str | None = None
    target_revision: str = "HEAD"
    chart: str | None = None
    ref: str | None = None
    helm: HelmSource | None = None


@dataclass(frozen=True)
class Destination:
    namespace: str
    server: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Retry:
    """``syncPolicy.retry``; a negative limit retries forever (application.yaml)."""

    limit: int = 0
    duration: str = "5s"
    factor: float = 2
    max_duration: str = "3m"


@dataclass(frozen=True)
class SyncPolicy:
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    options: Mapping[str, str] = field(default_factory=dict)  # "Key=value" split
    retry: Retry | None = None

    def option(self, key: str) -> bool:
        return self.options.get(key, "").lower() == "true"


@dataclass(frozen=True)
class IgnoreDifference:
    kind: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        meta = obj.get("metadata") or {}
        return (
            self.kind in ("*", obj.get("kind"))
            and self.group in ("*", group)
            and (self.name is None or self.name == meta.get("name"))
            and (self.namespace is None or self.namespace == meta.get("namespace"))
        )


@dataclass(frozen=True)
class Application:
    name: str
    namespace: str
    project: str
    sources: tuple[Source, ...]
    destination: Destination
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)
    ignore_differences: tuple[IgnoreDifference, ...] = ()
    revision_history_limit: int = 10
    multi_source: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)

    def source_by_ref(self, ref: str) -> Source | None:
        return next((s for s in self.sources if s.ref == ref), None)

    @property
    def chart_sources(self) -> tuple[Source, ...]:
        """Sources that produce manifests (a pure ``ref`` source only provides files)."""
        return tuple(s for s in self.sources if not (s.ref and not s.path and not s.chart))


@dataclass(frozen=True)
class ProjectDestination:
    namespace: str = "*"
    server: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class SyncWindow:
    """``spec.syncWindows[]``: ``kind`` allow|deny, a cron ``schedule``, a ``duration``."""

    kind: str
    schedule: str
    duration: str
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    time_zone: str = "UTC"


@dataclass(frozen=True)
class ProjectRole:
    """``spec.roles[]``: Casbin policy lines and the groups (subjects) holding the role."""

    name: str
    policies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppProject:
    name: str
    source_repos: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    cluster_resource_whitelist: tuple[tuple[str, str], ...] = ()
    namespace_resource_whitelist: tuple[tuple[str, str], ...] = (("*", "*"),)
    cluster_resource_blacklist: tuple[tuple[str, str], ...] = ()
    namespace_resource_blacklist: tuple[tuple[str, str], ...] = ()
    sync_windows: tuple[SyncWindow, ...] = ()
    roles: tuple[ProjectRole, ...] = ()


class _Reader:
    """Typed access to a document that collects every problem with its path."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.problems: list[str] = []

    def get(self, doc: Any, path: str, key: str, kind: type | tuple[type, ...],
            *, required: bool = False, default: Any = None) -> Any:
        if not isinstance(doc, Mapping) or doc.get(key) is None or (required and doc[key] == ""):
            if required:
                self.problems.append(f"{path}.{key} is required".lstrip("."))
            return default
        value = doc[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.problems.append(f"{path}.{key} must be a {names}, not {type(value).__name__}".lstrip("."))
            return default
        return value

    def fail_if_any(self) -> None:
        if self.problems:
            raise ApplicationInvalid(
                f"{self.what} is invalid: " + "; ".join(self.problems),
                hint="see argo-cd docs/operator-manual/application.yaml for the field reference",
            )


def _helm(r: _Reader, doc: Any, path: str) -> HelmSource | None:
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        r.problems.append(f"{path} must be a map")
        return None
    files = r.get(doc, path, "valueFiles", list, default=[])
    params = []
    for i, item in enumerate(r.get(doc, path, "parameters", list, default=[])):
        p = f"{path}.parameters[{i}]"
        name = r.get(item, p, "name", str, required=True)
        value = r.get(item, p, "value", (str, int, float, bool), default="")
        if name:
            params.append(HelmParameter(name, str(value).lower() if isinstance(value, bool)
                                        else str(value), bool(r.get(item, p, "forceString", bool))))
    values = doc.get("values")
    if values is not None and not isinstance(values, (str, Mapping)):
        r.problems.append(f"{path}.values must be a YAML string")
    if isinstance(values, Mapping):  # Argo CD accepts an object here too (v2.5+)
        values = yaml.safe_dump(dict(values))
    return HelmSource(
        value_files=tuple(str(f) for f in files),
        values=values or "",
        values_object=r.get(doc, path, "valuesObject", Mapping),
        parameters=tuple(params),
        release_name=r.get(doc, path, "releaseName", str),
        ignore_missing_value_files=bool(r.get(doc, path, "ignoreMissingValueFiles", bool)),
    )


def _source(r: _Reader, doc: Any, path: str) -> Source | None:
    if not isinstance(doc, Mapping):
        r.problems.append(f"{path} must be a map")
        return None
    repo = r.get(doc, path, "repoURL", str, required=True)
    revision = r.get(doc, path, "targetRevision", (str, int, float), default="HEAD")
    return Source(
        repo_url=repo or "",
        path=r.get(doc, path, "path", str),
        target_revision=str(revision),
        chart=r.get(doc, path, "chart", str),
        ref=r.get(doc, path, "ref", str),
        helm=_helm(r, doc.get("helm"), f"{path}.helm"),
    )


def _sync_options(r: _Reader, items: list[Any]) -> dict[str, str]:
    options: dict[str, str] = {}
    for i, item in enumerate(items):
        key, sep, value = str(item).partition("=")
        if not sep or key not in KNOWN_SYNC_OPTIONS:
            r.problems.append(
                f"spec.syncPolicy.syncOptions[{i}] {item!r} is not a known Key=value option "
                f"({', '.join(sorted(KNOWN_SYNC_OPTIONS))})"
            )
            continue
        options[key] = value
    return options


def _sync_policy(r: _Reader, doc: Any) -> SyncPolicy:
    if doc is None:
        return SyncPolicy()
    path = "spec.syncPolicy"
    automated = doc.get("automated") if isinstance(doc, Mapping) else None
    auto = automated is not None
    if automated is not None and not isinstance(automated, Mapping):
        r.problems.append(f"{path}.automated must be a map")
        automated = {}
    automated = automated or {}
    if automated.get("enabled") is False:  # automated.enabled: false switches it off
        auto = False
    retry = None
    retry_doc = r.get(doc, path, "retry", Mapping)
    if retry_doc is not None:
        backoff = r.get(retry_doc, f"{path}.retry", "backoff", Mapping, default={})
        bp = f"{path}.retry.backoff"
        retry = Retry(
            limit=int(r.get(retry_doc, f"{path}.retry", "limit", int, default=0)),
            duration=str(r.get(backoff, bp, "duration", str, default="5s")),
            factor=float(r.get(backoff, bp, "factor", (int, float), default=2)),
            max_duration=str(r.get(backoff, bp, "maxDuration", str, default="3m")),
        )
    return SyncPolicy(
        automated=auto,
        prune=bool(r.get(automated, f"{path}.automated", "prune", bool, default=False)),
        self_heal=bool(r.get(automated, f"{path}.automated", "selfHeal", bool, default=False)),
        allow_empty=bool(r.get(automated, f"{path}.automated", "allowEmpty", bool, default=False)),
        options=_sync_options(r, r.get(doc, path, "syncOptions", list, default=[])),
        retry=retry,
    )


def _ignore(r: _Reader, items: list[Any]) -> tuple[IgnoreDifference, ...]:
    out = []
    for i, item in enumerate(items):
        p = f"spec.ignoreDifferences[{i}]"
        kind = r.get(item, p, "kind", str, required=True)
        pointers = r.get(item, p, "jsonPointers", list, default=[])
        for pointer in pointers:
            if not str(pointer).startswith("/"):
                r.problems.append(f"{p}.jsonPointers: {pointer!r} must start with /")
        if kind:
            out.append(IgnoreDifference(
                kind=kind, group=r.get(item, p, "group", str, default=""),
                name=r.get(item, p, "name", str), namespace=r.get(item, p, "namespace", str),
                json_pointers=tuple(str(x) for x in pointers),
                jq_path_expressions=tuple(
                    str(x) for x in r.get(item, p, "jqPathExpressions", list, default=[])),
                managed_fields_managers=tuple(
                    str(x) for x in r.get(item, p, "managedFieldsManagers", list, default=[])),
            ))
    return tuple(out)


def parse_application(doc: Any, *, where: str = "Application") -> Application:
    """An :class:`Application` from its manifest; :class:`ApplicationInvalid` lists every problem."""
    r = _Reader(where)
    if not isinstance(doc, Mapping):
        raise ApplicationInvalid(f"{where} is not a YAML map")
    if doc.get("apiVersion") != API_VERSION:
        r.problems.append(f"apiVersion must be {API_VERSION}, not {doc.get('apiVersion')!r}")
    if doc.get("kind") != "Application":
        r.problems.append(f"kind must be Application, not {doc.get('kind')!r}")
    meta = r.get(doc, "", "metadata", Mapping, required=True, default={})
    name = r.get(meta, "metadata", "name", str, required=True, default="")
    where = f"{where} {name}".strip()
    spec = r.get(doc, "", "spec", Mapping, required=True, default={})
    project = r.get(spec, "spec", "project", str, required=True, default="")
    sources: list[Source] = []
    single, multi = spec.get("source"), spec.get("sources")
    if (single is None) == (multi is None):
        r.problems.append("exactly one of spec.source and spec.sources is required")
    elif single is not None:
        sources = [s for s in [_source(r, single, "spec.source")] if s]
    elif not isinstance(multi, list) or not multi:
        r.problems.append("spec.sources must be a non-empty list")
    else:
        sources = [s for i, m in enumerate(multi) if (s := _source(r, m, f"spec.sources[{i}]"))]
    refs = {s.ref for s in sources if s.ref}
    for i, source in enumerate(sources):
        for j, value_file in enumerate(source.helm.value_files if source.helm else ()):
            if value_file.startswith("$"):
                ref = value_file[1:].split("/", 1)[0]
                if ref not in refs:
                    r.problems.append(
                        f"spec.sources[{i}].helm.valueFiles[{j}] {value_file!r} needs a source "
                        f"with ref: {ref}")
    dest = r.get(spec, "spec", "destination", Mapping, required=True, default={})
    server, dname = dest.get("server"), dest.get("name")
    if dest and bool(server) == bool(dname):
        r.problems.append("spec.destination needs exactly one of server and name")
    namespace = r.get(dest, "spec.destination", "namespace", str, default="") if dest else ""
    policy = _sync_policy(r, r.get(spec, "spec", "syncPolicy", Mapping))
    ignores = _ignore(r, r.get(spec, "spec", "ignoreDifferences", list, default=[]))
    limit = r.get(spec, "spec", "revisionHistoryLimit", int, default=10)
    r.what = where
    r.fail_if_any()
    return Application(
        name=name, namespace=str(meta.get("namespace") or "argocd"), project=project,
        sources=tuple(sources), destination=Destination(namespace, server, dname),
        sync_policy=policy, ignore_differences=ignores, revision_history_limit=limit,
        multi_source=multi is not None, labels=dict(meta.get("labels") or {}),
    )


def _group_kinds(r: _Reader, doc: Any, key: str) -> tuple[tuple[str, str], ...]:
    items = r.get(doc, "spec", key, list, default=None)
    if items is None:
        return ()
    return tuple((str(i.get("group", "")), str(i.get("kind", ""))) for i in items
                 if isinstance(i, Mapping))


def parse_project(doc: Any, *, where: str = "AppProject") -> AppProject:
    r = _Reader(where)
    if not isinstance(doc, Mapping) or doc.get("kind") != "AppProject":
        raise ApplicationInvalid(f"{where} is not an AppProject document")
    name = r.get(doc.get("metadata"), "metadata", "name", str, required=True, default="")
    spec = r.get(doc, "", "spec", Mapping, default={})
    dests = []
    for i, item in enumerate(r.get(spec, "spec", "destinations", list, default=[])):
        if not isinstance(item, Mapping):
            r.problems.append(f"spec.destinations[{i}] must be a map")
            continue
        dests.append(ProjectDestination(str(item.get("namespace", "*")), item.get("server"),
                                        item.get("name")))
    namespaced = _group_kinds(r, spec, "namespaceResourceWhitelist")
    windows = [w for i, item in enumerate(r.get(spec, "spec", "syncWindows", list, default=[]))
               if (w := _sync_window(r, item, f"spec.syncWindows[{i}]"))]
    roles = [role for i, item in enumerate(r.get(spec, "spec", "roles", list, default=[]))
             if (role := _role(r, item, f"spec.roles[{i}]"))]
    r.what = f"{where} {name}"
    if name:
        from shiplane.gitops.roles import parse_policy
        for i, role in enumerate(roles):
            for j, line in enumerate(role.policies):
                try:
                    parse_policy(line, name, role.name)
                except ApplicationInvalid as error:
                    r.problems.append(f"spec.roles[{i}].policies[{j}]: {error}")
    r.fail_if_any()
    return AppProject(
        name=name,
        source_repos=tuple(str(s) for s in r.get(spec, "spec", "sourceRepos", list, default=[])),
        destinations=tuple(dests),
        cluster_resource_whitelist=_group_kinds(r, spec, "clusterResourceWhitelist"),
        namespace_resource_whitelist=namespaced if "namespaceResourceWhitelist" in spec
        else (("*", "*"),),
        cluster_resource_blacklist=_group_kinds(r, spec, "clusterResourceBlacklist"),
        namespace_resource_blacklist=_group_kinds(r, spec, "namespaceResourceBlacklist"),
        sync_windows=tuple(windows),
        roles=tuple(roles),
    )


def _strings(r: _Reader, doc: Any, path: str, key: str) -> tuple[str, ...]:
    return tuple(str(x) for x in r.get(doc, path, key, list, default=[]))


def _sync_window(r: _Reader, doc: Any, path: str) -> SyncWindow | None:
    if not isinstance(doc, Mapping):
        r.problems.append(f"{path} must be a map")
        return None
    kind = r.get(doc, path, "kind", str, required=True, default="")
    if kind and kind not in ("allow", "deny"):
        r.problems.append(f"{path}.kind must be allow or deny, not {kind!r}")
    schedule = r.get(doc, path, "schedule", str, required=True, default="")
    duration = r.get(doc, path, "duration", str, required=True, default="")
    window = SyncWindow(
        kind=kind, schedule=schedule, duration=duration,
        applications=_strings(r, doc, path, "applications"),
        namespaces=_strings(r, doc, path, "namespaces"),
        clusters=_strings(r, doc, path, "clusters"),
        manual_sync=bool(r.get(doc, path, "manualSync", bool, default=False)),
        time_zone=str(r.get(doc, path, "timeZone", str, default="UTC")))
    if schedule and duration:
        from shiplane.gitops.retry import parse_duration
        from shiplane.gitops.windows import parse_cron
        try:  # checked now, so a bad window is a clear error rather than a silent pass
            parse_cron(schedule)
            parse_duration(duration)
        except ApplicationInvalid as error:
            r.problems.append(f"{path}: {error}")
    if not (window.applications or window.namespaces or window.clusters):
        r.problems.append(f"{path} matches nothing: give applications, namespaces or clusters")
    return window


def _role(r: _Reader, doc: Any, path: str) -> ProjectRole | None:
    if not isinstance(doc, Mapping):
        r.problems.append(f"{path} must be a map")
        return None
    name = r.get(doc, path, "name", str, required=True, default="")
    return ProjectRole(name, _strings(r, doc, path, "policies"), _strings(r, doc, path, "groups"))


def load_documents(paths: Iterable[Path]) -> tuple[list[Application], list[AppProject]]:
    """Every Application and AppProject in these YAML files (other kinds are ignored)."""
    apps: list[Application] = []
    projects: list[AppProject] = []
    for path in sorted(paths):
        try:
            docs = list(yaml.safe_load_all(Path(path).read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as error:
            raise ApplicationInvalid(f"{path}: cannot read YAML: {error}") from error
        for index, doc in enumerate(docs):
            where = f"{Path(path).name} document {index + 1}"
            if isinstance(doc, Mapping) and doc.get("kind") == "Application":
                apps.append(parse_application(doc, where=where))
            elif isinstance(doc, Mapping) and doc.get("kind") == "AppProject":
                projects.append(parse_project(doc, where=where))
    names = [a.name for a in apps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ApplicationInvalid(f"duplicate Application names: {', '.join(duplicates)}")
    return apps, projects
