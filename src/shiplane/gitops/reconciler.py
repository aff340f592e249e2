"""Reconcile Applications against a cluster through ``shiplane.kube`` (the I/O adapter).

One pass for one Application (argo-cd ``controller/appcontroller.go`` in small):

1. render the desired state (``desired``), list the live objects of the kinds
   involved in the destination namespace;
2. compare (``diff``) and assess health (``health``) — pure;
3. sync when asked (``sync``) or when automated: OutOfSync and either the
   revision changed since the last sync or ``selfHeal`` is on (Argo CD only
   auto-syncs a given revision once unless selfHeal);
4. a sync first runs ``admit`` (e.g. governance policies): refusals fail the
   operation, nothing is applied and the running version keeps serving; then
   the plan (``plan``) is executed group by group (``operation``: phase, then wave),
   waiting after each group until its resources are Healthy and its hooks completed
   (poll every ``poll_interval`` s, fail after ``sync_timeout`` s); prunes delete; hook
   delete policies apply; on failure the SyncFail hooks run;
5. status (sync, health, operationState, history, resources) is saved to a
   :class:`StatusStore` — the Application object when the CRD is served.

Apply mode ``server-side`` uses server-side apply with field manager
``shiplane-gitops`` (force, as Argo CD's ServerSideApply=true does). Mode
``update`` (create, or replace with the live resourceVersion) exists for API
servers without server-side apply.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.gitops.application import Application
from shiplane.gitops.desired import CLUSTER_SCOPED, DesiredState, SourceResolver, render_application
from shiplane.gitops.diff import FIELD_MANAGER, Comparison, SyncStatus, compare
from shiplane.gitops.errors import GitOpsError, RollbackRefused, SyncRefused
from shiplane.gitops.health import Health, HealthStatus, app_health, resource_health
from shiplane.gitops.operation import (
    TaskPhase,
    hooks_to_delete,
    next_step,
    recreate_first,
    task_progress,
)
from shiplane.gitops.plan import Action, SyncTask, plan_sync
from shiplane.gitops.retry import auto_sync_decision
from shiplane.gitops.status import OperationState, StatusStore, append_history, application_status
from shiplane.gitops.tracking import owned_by, resource_key
from shiplane.kube import KubeClient, KubeError
from shiplane.kube.errors import ApiError

__all__ = ["FIELD_MANAGER", "AppState", "LiveCache", "Reconciler"]

# Kinds listed for pruning besides those in git (what service charts produce).
PRUNABLE: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
)


_PER_NAMESPACE = object()  # marker: a kind this client may only list per namespace


class LiveCache:
    """Live objects per kind across all namespaces, each kind listed once (one controller
    pass), then kept current from this reconciler's own applies and prunes — Argo CD keeps
    a watch-fed cluster cache for the same reason: not listing every kind for every app.
    A new cache per pass picks up changes made by others (drift) at the next pass."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._kinds: dict[tuple[str, str], Any] = {}  # objects by key | None | _PER_NAMESPACE
        self._lock = threading.Lock()
        self.namespaces: set[str] = set()  # known to exist (CreateNamespace checks)

    def objects(self, api_version: str, kind: str, namespace: str | None,
                keep: Callable[[Mapping[str, Any]], bool] = lambda obj: True) -> list[dict]:
        """The cached objects of a kind in ``namespace`` that ``keep`` accepts (shallow
        copies: callers normalise with deep copies before changing anything nested)."""
        with self._lock:
            if (api_version, kind) not in self._kinds:
                try:
                    items = self.client.list(api_version, kind, all_namespaces=True)
                except ApiError as error:
                    # 403: RBAC grants this kind per namespace only — list it per app
                    self._kinds[(api_version, kind)] = _PER_NAMESPACE if error.code == 403 \
                        else None
                except KubeError:
                    self._kinds[(api_version, kind)] = None  # not served by this cluster
                else:
                    for item in items:
                        item.setdefault("apiVersion", api_version)
                        item.setdefault("kind", kind)
                    self._kinds[(api_version, kind)] = {resource_key(i): i for i in items}
            known = self._kinds[(api_version, kind)]
        if known is None:
            raise KubeError(f"{kind} is not served")
        if known is _PER_NAMESPACE:
            return [o for o in self.client.list(api_version, kind, namespace) if keep(o)]
        with self._lock:
            return [dict(o) for k, o in known.items()
                    if (namespace is None or k[2] == namespace) and keep(o)]

    def _bucket(self, obj: Mapping[str, Any]) -> dict | None:
        bucket = self._kinds.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
        return bucket if isinstance(bucket, dict) else None

    def update(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            bucket = self._bucket(obj)
            if bucket is not None:
                bucket[resource_key(obj)] = copy.deepcopy(dict(obj))

    def remove(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            bucket = self._bucket(obj)
            if bucket is not None:
                bucket.pop(resource_key(obj), None)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class Reconciler:
    def __init__(
        self,
        client: KubeClient,
        sources: SourceResolver,
        store: StatusStore,
        *,
        apply_mode: str = "server-side",
        tracking_method: str = "annotation",
        admit: Callable[[Application, Sequence[Mapping[str, Any]]], Sequence[str]] | None = None,
        permit: Callable[[Application, str, Sequence[str]], Sequence[str]] | None = None,
        clock: Callable[[], str] = _now,
        render_cache: dict[Any, DesiredState] | None = None,
        sync_timeout: float = 300.0,
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if apply_mode not in ("server-side", "update"):
            raise ValueError(f"apply_mode must be server-side or update, not {apply_mode!r}")
        self.client, self.sources, self.store = client, sources, store
        self.apply_mode, self.tracking_method = apply_mode, tracking_method
        self.admit, self.clock = admit, clock
        # who may sync now: (app, "automated" or the user, the user's groups) -> refusals
        # (AppProject sync windows and roles, see workspace.py)
        self.permit = permit
        # a sync operation waits between waves for health and hook completion
        # (operation.py); it fails after ``sync_timeout`` seconds of waiting
        self.sync_timeout, self.poll_interval = sync_timeout, poll_interval
        self.sleep, self.monotonic = sleep, monotonic
        self.live_cache: LiveCache | None = None  # set for a pass (``begin_pass``)
        # rendered manifests per (app, commits); see desired.py
        self._rendered: dict[Any, DesiredState] = {} if render_cache is None else render_cache

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

    # -- act --------------------------------------------------------------------------------
    def _apply(self, obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if not (obj.get("metadata") or {}).get("name"):
            # a hook with generateName: a new object every sync
            return "created", self.client.create(obj)
        if self.apply_mode == "server-side":
            return "configured", self.client.apply(obj, field_manager=FIELD_MANAGER, force=True)
        meta = obj.get("metadata") or {}
        try:
            live = self.client.get(obj["apiVersion"], obj["kind"], meta["name"],
                                   meta.get("namespace"))
        except ApiError as error:
            if error.code != 404:
                raise
            return "created", self.client.create(obj)
        body = {**obj, "metadata": {**meta, "resourceVersion":
                                    live["metadata"]["resourceVersion"]}}
        return "configured", self.client.replace(body)

    def _ensure_namespace(self, namespace: str) -> None:
        if self.live_cache is not None and namespace in self.live_cache.namespaces:
            return  # seen during this pass
        try:
            self.client.get("v1", "Namespace", namespace)
        except ApiError as error:
            if error.code != 404:
                raise
            try:
                self.client.create({"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": namespace}})
            except ApiError as race:
                if race.code != 409:  # created meanwhile by a parallel sync
                    raise
        if self.live_cache is not None:
            self.live_cache.namespaces.add(namespace)

    def _result(self, task: SyncTask, name: str) -> dict[str, Any]:
        group, kind, namespace, _ = resource_key(task.obj)
        return {"group": group, "kind": kind, "namespace": namespace, "name": name,
                "syncPhase": task.phase.value, "hookPhase": TaskPhase.RUNNING.value,
                "status": "Synced", "message": "", **({"hookType": task.phase.value}
                                                       if task.hook else {})}

    def _delete_and_wait(self, obj: Mapping[str, Any], name: str, deadline: float,
                         propagation: str = "background") -> None:
        """Delete ``obj`` and wait until it is gone (BeforeHookCreation)."""
        _, kind, namespace, _ = resource_key(obj)
        api_version = str(obj["apiVersion"])
        try:
            self.client.delete(api_version, kind, name, namespace or None,
                               propagation_policy=propagation.capitalize(),
                               grace_period_seconds=0)
        except ApiError as error:
            if error.code != 404:
                raise
            return
        while self.monotonic() < deadline:
            try:
                self.client.get(api_version, kind, name, namespace or None)
            except ApiError as error:
                if error.code == 404:
                    return
                raise
            self.sleep(self.poll_interval)
        raise GitOpsError(f"{kind}/{name} was not deleted in time (hook BeforeHookCreation)")

    def _start(self, task: SyncTask, final: bool, propagation: str,
               deadline: float) -> tuple[TaskPhase, dict[str, Any], str]:
        """Apply or prune one task; returns its phase, result and live name."""
        name = task.name
        result = self._result(task, name)
        try:
            if task.action is Action.PRUNE:
                self.client.delete(str(task.obj["apiVersion"]), task.kind, name,
                                   resource_key(task.obj)[2] or None,
                                   propagation_policy=propagation.capitalize())
                if self.live_cache is not None:
                    self.live_cache.remove(task.obj)
                result.update(status="Pruned", message="pruned",
                              hookPhase=TaskPhase.SUCCEEDED.value)
                return TaskPhase.SUCCEEDED, result, name
            if recreate_first(task):
                self._delete_and_wait(task.obj, name, deadline)
            verb, live = self._apply(task.obj)
            if self.live_cache is not None and not task.hook:
                self.live_cache.update(live)
            name = str((live.get("metadata") or {}).get("name") or name)
            result.update(name=name, message=f"{task.kind.lower()}/{name} {verb}")
        except (KubeError, GitOpsError) as error:
            result.update(status="SyncFailed", message=str(error),
                          hookPhase=TaskPhase.FAILED.value)
            return TaskPhase.FAILED, result, name
        if final and not task.hook:
            result["hookPhase"] = TaskPhase.SUCCEEDED.value
            return TaskPhase.SUCCEEDED, result, name
        phase, message = task_progress(task, live)
        result.update(hookPhase=phase.value, **({"message": message} if message else {}))
        return phase, result, name

    def _live_of(self, task: SyncTask, name: str) -> dict[str, Any] | None:
        _, kind, namespace, _ = resource_key(task.obj)
        try:
            return self.client.get(str(task.obj["apiVersion"]), kind, name, namespace or None)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def execute(self, tasks: Sequence[SyncTask], *, propagation: str = "foreground",
                timeout: float | None = None) -> tuple[bool, str, list[dict[str, Any]]]:
        """Run ``tasks`` group by group (``operation.next_step``), waiting between waves and
        phases for health / hook completion; on failure the SyncFail hooks among
        ``self._fail_hooks`` run. Returns (succeeded, message, resource results)."""
        deadline = self.monotonic() + (self.sync_timeout if timeout is None else timeout)
        tasks = list(tasks)
        phases = [TaskPhase.PENDING] * len(tasks)
        messages = [""] * len(tasks)
        results: dict[int, dict[str, Any]] = {}
        names: dict[int, str] = {}
        while True:
            step = next_step(tasks, phases, messages)
            if step.action == "apply":
                for i in step.indexes:
                    phases[i], results[i], names[i] = self._start(tasks[i], step.final,
                                                                  propagation, deadline)
                    messages[i] = results[i]["message"]
                    if phases[i] is TaskPhase.FAILED:
                        break  # later tasks depend on this one (gitops-engine stops too)
            elif step.action == "wait":
                if self.monotonic() >= deadline:
                    for i in step.indexes:
                        phases[i] = TaskPhase.FAILED
                        messages[i] = f"timed out ({self.sync_timeout:.0f}s): {messages[i]}"
                        results[i].update(hookPhase="Failed", message=messages[i])
                    continue
                self.sleep(self.poll_interval)
                for i in step.indexes:
                    phases[i], message = task_progress(tasks[i], self._live_of(tasks[i], names[i]))
                    messages[i] = message or messages[i]
                    results[i].update(hookPhase=phases[i].value,
                                      message=messages[i] or results[i]["message"])
            else:
                succeeded = step.action == "succeeded"
                for i in hooks_to_delete(tasks, phases, succeeded=succeeded):
                    try:
                        self.client.delete(str(tasks[i].obj["apiVersion"]), tasks[i].kind,
                                           names[i], resource_key(tasks[i].obj)[2] or None,
                                           propagation_policy="Background")
                    except ApiError as error:
                        if error.code != 404:
                            raise
                return succeeded, step.message, [results[i] for i in sorted(results)]

    def refusals(self, app: Application, initiated_by: str,
                 groups: Sequence[str] = ()) -> list[str]:
        return list(self.permit(app, initiated_by, groups)) if self.permit else []

    def sync(self, app: Application, *, prune: bool | None = None,
             revisions: Mapping[int, str] | None = None,
             initiated_by: str = "automated", state: AppState | None = None,
             retry_count: int = 0, groups: Sequence[str] = (),
             saved: Mapping[str, Any] | None = None) -> AppState:
        """One sync operation; returns the state observed afterwards (status saved).
        A sync the project does not permit now (sync window, role) raises
        :class:`SyncRefused` and changes nothing."""
        refused = self.refusals(app, initiated_by, groups)
        if refused:
            raise SyncRefused(f"cannot sync {app.name}: " + "; ".join(refused),
                              hint="see the AppProject's syncWindows and roles")
        started = self.clock()
        saved = self.store.load(app.name) if saved is None else saved
        known = saved.get("resources") if "resources" in saved else None
        state = state or self.observe(app, revisions, known=known)
        history = list(saved.get("history") or [])
        if state.desired is None:
            operation = OperationState("Error", state.comparison.message, started, self.clock(),
                                       (), initiated_by)
            self._save(state, operation, history)
            return state
        refusals = list(self.admit(app, state.desired.manifests)) if self.admit else []
        if not state.desired.manifests and not app.sync_policy.allow_empty and \
                any(r.requires_pruning for r in state.comparison.resources):
            refusals.append("the rendered state is empty and allowEmpty is false: "
                            "refusing to prune everything")
        if refusals:
            operation = OperationState("Failed", "; ".join(refusals), started, self.clock(),
                                       state.revisions, initiated_by, retry_count=retry_count)
            self._save(state, operation, history)
            return state
        policy = app.sync_policy
        if policy.option("CreateNamespace"):
            self._ensure_namespace(app.destination.namespace)
        tasks = plan_sync(state.comparison, hooks=state.desired.hooks,
                          prune=policy.prune if prune is None else prune,
                          prune_last=policy.option("PruneLast"),
                          apply_out_of_sync_only=policy.option("ApplyOutOfSyncOnly"))
        # PrunePropagationPolicy=foreground|background|orphan (Argo CD default foreground)
        propagation = policy.options.get("PrunePropagationPolicy", "foreground").lower()
        deadline = self.monotonic() + self.sync_timeout
        ok, message, results = self.execute(tasks, propagation=propagation)
        failed = not ok
        if failed:  # SyncFail hooks run on failure, through the same machine
            fail_tasks = plan_sync(state.comparison, hooks=state.desired.hooks, failed=True)
            if fail_tasks:
                _, _, fail_results = self.execute(
                    fail_tasks, propagation=propagation,
                    timeout=max(deadline - self.monotonic(), self.poll_interval))
                results += fail_results
        operation = OperationState("Failed" if failed else "Succeeded", message, started,
                                   self.clock(), state.revisions, initiated_by, tuple(results),
                                   retry_count)
        if not failed:
            sources = [{"repoURL": s.repo_url, "targetRevision": s.target_revision,
                        **({"path": s.path} if s.path else {}), **({"ref": s.ref} if s.ref else {})}
                       for s in app.sources]
            history = append_history(history, operation, sources, app.revision_history_limit)
        # same revision: no re-render; the kinds to look at are the desired ones and those
        # of the last status (a pruned object's kind is among them)
        after = self.observe(app, desired=state.desired, known=known)
        self._save(after, operation, history)
        return after

    def _save(self, state: AppState, operation: OperationState | None,
              history: Sequence[Mapping[str, Any]],
              conditions: Sequence[Mapping[str, str]] = ()) -> None:
        status = application_status(state.comparison, state.health, revisions=state.revisions,
                                    reconciled_at=self.clock(), resource_healths=state.healths,
                                    operation=operation, history=history,
                                    conditions=conditions)
        self.store.save(state.app.name, status)

    def reconcile(self, app: Application) -> AppState:
        """Observe; auto-sync when the policy says so; save status."""
        saved = self.store.load(app.name)
        state = self.observe(app, known=saved.get("resources") if "resources" in saved else None)
        last = _operation_from(saved)
        policy = app.sync_policy
        go, retry_count, _why = auto_sync_decision(
            out_of_sync=state.comparison.status is SyncStatus.OUT_OF_SYNC,
            automated=policy.automated, self_heal=policy.self_heal, revisions=state.revisions,
            last_revisions=last.revisions if last else (), last_phase=last.phase if last else None,
            last_finished=last.finished_at if last else None,
            retry_count=last.retry_count if last else 0, retry=policy.retry, now=self.clock())
        blocked = self.refusals(app, "automated") if go else []
        if go and state.desired is not None and not blocked:
            return self.sync(app, state=state, retry_count=retry_count, saved=saved)
        # Argo CD does not start an operation a sync window blocks; it says so instead
        conditions = [{"type": "SyncError", "message": f"auto-sync {m}"} for m in blocked]
        self._save(state, last, list(saved.get("history") or []), conditions)
        return state

    def rollback(self, app: Application, history_id: int, *, initiated_by: str,
                 disable_auto_sync: bool = False, groups: Sequence[str] = ()) -> AppState:
        """Sync to the revisions of history entry ``history_id`` (refused under automated sync)."""
        if app.sync_policy.automated and not disable_auto_sync:
            raise RollbackRefused(
                f"rollback of {app.name} is not allowed while automated sync is enabled",
                hint="automated sync would return to git at once; pass --disable-auto-sync, or "
                     "revert the commit in the platform repo")
        saved = self.store.load(app.name)
        entry = next((h for h in saved.get("history") or [] if int(h.get("id", -1)) == history_id),
                     None)
        if entry is None:
            ids = [str(h.get("id")) for h in saved.get("history") or []]
            raise GitOpsError(f"{app.name} has no history entry {history_id}",
                              hint=f"known ids: {', '.join(ids) or 'none'}")
        revisions = dict(enumerate(entry.get("revisions") or [entry.get("revision")]))
        return self.sync(app, revisions=revisions, initiated_by=initiated_by, groups=groups)


def _operation_from(saved: Mapping[str, Any]) -> OperationState | None:
    op = saved.get("operationState")
    if not op:
        return None
    initiated = (op.get("operation") or {}).get("initiatedBy") or {}
    return OperationState(
        op.get("phase", ""), op.get("message", ""), op.get("startedAt", ""),
        op.get("finishedAt", ""), tuple((op.get("syncResult") or {}).get("revisions") or ()),
        "automated" if initiated.get("automated") else str(initiated.get("username", "")),
        tuple((op.get("syncResult") or {}).get("resources") or ()), int(op.get("retryCount", 0)))
