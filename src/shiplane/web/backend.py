"""The dashboard's data and actions over shiplane's libraries (the I/O adapter).

:class:`WorkspaceBackend` reads a workspace the way the CLI does — pipeline runs
(``shiplane.pipeline``), Helm releases per environment (``shiplane.release``),
Applications and promotions of a platform repo (``shiplane.gitops``), nodes and
pods of any cluster (``shiplane.kube``), the registry (``shiplane.registry``) — and
hands the pure functions of ``views`` / ``rollout_view`` the data they decide on.
Every method is synchronous (the app runs them in a thread) and returns JSON-ready
dicts. Actions take the signed-in user's name and record it as the CLI's ``--user``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dulwich.repo import Repo
from ruamel.yaml import YAML

from shiplane.cluster.decisions.quantity import parse_quantity
from shiplane.config import Workspace, running_stack
from shiplane.errors import ShiplaneError
from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.gates import pipeline_verdict
from shiplane.gitops.promotion import approve, audit, file_at_revision, list_pending, reject
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient, KubeError
from shiplane.pipeline import RunNotFound, get_run, list_runs
from shiplane.registry.client import RegistryClient
from shiplane.release import release_revisions, resolve_access, rollback
from shiplane.web.action_log import ActionLog, MemoryActionLog, action_record
from shiplane.web.errors import NotFound
from shiplane.web.rollout_view import rollout_view
from shiplane.web.views import (
    audit_rows,
    filter_audit,
    model1_entry,
    model2_entry,
    overview_matrix,
    sync_history_rows,
)

__all__ = ["WorkspaceBackend"]

HELM_SECRETS = "owner=helm"


def _error(error: Exception) -> str:
    return str(error) + (f" ({error.hint})" if getattr(error, "hint", None) else "")


@dataclass
class WorkspaceBackend:
    """A workspace (state dir + environments), optionally a platform repo for Model 2.

    ``gitops_kubeconfig``/``gitops_context`` name the cluster holding the Application
    objects (status and history), as ``shiplane gitops --kubeconfig/--context``.
    """

    state_dir: Path
    workspace: Workspace = field(default_factory=Workspace)
    platform_dir: Path | None = None
    gitops_kubeconfig: Path | None = None
    gitops_context: str | None = None
    actions: ActionLog = field(default_factory=MemoryActionLog)
    _gates: dict[tuple, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.workspace = self.workspace.model_copy(update={"state_dir": self.state_dir})

    # -- sources ------------------------------------------------------------------------------
    def environments(self) -> list[str]:
        return list(self.workspace.environments)

    def _runs(self, service: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return [r.to_dict(logs=False) for r in
                list_runs(service=service, limit=limit, state_dir=self.state_dir)]

    def _env_client(self, env: str, stack: ExitStack) -> tuple[KubeClient, str]:
        access = resolve_access(self.workspace, env)
        client = stack.enter_context(KubeClient.from_kubeconfig(access.kubeconfig,
                                                                access.context))
        return client, access.namespace

    def _platform(self) -> PlatformWorkspace | None:
        if self.platform_dir is None:
            return None
        return PlatformWorkspace.open(self.platform_dir)

    def _clusters(self) -> ClusterClients:
        return ClusterClients(self.gitops_kubeconfig, self.gitops_context)

    def _values(self, platform: PlatformWorkspace, env: str, service: str) -> dict[str, Any]:
        with Repo(str(platform.root)) as repo:
            text = file_at_revision(repo, repo.head(), f"{env}/{service}/values.yaml")
        return dict(YAML(typ="safe").load(text) or {}) if text else {}

    def _model1(self, env: str, stack: ExitStack, runs: list[dict[str, Any]],
                errors: list[str], service: str | None = None
                ) -> list[tuple[str, dict[str, Any]]]:
        try:
            client, namespace = self._env_client(env, stack)
            selector = HELM_SECRETS + (f",name={service}" if service else "")
            secrets = client.list("v1", "Secret", namespace, label_selector=selector)
        except (ShiplaneError, KubeError) as error:
            errors.append(f"{env}: {_error(error)}")
            return []
        out = []
        for name in sorted({(s["metadata"].get("labels") or {}).get("name", "")
                            for s in secrets} - {""}):
            revisions = release_revisions(name, env, workspace=self.workspace)
            try:
                deployment = client.get("apps/v1", "Deployment", name, namespace)
            except KubeError:
                deployment = None
            entry = model1_entry(revisions, deployment, runs, env)
            if entry is not None:
                entry["namespace"] = namespace
                entry["history"] = [
                    {"revision": r.number, "status": r.status, "chart": r.chart,
                     "app_version": r.app_version, "description": r.description,
                     "updated": r.updated.isoformat(timespec="seconds") if r.updated else ""}
                    for r in reversed(revisions)]
                out.append((name, entry))
        return out

    def _model2(self, errors: list[str], service: str | None = None
                ) -> list[tuple[str, str, dict[str, Any]]]:
        try:
            platform = self._platform()
        except ShiplaneError as error:
            errors.append(f"platform repo: {_error(error)}")
            return []
        if platform is None:
            return []
        out = []
        try:
            with self._clusters() as clusters:
                store = platform.store(clusters.control)
                for name, app in sorted(platform.apps.items()):
                    svc = _service_of(name, app)
                    if service and svc != service:
                        continue
                    env = platform.environment_of(app)
                    try:
                        status = store.load(name)
                    except KubeError:
                        status = {}
                    entry = model2_entry(name, status, self._values(platform, env, svc))
                    entry["namespace"] = app.destination.namespace
                    entry["manual_sync"] = app.sync_policy.automated is None
                    out.append((svc, env, entry))
        except (ShiplaneError, KubeError) as error:
            errors.append(f"gitops: {_error(error)}")
        return out

    # -- pages --------------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        errors: list[str] = []
        runs = self._runs()
        triples: list[tuple[str, str, dict[str, Any]]] = []
        with ExitStack() as stack:
            for env in self.environments():
                triples += [(svc, env, e) for svc, e in self._model1(env, stack, runs, errors)]
        triples += self._model2(errors)
        known = {t[0] for t in triples}
        envs = self.environments()
        matrix = overview_matrix(envs, triples)
        for svc in sorted({r["service"] for r in runs} - known):  # built, never deployed
            matrix["services"].append({"name": svc, "cells": {env: [] for env in envs}})
        matrix["services"].sort(key=lambda row: row["name"])
        matrix["errors"] = errors
        return matrix

    def service(self, name: str) -> dict[str, Any]:
        errors: list[str] = []
        runs = self._runs(service=name, limit=50)
        releases: dict[str, dict[str, Any]] = {}
        with ExitStack() as stack:
            for env in self.environments():
                for _, entry in self._model1(env, stack, runs, errors, service=name):
                    releases[env] = entry
        applications = {}
        for svc, env, entry in self._model2(errors, service=name):
            applications[env] = entry
        pending = [p for p in self.promotions(errors)["pending"] if p["service"] == name]
        if not runs and not releases and not applications and not pending:
            raise NotFound(f"no service {name!r}: no pipeline run, release or Application",
                           hint="see the overview for the services shiplane knows")
        return {"name": name, "environments": self.environments(), "runs": runs,
                "releases": releases, "applications": applications,
                "promotions": pending, "errors": errors}

    def runs(self, service: str | None = None, limit: int = 50) -> dict[str, Any]:
        return {"runs": self._runs(service=service, limit=limit)}

    def run(self, run_id: int) -> dict[str, Any]:
        try:
            return get_run(run_id, state_dir=self.state_dir).to_dict(logs=True)
        except RunNotFound as error:
            raise NotFound(str(error), hint=error.hint) from None

    def promotions(self, errors: list[str] | None = None) -> dict[str, Any]:
        errors = [] if errors is None else errors
        try:
            platform = self._platform()
        except ShiplaneError as error:
            errors.append(f"platform repo: {_error(error)}")
            return {"pending": [], "errors": errors}
        if platform is None:
            return {"pending": [], "errors": errors}
        out = []
        with self._clusters() as clusters:
            for pending in list_pending(platform.root):
                gates: list[dict[str, Any]] = []
                try:
                    passed, _ = pipeline_verdict(
                        list_runs(service=pending.service, limit=200,
                                  state_dir=self.state_dir), pending.tag)
                    source = platform.store(clusters.control).load(
                        f"{pending.service}-{pending.source}")
                    # gates render the target with Helm: the same facts give the same gates
                    with Repo(str(platform.root)) as repo:
                        head = repo.head()
                    key = (str(platform.root), head, pending.commit, passed, json.dumps(
                        [source.get("sync"), source.get("health")], sort_keys=True))
                    if key not in self._gates:
                        promotion = platform.plan(pending.service, pending.source,
                                                  pending.target)
                        self._gates[key] = [
                            {"name": g.name, "passed": g.passed, "detail": g.detail}
                            for g in platform.promotion_gates(
                                promotion, author=pending.author, pipeline_passed=passed,
                                client=clusters.control)]
                    gates = self._gates[key]
                except (ShiplaneError, KubeError) as error:
                    gates = [{"name": "plan", "passed": False, "detail": _error(error)}]
                out.append({"branch": pending.branch, "commit": pending.commit,
                            "service": pending.service, "source": pending.source,
                            "target": pending.target, "tag": pending.tag,
                            "author": pending.author, "gates": gates})
        return {"pending": out, "errors": errors}

    def pending_author(self, branch: str) -> str:
        platform = self._require_platform()
        for pending in list_pending(platform.root):
            if pending.branch == branch:
                return pending.author
        raise NotFound(f"no pending promotion {branch}")

    def audit(self, *, service: str | None = None, env: str | None = None,
              by: str | None = None, action: str | None = None) -> dict[str, Any]:
        errors: list[str] = []
        promotions: list[Any] = []
        syncs: list[dict[str, Any]] = []
        actions = self.actions.records()
        try:
            platform = self._platform()
            if platform is not None:
                with self._clusters() as clusters:
                    history = platform.history(clusters.control)
                promotions = audit(platform.root, None, history)
                syncs = sync_history_rows(
                    ((name, _service_of(name, app), platform.environment_of(app),
                      history.get(name) or []) for name, app in sorted(platform.apps.items())),
                    actions)
        except (ShiplaneError, KubeError) as error:
            errors.append(f"platform repo: {_error(error)}")
        rows = audit_rows(promotions=promotions, runs=self._runs(limit=500),
                          actions=actions, syncs=syncs)
        filtered = filter_audit(rows, service=service, env=env, by=by, action=action)
        return {"entries": filtered, "total": len(rows), "errors": errors,
                "filters": {"service": service or "", "env": env or "", "by": by or "",
                            "action": action or ""},
                "services": sorted({r["service"] for r in rows if r["service"]}),
                "actions": sorted({r["action"] for r in rows}),
                "environments": self.environments()}

    def cluster(self) -> dict[str, Any]:
        errors: list[str] = []
        clusters = []
        seen: set[tuple[str, str | None]] = set()
        for env in self.environments():
            try:
                access = resolve_access(self.workspace, env)
            except ShiplaneError as error:
                errors.append(f"{env}: {_error(error)}")
                continue
            key = (str(access.kubeconfig), access.context)
            if key in seen:
                next(c for c in clusters if c["key"] == key)["environments"].append(env)
                continue
            seen.add(key)
            try:
                with KubeClient.from_kubeconfig(access.kubeconfig, access.context) as client:
                    nodes = _nodes(client.list("v1", "Node"),
                                   client.list("v1", "Pod", all_namespaces=True))
                    server = client.settings.server
            except (ShiplaneError, KubeError) as error:
                errors.append(f"{env}: {_error(error)}")
                continue
            clusters.append({"key": key, "server": server, "environments": [env],
                             "nodes": nodes})
        for entry in clusters:
            entry.pop("key")
        return {"clusters": clusters, "registry": self.registry(errors), "errors": errors}

    def registry(self, errors: list[str] | None = None) -> dict[str, Any]:
        errors = [] if errors is None else errors
        stack = running_stack(self.state_dir)
        if stack is None:
            return {"host": "", "repositories": []}
        repositories = []
        try:
            with RegistryClient(stack.registry, resolve=False) as client:
                for name in sorted(client.catalog()):
                    tags = []
                    for tag in client.list_tags(name):
                        manifest = client.get_manifest(name, tag)
                        tags.append({"tag": tag, "digest": manifest.digest,
                                     "media_type": manifest.media_type,
                                     "size": _image_size(manifest.data)})
                    repositories.append({"name": name, "tags": tags})
        except ShiplaneError as error:
            errors.append(f"registry {stack.registry}: {_error(error)}")
        return {"host": stack.registry, "repositories": repositories}

    def rollout(self, service: str, env: str) -> dict[str, Any]:
        with ExitStack() as stack:
            try:
                client, namespace = self._env_client(env, stack)
            except ShiplaneError as error:
                raise NotFound(str(error), hint=error.hint) from None
            objects = {kind: _list(client, api, kind, namespace) for api, kind in ROLLOUT_KINDS}
        deployment = next((d for d in objects["Deployment"]
                           if d["metadata"]["name"] == service), None)
        return rollout_view(deployment, objects["ReplicaSet"], objects["Pod"],
                            objects["Event"], objects["Endpoints"], service=service,
                            namespace=namespace)

    def rollout_target(self, env: str) -> tuple[Path, str | None, str]:
        """(kubeconfig, context, namespace) of ``env``, for the rollout feed's watches."""
        try:
            access = resolve_access(self.workspace, env)
        except ShiplaneError as error:
            raise NotFound(str(error), hint=error.hint) from None
        return access.kubeconfig, access.context, access.namespace

    # -- actions ------------------------------------------------------------------------------
    def _require_platform(self) -> PlatformWorkspace:
        platform = self._platform()
        if platform is None:
            raise NotFound("this dashboard has no platform repo (Model 2)",
                           hint="start it with --platform DIR")
        return platform

    def rollback(self, service: str, env: str, revision: int | None, *, user: str
                 ) -> dict[str, Any]:
        """Helm rollback without waiting (the rollout page shows it progress)."""
        result = rollback(service, env, revision, wait=False, workspace=self.workspace)
        self.actions.append(action_record(
            "rollback", user, service=service, env=env, model=1,
            detail=f"to revision {revision or 'previous'}: new revision {result.number}",
            ref=f"revision {result.number}"))
        return {"service": service, "env": env, "revision": result.number,
                "status": result.status, "description": result.description}

    def sync(self, app_name: str, *, user: str) -> dict[str, Any]:
        platform = self._require_platform()
        app = platform.app(app_name)
        with self._clusters() as clusters:
            reconciler = platform.reconciler_for(app, clusters)
            state = reconciler.sync(app, initiated_by=user)
            operation = reconciler.store.load(app_name).get("operationState") or {}
        env = platform.environment_of(app)
        self.actions.append(action_record(
            "sync", user, service=app_name.removesuffix(f"-{env}"), env=env, model=2,
            detail=f"{operation.get('phase', '')}: {operation.get('message', '')}".strip(": "),
            ref=(state.revisions[0][:7] if state.revisions else "")))
        return {"application": app_name, "sync": state.comparison.status.value,
                "health": state.health.status.value, "phase": operation.get("phase", ""),
                "message": operation.get("message", "")}

    def rollback_application(self, app_name: str, history_id: int, *, user: str,
                             disable_auto_sync: bool = False) -> dict[str, Any]:
        """Model 2 rollback: ``shiplane gitops rollback APP ID [--disable-auto-sync]``
        (the reconciler's ``rollback``: refused under automated sync unless told)."""
        platform = self._require_platform()
        app = platform.app(app_name)
        env = platform.environment_of(app)
        with self._clusters() as clusters:
            reconciler = platform.reconciler_for(app, clusters)
            state = reconciler.rollback(app, history_id, initiated_by=user,
                                        disable_auto_sync=disable_auto_sync)
            operation = reconciler.store.load(app_name).get("operationState") or {}
        revision = state.revisions[0][:7] if state.revisions else ""
        self.actions.append(action_record(
            "rollback", user, service=app_name.removesuffix(f"-{env}"), env=env, model=2,
            detail=f"{app_name} to history {history_id} ({revision})"
                   + (", auto-sync check overridden" if disable_auto_sync else "")
                   + f": {operation.get('phase', '')}",
            ref=revision))
        return {"application": app_name, "history_id": history_id, "revision": revision,
                "sync": state.comparison.status.value, "health": state.health.status.value,
                "phase": operation.get("phase", ""), "message": operation.get("message", "")}

    def approve(self, branch: str, *, user: str) -> dict[str, Any]:
        platform = self._require_platform()
        pending = next((p for p in list_pending(platform.root) if p.branch == branch), None)
        if pending is None:
            raise NotFound(f"no pending promotion {branch}")
        commit = approve(platform.root, branch, approver=user)
        self.actions.append(action_record(
            "approve", user, service=pending.service, env=pending.target, tag=pending.tag,
            model=2, detail=f"promotion by {pending.author} from {pending.source}",
            ref=commit[:7]))
        return {"branch": branch, "commit": commit, "approved_by": user}

    def reject(self, branch: str, *, user: str) -> dict[str, Any]:
        platform = self._require_platform()
        pending = reject(platform.root, branch, reviewer=user)
        self.actions.append(action_record(
            "reject", user, service=pending.service, env=pending.target, tag=pending.tag,
            model=2, detail=f"promotion by {pending.author} from {pending.source}"))
        return {"branch": branch, "rejected_by": user}


def _service_of(app_name: str, app: Any) -> str:
    return str(app.labels.get("app.kubernetes.io/name") or app_name.rsplit("-", 1)[0])


ROLLOUT_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("v1", "Pod"), ("v1", "Event"),
    ("v1", "Endpoints"),
)


def _list(client: KubeClient, api_version: str, kind: str, namespace: str) -> list[dict]:
    try:
        return client.list(api_version, kind, namespace)
    except KubeError:
        return []


def _image_size(data: bytes) -> int | None:
    """Config + layers of an image manifest (an index has no size of its own: None)."""
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if "layers" not in manifest:
        return None
    return int((manifest.get("config") or {}).get("size") or 0) + sum(
        int(layer.get("size") or 0) for layer in manifest["layers"])


def _requests(pod: Mapping[str, Any]) -> tuple[float, float]:
    cpu = memory = 0.0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += float(parse_quantity(requests.get("cpu", 0)))
        memory += float(parse_quantity(requests.get("memory", 0)))
    return cpu, memory


def _nodes(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        if node and phase not in ("Succeeded", "Failed"):
            by_node.setdefault(node, []).append(pod)
    out = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        status = node.get("status") or {}
        allocatable = status.get("allocatable") or {}
        placed = by_node.get(name, [])
        cpu = sum(_requests(p)[0] for p in placed)
        memory = sum(_requests(p)[1] for p in placed)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or [])
        out.append({
            "name": name,
            "ready": ready,
            "capacity": dict(status.get("capacity") or {}),
            "allocatable": dict(allocatable),
            "requested": {"cpu": f"{round(cpu * 1000)}m",
                          "memory": f"{round(memory / 1048576)}Mi"},
            "cpu_percent": _percent(cpu, allocatable.get("cpu")),
            "memory_percent": _percent(memory, allocatable.get("memory")),
            "images": [{"names": list(i.get("names") or []), "size": i.get("sizeBytes")}
                       for i in status.get("images") or []],
            "pods": [{"namespace": p["metadata"].get("namespace", ""),
                      "name": p["metadata"]["name"],
                      "phase": (p.get("status") or {}).get("phase", "")}
                     for p in sorted(placed, key=lambda p: (p["metadata"].get("namespace", ""),
                                                            p["metadata"]["name"]))],
        })
    return out


def _percent(used: float, total: Any) -> int | None:
    if total in (None, "", 0, "0"):
        return None
    whole = float(parse_quantity(total))
    return round(100 * used / whole) if whole else None
