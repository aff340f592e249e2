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
   the plan (``plan``) is executed group by group (``operation``: phase, then wave;
   ``executor`` does the I/O), waiting after each group until its resources are Healthy
   and its hooks completed (poll every ``poll_interval`` s, fail after ``sync_timeout``
   s, ``sync_wave_delay`` s pause after each non-final group); prunes delete; hook
   delete policies apply; on failure the SyncFail hooks run;
5. status (sync, health, operationState, history, resources) is saved to a
   :class:`StatusStore` — the Application object when the CRD is served. The
   operation is saved as Running before its first apply and after every change, so
   a controller that stops mid-operation leaves it there and the next one resumes it
   (``reconcile`` → ``resume``) instead of starting over or dropping it.

Apply mode ``server-side`` uses server-side apply with field manager
``shiplane-gitops`` (force, as Argo CD's ServerSideApply=true does). Mode
``update`` (create, or replace with the live resourceVersion) exists for API
servers without server-side apply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.gitops.application import Application
from shiplane.gitops.desired import CLUSTER_SCOPED, DesiredState, SourceResolver, render_application
from shiplane.gitops.diff import FIELD_MANAGER, Comparison, SyncStatus, compare
from shiplane.gitops.errors import GitOpsError, RollbackRefused, SyncRefused
from shiplane.gitops.executor import SyncExecutor
from shiplane.gitops.health import Health, HealthStatus, app_health, resource_health
from shiplane.gitops.live import LiveCache
from shiplane.gitops.operation import restore, sync_wave_delay
from shiplane.gitops.plan import Phase, plan_sync
from shiplane.gitops.retry import auto_sync_decision
from shiplane.gitops.status import OperationState, StatusStore, append_history, application_status
from shiplane.gitops.tracking import owned_by, resource_key
from shiplane.kube import KubeClient, KubeError

__all__ = ["FIELD_MANAGER", "AppState", "LiveCache", "Reconciler"]

# Kinds listed for pruning besides those in git (what service charts produce).
PRUNABLE: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
)


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


class Reconciler(SyncExecutor):
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
        sync_wave_delay: float | None = None,
        interrupted: Callable[[], bool] = lambda: False,
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
        # pause after each non-final group (None: ARGOCD_SYNC_WAVE_DELAY, default 2 s)
        self.sync_wave_delay = sync_wave_delay_from(sync_wave_delay)
        # true when the controller stops: a waiting operation is left Running (executor.py)
        self.interrupted = interrupted
        self._active: set[str] = set()  # apps with an operation running in this process
        self._active_lock = threading.Lock()
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
        :class:`SyncRefused` and changes nothing; so does one while another operation of
        the app runs in this process ("another operation is already in progress")."""
        refused = self.refusals(app, initiated_by, groups)
        if refused:
            raise SyncRefused(f"cannot sync {app.name}: " + "; ".join(refused),
                              hint="see the AppProject's syncWindows and roles")
        with self._operation(app.name):
            started = self.clock()
            saved = self.store.load(app.name) if saved is None else saved
            known = saved.get("resources") if "resources" in saved else None
            state = state or self.observe(app, revisions, known=known)
            history = list(saved.get("history") or [])
            if state.desired is None:
                operation = OperationState("Error", state.comparison.message, started,
                                           self.clock(), (), initiated_by)
                self._save(state, operation, history)
                return state
            refusals = list(self.admit(app, state.desired.manifests)) if self.admit else []
            if not state.desired.manifests and not app.sync_policy.allow_empty and \
                    any(r.requires_pruning for r in state.comparison.resources):
                refusals.append("the rendered state is empty and allowEmpty is false: "
                                "refusing to prune everything")
            if refusals:
                operation = OperationState("Failed", "; ".join(refusals), started, self.clock(),
                                           state.revisions, initiated_by,
                                           retry_count=retry_count)
                self._save(state, operation, history)
                return state
            if app.sync_policy.option("CreateNamespace"):
                self._ensure_namespace(app.destination.namespace)
            operation = OperationState(
                "Running", "one or more tasks are running", started, "", state.revisions,
                initiated_by, (), retry_count,
                app.sync_policy.prune if prune is None else prune)
            self._save(state, operation, history)  # durable before the first apply
            return self._run(app, state, operation, history, known)

    def resume(self, app: Application, saved: Mapping[str, Any]) -> AppState:
        """Carry on with the operation a previous controller left Running in ``saved``
        (argo-cd ``processRequestedAppOperation``, "Resuming in-progress operation"): the
        same revisions, tasks already completed not run again, running ones waited for,
        the timeout counted from the operation's start."""
        operation = OperationState.from_status(saved)
        assert operation is not None and operation.running
        with self._operation(app.name):
            known = saved.get("resources") if "resources" in saved else None
            history = list(saved.get("history") or [])
            state = self.observe(app, dict(enumerate(operation.revisions)), known=known)
            if state.desired is None:
                self._save(state, _ended(operation, "Error", state.comparison.message,
                                         self.clock()), history)
                return state
            return self._run(app, state, operation, history, known, resumed=True)

    def _elapsed(self, started: str) -> float:
        try:
            parse = [dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ") for t in (started,
                                                                          self.clock())]
        except ValueError:
            return 0.0  # a clock that is not a timestamp (tests): a full timeout
        return max(0.0, (parse[1] - parse[0]).total_seconds())

    def _run(self, app: Application, state: AppState, operation: OperationState,
             history: list[dict[str, Any]], known: Sequence[Mapping[str, Any]] | None, *,
             resumed: bool = False) -> AppState:
        """Execute the operation's tasks (from its saved results when ``resumed``), then
        the SyncFail hooks on failure; save progress as it goes and the end state."""
        assert state.desired is not None
        policy = app.sync_policy
        tasks = plan_sync(state.comparison, hooks=state.desired.hooks,
                          prune=bool(policy.prune if operation.prune is None else
                                     operation.prune),
                          prune_last=policy.option("PruneLast"),
                          apply_out_of_sync_only=policy.option("ApplyOutOfSyncOnly"))
        fail_tasks = plan_sync(state.comparison, hooks=state.desired.hooks, failed=True)
        saved = [r for r in operation.results if r.get("syncPhase") != Phase.SYNC_FAIL.value]
        fails = [r for r in operation.results if r.get("syncPhase") == Phase.SYNC_FAIL.value]
        progress = restore(tasks, saved) if resumed else None
        fail_progress = restore(fail_tasks, fails) if resumed else None
        # PrunePropagationPolicy=foreground|background|orphan (Argo CD default foreground)
        propagation = policy.options.get("PrunePropagationPolicy", "foreground").lower()
        timeout = max(self.sync_timeout - self._elapsed(operation.started_at),
                      self.poll_interval) if resumed else self.sync_timeout
        deadline = self.monotonic() + timeout
        done: list[dict[str, Any]] = []

        def save_progress(results: list[dict[str, Any]]) -> None:
            running = dataclasses.replace(operation, phase="Running", results=tuple(
                [*done, *results]), message="one or more tasks are running")
            self._save(state, running, history)

        ok, message, results = self.execute(tasks, propagation=propagation, timeout=timeout,
                                            progress=progress, on_progress=save_progress)
        if not ok and fail_tasks:  # SyncFail hooks run on failure, through the same machine
            done = list(results)
            _, _, fail_results = self.execute(
                fail_tasks, propagation=propagation, progress=fail_progress,
                on_progress=save_progress, wave_delay=0.0,  # executeSyncFailPhase: no delay
                timeout=max(deadline - self.monotonic(), self.poll_interval))
            results = [*results, *fail_results]
        operation = _ended(dataclasses.replace(operation, results=tuple(results)),
                           "Succeeded" if ok else "Failed", message, self.clock())
        if ok:
            sources = [{"repoURL": s.repo_url, "targetRevision": s.target_revision,
                        **({"path": s.path} if s.path else {}), **({"ref": s.ref} if s.ref else {})}
                       for s in app.sources]
            history = append_history(history, operation, sources, app.revision_history_limit)
        # same revision: no re-render; the kinds to look at are the desired ones and those
        # of the last status (a pruned object's kind is among them)
        after = self.observe(app, desired=state.desired, known=known)
        self._save(after, operation, history)
        return after

    @contextlib.contextmanager
    def _operation(self, name: str) -> Iterator[None]:
        with self._active_lock:
            if name in self._active:
                raise SyncRefused(f"cannot sync {name}: another operation is already in "
                                  "progress", hint="wait for it to finish")
            self._active.add(name)
        try:
            yield
        finally:
            with self._active_lock:
                self._active.discard(name)

    def _save(self, state: AppState, operation: OperationState | None,
              history: Sequence[Mapping[str, Any]],
              conditions: Sequence[Mapping[str, str]] = ()) -> None:
        status = application_status(state.comparison, state.health, revisions=state.revisions,
                                    reconciled_at=self.clock(), resource_healths=state.healths,
                                    operation=operation, history=history,
                                    conditions=conditions)
        self.store.save(state.app.name, status)

    def reconcile(self, app: Application) -> AppState:
        """Resume an operation left Running; else observe, auto-sync when the policy says
        so, and save status."""
        saved = self.store.load(app.name)
        known = saved.get("resources") if "resources" in saved else None
        last = OperationState.from_status(saved)
        with self._active_lock:
            busy = app.name in self._active
        if busy:  # its operation runs on another thread of this process: just look
            return self.observe(app, known=known)
        if last is not None and last.running:
            return self.resume(app, saved)
        state = self.observe(app, known=known)
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


def _ended(operation: OperationState, phase: str, message: str, now: str) -> OperationState:
    return dataclasses.replace(operation, phase=phase, message=message, finished_at=now)


def sync_wave_delay_from(value: float | None) -> float:
    """The delay between sync waves: ``value``, else ``ARGOCD_SYNC_WAVE_DELAY`` (2 s)."""
    return sync_wave_delay() if value is None else max(0.0, float(value))
