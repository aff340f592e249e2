"""Running a sync operation's tasks against a cluster: the I/O half of ``operation``.

:class:`SyncExecutor` applies (server-side apply with field manager
``shiplane-gitops``, or create/replace) and prunes the tasks of ``plan.plan_sync`` one
group at a time as ``operation.next_step`` decides, polls the live objects of the
running tasks every ``poll_interval`` s until they complete (fails them after the
timeout), pauses ``sync_wave_delay`` s after each non-final group (argo-cd
``controller/sync.go`` ``delayBetweenSyncWaves``), and reports its progress after every
change (``on_progress``) so the caller can keep it in ``status.operationState``. When
``interrupted()`` turns true (the controller is stopping) it raises
:class:`OperationInterrupted` and leaves the operation Running, to be resumed from the
saved progress (``operation.restore``) by the next controller.

A dry run (a requested operation's ``sync.dryRun``) sends every apply with
``dryRun=All`` and deletes nothing; each task succeeds once the API server accepts it,
so no group waits (gitops-engine ``sync_context.go``: "no resources are created in
dry-run, so running phase means validation was successful"; ``pruneObject``:
"pruned (dry run)").

``terminating()`` (checked before each step: a group, a wait, the end) ends the operation as
gitops-engine's ``Terminate``: running hooks are deleted ("Deleted"), the result is
``operation.TERMINATED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shiplane.gitops.diff import FIELD_MANAGER
from shiplane.gitops.errors import GitOpsError, OperationInterrupted
from shiplane.gitops.operation import (
    TERMINATED,
    Progress,
    TaskPhase,
    hooks_to_delete,
    next_step,
    recreate_first,
    task_progress,
)
from shiplane.gitops.plan import Action, SyncTask
from shiplane.gitops.tracking import resource_key
from shiplane.kube import KubeClient, KubeError, ensure_namespace
from shiplane.kube.errors import ApiError

__all__ = ["SyncExecutor"]


class SyncExecutor:
    """The act half of the reconciler (``Reconciler`` extends it)."""

    client: KubeClient
    apply_mode: str
    live_cache: Any
    sync_timeout: float
    poll_interval: float
    sync_wave_delay: float
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    interrupted: Callable[[], bool]

    def _apply(self, obj: Mapping[str, Any], dry_run: bool = False) -> tuple[str, dict[str, Any]]:
        dry = {"dry_run": True} if dry_run else {}
        if not (obj.get("metadata") or {}).get("name"):
            # a hook with generateName: a new object every sync
            return "created", self.client.create(obj, **dry)
        if self.apply_mode == "server-side":
            return "configured", self.client.apply(obj, field_manager=FIELD_MANAGER, force=True,
                                                   **dry)
        meta = obj.get("metadata") or {}
        try:
            live = self.client.get(obj["apiVersion"], obj["kind"], meta["name"],
                                   meta.get("namespace"))
        except ApiError as error:
            if error.code != 404:
                raise
            return "created", self.client.create(obj, **dry)
        if dry_run:  # replace has no dry run here: the object exists and would be replaced
            return "configured", live
        body = {**obj, "metadata": {**meta, "resourceVersion":
                                    live["metadata"]["resourceVersion"]}}
        return "configured", self.client.replace(body)

    def _ensure_namespace(self, namespace: str) -> None:
        if self.live_cache is not None and namespace in self.live_cache.namespaces:
            return  # seen during this pass
        ensure_namespace(self.client, namespace)
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
               deadline: float, dry_run: bool = False) -> tuple[TaskPhase, dict[str, Any], str]:
        """Apply or prune one task; returns its phase, result and live name."""
        name = task.name
        result = self._result(task, name)
        try:
            if dry_run:
                if task.action is Action.PRUNE:
                    message = "pruned (dry run)"
                    result.update(status="Pruned")
                else:
                    verb, live = self._apply(task.obj, dry_run=True)
                    name = str((live.get("metadata") or {}).get("name") or name)
                    message = f"{task.kind.lower()}/{name} {verb} (dry run)"
                result.update(name=name, message=message, hookPhase=TaskPhase.SUCCEEDED.value)
                return TaskPhase.SUCCEEDED, result, name
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

    def _stop_if_interrupted(self) -> None:
        if self.interrupted():
            raise OperationInterrupted(
                "the controller is stopping: the operation stays Running in the "
                "Application's status and resumes when a controller starts again")

    def _terminate(self, tasks: Sequence[SyncTask], state: Progress) -> None:
        """Delete the hooks still running (sync_context.go ``Terminate``)."""
        for i, task in enumerate(tasks):
            if not task.hook or state.phases[i] is not TaskPhase.RUNNING:
                continue
            try:
                self.client.delete(str(task.obj["apiVersion"]), task.kind, state.names[i],
                                   resource_key(task.obj)[2] or None,
                                   propagation_policy="Background")
            except ApiError as error:
                if error.code != 404:
                    state.results[i].update(hookPhase=TaskPhase.FAILED.value,
                                            message=f"Failed to delete: {error}")
                    continue
            state.phases[i] = TaskPhase.SUCCEEDED
            state.results[i].update(hookPhase=TaskPhase.SUCCEEDED.value, message="Deleted")

    def execute(self, tasks: Sequence[SyncTask], *, propagation: str = "foreground",
                timeout: float | None = None, progress: Progress | None = None,
                on_progress: Callable[[list[dict[str, Any]]], None] | None = None,
                wave_delay: float | None = None, dry_run: bool = False,
                terminating: Callable[[], bool] | None = None,
                ) -> tuple[bool, str, list[dict[str, Any]]]:
        """Run ``tasks`` group by group (``operation.next_step``), waiting between waves and
        phases for health / hook completion, from ``progress`` (a resumed operation) or
        from the start. ``on_progress`` gets the results so far after each change.
        ``dry_run``: validate every task with the API server, change nothing.
        Returns (succeeded, message, resource results)."""
        deadline = self.monotonic() + (self.sync_timeout if timeout is None else timeout)
        delay = 0.0 if dry_run else self.sync_wave_delay if wave_delay is None else wave_delay
        tasks = list(tasks)
        state = progress or Progress.fresh(len(tasks))
        phases, messages, results, names = state.phases, state.messages, state.results, \
            state.names
        reported = [dict(r) for r in state.reported()]  # what the caller saved already

        def report() -> None:
            """Hand the results so far to ``on_progress`` before anything that may take
            long (the next group, a wait); the end state is the caller's to save."""
            nonlocal reported
            now = state.reported()
            if on_progress is not None and now != reported:
                on_progress([dict(r) for r in now])
            reported = [dict(r) for r in now]

        while True:
            step = next_step(tasks, phases, messages)
            if terminating is not None and terminating():  # sync.go: Terminate, not Sync
                self._terminate(tasks, state)
                return False, TERMINATED, state.reported()
            if step.action == "apply":
                report()
                for i in step.indexes:
                    phases[i], results[i], names[i] = self._start(tasks[i], step.final,
                                                                  propagation, deadline,
                                                                  dry_run)
                    messages[i] = results[i]["message"]
                    if phases[i] is TaskPhase.FAILED:
                        break  # later tasks depend on this one (gitops-engine stops too)
                applied = all(phases[i] is not TaskPhase.FAILED for i in step.indexes)
                if applied and not step.final and delay > 0:
                    report()
                    self.sleep(delay)  # delayBetweenSyncWaves: not after the final wave
            elif step.action == "wait":
                report()
                self._stop_if_interrupted()
                if self.monotonic() >= deadline:
                    for i in step.indexes:
                        phases[i] = TaskPhase.FAILED
                        messages[i] = f"timed out ({self.sync_timeout:.0f}s): {messages[i]}"
                        results[i].update(hookPhase="Failed", message=messages[i])
                    continue
                self.sleep(self.poll_interval)
                self._stop_if_interrupted()
                for i in step.indexes:
                    live = self._live_of(tasks[i], names[i])
                    if live is not None and self.live_cache is not None and not tasks[i].hook:
                        self.live_cache.update(live)  # the status observed after the sync
                    phases[i], message = task_progress(tasks[i], live)
                    messages[i] = message or messages[i]
                    results[i].update(hookPhase=phases[i].value,
                                      message=messages[i] or results[i]["message"])
            else:
                succeeded = step.action == "succeeded"
                for i in [] if dry_run else hooks_to_delete(tasks, phases, succeeded=succeeded):
                    try:
                        self.client.delete(str(tasks[i].obj["apiVersion"]), tasks[i].kind,
                                           names[i], resource_key(tasks[i].obj)[2] or None,
                                           propagation_policy="Background")
                    except ApiError as error:
                        if error.code != 404:
                            raise
                return succeeded, step.message, state.reported()
