"""The Application ``status`` document, and where it is kept.

``application_status`` is pure: comparison + health + last operation + history →
the ``status`` block Argo CD writes (argo-cd ``types.go`` ``ApplicationStatus``:
``sync``, ``health``, ``operationState``, ``history[]``, ``resources[]``,
``reconciledAt``, ``sourceType``). History is capped at ``revisionHistoryLimit``
(default 10) and ids grow by one per successful sync.

Stores (one Protocol, three homes): ``MemoryStatusStore`` (tests), ``FileStatusStore``
(a JSON file per app — used when the cluster does not serve the Application CRD),
``ClusterStatusStore`` (the Application object itself, ``argoproj.io/v1alpha1``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shiplane.gitops.application import API_VERSION
from shiplane.gitops.diff import Comparison
from shiplane.gitops.errors import GitOpsError
from shiplane.gitops.health import Health, resource_health
from shiplane.gitops.plan import sync_wave

__all__ = [
    "ClusterStatusStore",
    "FileStatusStore",
    "MemoryStatusStore",
    "OperationState",
    "StatusStore",
    "append_history",
    "application_status",
]


@dataclass(frozen=True)
class OperationState:
    """``status.operationState``: a sync operation, Running until it ends (then
    Succeeded | Failed | Error). While Running it holds the results so far, which is what
    a restarted controller resumes from (argo-cd ``appcontroller.go``
    ``processRequestedAppOperation``: "Resuming in-progress operation")."""

    phase: str  # Running | Succeeded | Failed | Error
    message: str
    started_at: str
    finished_at: str
    revisions: tuple[str, ...]
    initiated_by: str = "automated"
    results: tuple[Mapping[str, Any], ...] = ()
    retry_count: int = 0
    prune: bool | None = None  # the operation's sync.prune (None: the app's policy)

    @property
    def running(self) -> bool:
        """In progress (``isOperationInProgress``: a phase that is not completed)."""
        return self.phase in ("Running", "Terminating")

    def to_status(self) -> dict[str, Any]:
        automated = self.initiated_by == "automated"
        sync: dict[str, Any] = {"revisions": list(self.revisions)}
        if self.prune is not None:
            sync["prune"] = self.prune
        return {
            "operation": {
                "sync": sync,
                "initiatedBy": {"automated": True} if automated else {"username": self.initiated_by},
            },
            "phase": self.phase,
            "message": self.message,
            "startedAt": self.started_at,
            **({"finishedAt": self.finished_at} if self.finished_at else {}),
            "retryCount": self.retry_count,
            "syncResult": {"revisions": list(self.revisions), "resources": list(self.results)},
        }

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> OperationState | None:
        """The ``operationState`` of a saved ``status`` (None when there is none)."""
        op = status.get("operationState")
        if not op:
            return None
        operation = op.get("operation") or {}
        initiated = operation.get("initiatedBy") or {}
        result = op.get("syncResult") or {}
        prune = (operation.get("sync") or {}).get("prune")
        return cls(op.get("phase", ""), op.get("message", ""), op.get("startedAt", ""),
                   op.get("finishedAt", ""), tuple(result.get("revisions") or ()),
                   "automated" if initiated.get("automated") else
                   str(initiated.get("username", "")),
                   tuple(result.get("resources") or ()), int(op.get("retryCount", 0)),
                   None if prune is None else bool(prune))


def append_history(history: Sequence[Mapping[str, Any]], operation: OperationState,
                   sources: Sequence[Mapping[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """History after a successful sync: a new entry with the next id, the oldest dropped."""
    entries = [dict(h) for h in history]
    next_id = max((int(h.get("id", 0)) for h in entries), default=-1) + 1
    entries.append({
        "id": next_id,
        "revisions": list(operation.revisions),
        "revision": operation.revisions[0] if operation.revisions else "",
        "deployedAt": operation.finished_at,
        "deployStartedAt": operation.started_at,
        "sources": [dict(s) for s in sources],
        "initiatedBy": {"automated": True} if operation.initiated_by == "automated"
        else {"username": operation.initiated_by},
    })
    return entries[-max(limit, 1):]


def application_status(
    comparison: Comparison,
    health: Health,
    *,
    revisions: Sequence[str],
    reconciled_at: str,
    resource_healths: Mapping[tuple[str, str, str, str], Health | None] | None = None,
    operation: OperationState | None = None,
    history: Sequence[Mapping[str, Any]] = (),
    conditions: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    resources = []
    for diff in comparison.resources:
        group, kind, namespace, name = diff.key
        obj = diff.desired or diff.live or {}
        version = str(obj.get("apiVersion", "")).rpartition("/")[2]
        entry: dict[str, Any] = {"group": group, "version": version, "kind": kind,
                                 "namespace": namespace, "name": name,
                                 "status": diff.status.value, "syncWave": sync_wave(obj)}
        child = (resource_healths or {}).get(diff.key)
        if diff.live is None:
            child = resource_health(None)
        if child is not None:
            entry["health"] = {"status": child.status.value,
                               **({"message": child.message} if child.message else {})}
        if diff.requires_pruning:
            entry["requiresPruning"] = True
        resources.append(entry)
    status: dict[str, Any] = {
        "sync": {"status": comparison.status.value, "revisions": list(revisions),
                 "revision": revisions[0] if revisions else ""},
        "health": {"status": health.status.value,
                   **({"message": health.message} if health.message else {})},
        "resources": resources,
        "history": [dict(h) for h in history],
        "reconciledAt": reconciled_at,
        "sourceType": "Helm",
    }
    listed = [{"type": "ComparisonError", "message": comparison.message}] \
        if comparison.message else []
    listed += [dict(c) for c in conditions]
    if listed:
        status["conditions"] = listed
    if operation is not None:
        status["operationState"] = operation.to_status()
    return status


class StatusStore(Protocol):
    def load(self, app_name: str) -> dict[str, Any]: ...

    def save(self, app_name: str, status: Mapping[str, Any]) -> None: ...


class MemoryStatusStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}

    def load(self, app_name: str) -> dict[str, Any]:
        return json.loads(json.dumps(self._data.get(app_name, {})))

    def save(self, app_name: str, status: Mapping[str, Any]) -> None:
        self._data[app_name] = json.loads(json.dumps(status))


class FileStatusStore:
    """``<directory>/<app>.json``, written atomically (temp file + rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def load(self, app_name: str) -> dict[str, Any]:
        path = self.directory / f"{app_name}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def save(self, app_name: str, status: Mapping[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self.directory / f".{app_name}.json.tmp"
        temp.write_text(json.dumps(status, indent=2, sort_keys=True), encoding="utf-8")
        temp.replace(self.directory / f"{app_name}.json")


class ClusterStatusStore:
    """``status`` of the Application object (``argoproj.io/v1alpha1``, status subresource).

    An Application that is in git but not yet on the cluster is created from its
    manifest (``manifests``: name → the document from ``argocd-apps/``) on first save,
    with its namespace; status is then replaced as a whole (JSON patch on ``/status``).
    """

    def __init__(self, client: Any, manifests: Mapping[str, Mapping[str, Any]] | None = None,
                 namespace: str = "argocd") -> None:
        self.client = client
        self.manifests = dict(manifests or {})
        self.namespace = namespace
        self._missing: set[str] = set()  # seen absent by ``load``: ``save`` creates at once
        self._namespaces: set[str] = set()  # known to exist

    def _namespace_of(self, app_name: str) -> str:
        meta = (self.manifests.get(app_name) or {}).get("metadata") or {}
        return str(meta.get("namespace") or self.namespace)

    def load(self, app_name: str) -> dict[str, Any]:
        from shiplane.kube.errors import ApiError
        try:
            obj = self.client.get(API_VERSION, "Application", app_name,
                                  self._namespace_of(app_name))
        except ApiError as error:
            if error.code == 404:
                self._missing.add(app_name)
                return {}
            raise
        self._missing.discard(app_name)
        return dict(obj.get("status") or {})

    def _create(self, app_name: str) -> None:
        from shiplane.kube.errors import ApiError
        manifest = self.manifests.get(app_name)
        if manifest is None:
            raise GitOpsError(f"Application {app_name} is not on the cluster and has no manifest")
        namespace = self._namespace_of(app_name)
        try:
            if namespace not in self._namespaces:
                self.client.get("v1", "Namespace", namespace)
        except ApiError as error:
            if error.code != 404:
                raise
            try:
                self.client.create({"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": namespace}})
            except ApiError as race:
                if race.code != 409:  # created meanwhile by a parallel save
                    raise
        self._namespaces.add(namespace)
        body = {k: v for k, v in manifest.items() if k != "status"}
        try:
            self.client.create(body, namespace)
        except ApiError as error:
            if error.code != 409:  # created meanwhile: the status patch follows anyway
                raise

    def save(self, app_name: str, status: Mapping[str, Any]) -> None:
        from shiplane.kube.errors import ApiError
        patch = [{"op": "add", "path": "/status", "value": dict(status)}]
        namespace = self._namespace_of(app_name)
        if app_name in self._missing:  # load saw it absent: no patch bound to 404 first
            self._create(app_name)
            self._missing.discard(app_name)
        try:
            self.client.patch(API_VERSION, "Application", app_name, patch, patch_type="json",
                              namespace=namespace, subresource="status")
        except ApiError as error:
            if error.code != 404:
                raise
            self._create(app_name)
            self.client.patch(API_VERSION, "Application", app_name, patch, patch_type="json",
                              namespace=namespace, subresource="status")
