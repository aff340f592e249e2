"""The Application ``status`` document, and where it is kept.

``application_status`` is pure: comparison + health + last operation + history →
the ``status`` block Argo CD writes (argo-cd ``types.go`` ``ApplicationStatus``:
``sync``, ``health``, ``operationState``, ``history[]``, ``resources[]``,
``reconciledAt``, ``sourceType``). History is capped at ``revisionHistoryLimit``
(default 10) and ids grow by one per successful sync.

Stores (one Protocol, three homes): ``MemoryStatusStore`` (tests), ``FileStatusStore``
(a JSON file per app — used when the cluster does not serve the Application CRD),
``ClusterStatusStore`` (the Application object itself, ``argoproj.io/v1alpha1``).
A store also holds the app's requested operation (the top-level ``operation``, see
``request.py``) where there is one: the Application object (and the memory store, for
tests); a status file has none.
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
    "terminate",
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
    # the ``operation`` it runs as requested (request.py: dryRun, resources, syncOptions,
    # info...), recorded in ``operationState.operation``; None: a plain sync
    request: Mapping[str, Any] | None = None

    @property
    def running(self) -> bool:
        """In progress (``isOperationInProgress``: a phase that is not completed)."""
        return self.phase in ("Running", "Terminating")

    def to_status(self) -> dict[str, Any]:
        automated = self.initiated_by == "automated"
        request = dict(self.request or {})
        sync: dict[str, Any] = {**(request.get("sync") or {}), "revisions": list(self.revisions)}
        if self.prune is not None:
            sync["prune"] = self.prune
        return {
            "operation": {
                **request,
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
                   None if prune is None else bool(prune), dict(operation) or None)


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


def terminate(store: StatusStore, app_name: str) -> dict[str, Any]:
    """Ask the operation in progress to end: ``status.operationState.phase`` Terminating
    (argo-cd ``server/application/application.go`` ``TerminateOperation``). The process
    running it sees that at its next check, a controller resuming it at once: running
    hooks are deleted and the operation fails (``operation.TERMINATED``)."""
    status = store.load(app_name)
    op = status.get("operationState") or {}
    if op.get("phase") not in ("Running", "Terminating"):
        raise GitOpsError(f"Unable to terminate operation. No operation is in progress "
                          f"({app_name})")
    status["operationState"] = {**op, "phase": "Terminating"}
    store.save(app_name, status)
    return status["operationState"]


class StatusStore(Protocol):
    def load(self, app_name: str) -> dict[str, Any]: ...

    def save(self, app_name: str, status: Mapping[str, Any]) -> None: ...

    def requested(self, app_name: str) -> dict[str, Any] | None:
        """The app's requested ``operation`` as the last ``load`` saw it (None: none)."""
        ...

    def clear_requested(self, app_name: str) -> None:
        """Remove the requested ``operation`` (its operation has completed)."""
        ...


class MemoryStatusStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._requests: dict[str, dict[str, Any]] = {}

    def load(self, app_name: str) -> dict[str, Any]:
        return json.loads(json.dumps(self._data.get(app_name, {})))

    def save(self, app_name: str, status: Mapping[str, Any]) -> None:
        self._data[app_name] = json.loads(json.dumps(status))

    def request(self, app_name: str, operation: Mapping[str, Any]) -> None:
        """Set the app's ``operation`` (what ``kubectl patch`` does to an Application)."""
        self._requests[app_name] = json.loads(json.dumps(operation))

    def requested(self, app_name: str) -> dict[str, Any] | None:
        found = self._requests.get(app_name)
        return json.loads(json.dumps(found)) if found is not None else None

    def clear_requested(self, app_name: str) -> None:
        self._requests.pop(app_name, None)


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

    def requested(self, app_name: str) -> dict[str, Any] | None:
        return None  # no Application object: nothing can request an operation

    def clear_requested(self, app_name: str) -> None:
        return None


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
        self._requests: dict[str, dict[str, Any]] = {}  # ``operation`` seen by ``load``
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
                self._requests.pop(app_name, None)
                return {}
            raise
        self._missing.discard(app_name)
        if obj.get("operation"):
            self._requests[app_name] = dict(obj["operation"])
        else:
            self._requests.pop(app_name, None)
        return dict(obj.get("status") or {})

    def requested(self, app_name: str) -> dict[str, Any] | None:
        found = self._requests.get(app_name)
        return dict(found) if found is not None else None

    def clear_requested(self, app_name: str) -> None:
        """A merge patch of the Application itself (``operation`` is not under the status
        subresource); upstream ``setOperationState`` does it in the same patch as the final
        ``operationState``, which the status subresource here does not allow."""
        from shiplane.kube.errors import ApiError
        self._requests.pop(app_name, None)
        try:
            self.client.patch(API_VERSION, "Application", app_name, {"operation": None},
                              patch_type="merge", namespace=self._namespace_of(app_name))
        except ApiError as error:
            if error.code != 404:  # deleted meanwhile: nothing to clear
                raise

    def _create(self, app_name: str) -> None:
        from shiplane.kube.errors import ApiError
        from shiplane.kube.namespaces import ensure_namespace
        manifest = self.manifests.get(app_name)
        if manifest is None:
            raise GitOpsError(f"Application {app_name} is not on the cluster and has no manifest")
        namespace = self._namespace_of(app_name)
        if namespace not in self._namespaces:
            ensure_namespace(self.client, namespace)
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
