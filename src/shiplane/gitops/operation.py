"""One sync operation as a state machine over its planned tasks (pure).

After gitops-engine ``pkg/sync/sync_context.go`` (``Sync``): the tasks of
``plan.plan_sync`` run one (phase, wave) group at a time, lowest first. A group
runs only when every task before it has completed successfully:

* a hook (``argocd.argoproj.io/hook``: a Job, a Pod, ...) completes when its live
  object is Healthy (Job ``Complete``, Pod ``Succeeded``) and fails when Degraded
  (Job ``Failed``, Pod ``Failed``); a hook kind without a health rule completes at once;
* an applied resource completes when Healthy (or it has no health rule) and fails
  when Degraded — except in the *final* group, whose non-hook resources complete on
  apply ("if it is the last phase/wave and the only remaining tasks are non-hooks,
  then we are successful EVEN if those objects subsequently degraded"). So PostSync
  hooks run only after every Sync-phase resource is Healthy;
* a prune completes when the delete is accepted.

A failed task fails the operation; its SyncFail hooks then run (``plan_sync(...,
failed=True)``) through the same machine. Hook delete policies
(``argocd.argoproj.io/hook-delete-policy``, or Helm's ``helm.sh/hook-delete-policy``):
``BeforeHookCreation`` (the default when none is set) deletes a named hook's previous
object before creating it again; ``HookSucceeded`` / ``HookFailed`` delete the hook
objects when the operation (phase) ends successfully / unsuccessfully — as
sync_context.go's ``hooksPendingDeletionSuccessful`` / ``hooksPendingDeletionFailed``.

After applying a group that is not the final one (and nothing in it failed to apply),
the operation pauses ``ARGOCD_SYNC_WAVE_DELAY`` seconds (default 2) before assessing
health, so other controllers see the new spec first (argo-cd ``controller/sync.go``
``delayBetweenSyncWaves``, a gitops-engine ``SyncWaveHook``; argo-cd #4669).

The operation survives a controller restart: its progress is the list of
``syncResult.resources`` saved on the Application (``status.operationState``, phase
Running). ``restore`` maps those results back onto the tasks planned again at the
operation's revisions — as gitops-engine's ``WithInitialState`` enriches each task
with its result (``syncRes[task.resultKey()]``) — so completed tasks are not run
again and running ones are waited for.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.gitops.health import HealthStatus, resource_health
from shiplane.gitops.plan import Action, SyncTask
from shiplane.gitops.tracking import resource_key

__all__ = [
    "BEFORE_HOOK_CREATION",
    "DEFAULT_SYNC_WAVE_DELAY",
    "HOOK_FAILED",
    "HOOK_SUCCEEDED",
    "SYNC_WAVE_DELAY_ENV",
    "Progress",
    "Step",
    "TaskPhase",
    "delete_policies",
    "hooks_to_delete",
    "next_step",
    "recreate_first",
    "restore",
    "sync_wave_delay",
    "task_progress",
]

# argo-cd controller/sync.go EnvVarSyncWaveDelay; delayBetweenSyncWaves defaults to 2 s
SYNC_WAVE_DELAY_ENV = "ARGOCD_SYNC_WAVE_DELAY"
DEFAULT_SYNC_WAVE_DELAY = 2.0

DELETE_POLICY_ANNOTATION = "argocd.argoproj.io/hook-delete-policy"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"
HOOK_SUCCEEDED, HOOK_FAILED, BEFORE_HOOK_CREATION = "HookSucceeded", "HookFailed", \
    "BeforeHookCreation"
_HELM_POLICIES = {"hook-succeeded": HOOK_SUCCEEDED, "hook-failed": HOOK_FAILED,
                  "before-hook-creation": BEFORE_HOOK_CREATION}
_PHASES = ("PreSync", "Sync", "PostSync", "SyncFail")


class TaskPhase(str, enum.Enum):
    """A task's ``common.OperationPhase`` (Pending: not started yet)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class Step:
    """What the operation does next: ``apply`` the tasks at ``indexes`` (``final``: the
    last group, non-hooks complete on apply), ``wait`` for the running ones, or end
    ``succeeded`` / ``failed``."""

    action: str
    indexes: tuple[int, ...] = ()
    final: bool = False
    message: str = ""


def delete_policies(obj: Mapping[str, Any]) -> frozenset[str]:
    """The hook delete policies of ``obj``; none set means BeforeHookCreation
    (gitops-engine ``pkg/sync/hook/delete_policy.go``)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    policies: set[str] = set()
    for raw in str(annotations.get(DELETE_POLICY_ANNOTATION, "")).split(","):
        if raw.strip() in (HOOK_SUCCEEDED, HOOK_FAILED, BEFORE_HOOK_CREATION):
            policies.add(raw.strip())
    for raw in str(annotations.get(HELM_DELETE_POLICY, "")).split(","):
        if raw.strip() in _HELM_POLICIES:
            policies.add(_HELM_POLICIES[raw.strip()])
    return frozenset(policies or {BEFORE_HOOK_CREATION})


def recreate_first(task: SyncTask) -> bool:
    """A named hook whose previous object must be deleted before it is created again."""
    named = bool((task.obj.get("metadata") or {}).get("name"))
    return task.hook and named and BEFORE_HOOK_CREATION in delete_policies(task.obj)


def _describe(task: SyncTask) -> str:
    group, kind, _namespace, name = resource_key(task.obj)
    return f"{group + '/' if group else ''}{kind}/{name}"


def task_progress(task: SyncTask, live: Mapping[str, Any] | None) -> tuple[TaskPhase, str]:
    """Whether an applied task has completed, judged on its live object."""
    if task.action is Action.PRUNE:
        return TaskPhase.SUCCEEDED, "pruned"
    if live is None:
        return TaskPhase.RUNNING, f"waiting for {_describe(task)} to appear"
    health = resource_health(live)
    if health is None or health.status is HealthStatus.HEALTHY:
        return TaskPhase.SUCCEEDED, health.message if health else ""
    if health.status is HealthStatus.DEGRADED:
        return TaskPhase.FAILED, health.message or f"{_describe(task)} is Degraded"
    what = "completion of hook" if task.hook else "healthy state of"
    return TaskPhase.RUNNING, f"waiting for {what} {_describe(task)}"


def _group(task: SyncTask) -> tuple[int, int]:
    return _PHASES.index(task.phase.value), task.wave


def next_step(tasks: Sequence[SyncTask], phases: Sequence[TaskPhase],
              messages: Sequence[str] = ()) -> Step:
    """The next step of the operation given each task's phase so far."""
    if len(tasks) != len(phases):
        raise ValueError("one phase per task is needed")
    failed = tuple(i for i, p in enumerate(phases) if p is TaskPhase.FAILED)
    if failed:
        detail = next((messages[i] for i in failed if i < len(messages) and messages[i]), "")
        return Step("failed", failed, message="one or more synchronization tasks completed "
                    "unsuccessfully" + (f": {detail}" if detail else ""))
    running = tuple(i for i, p in enumerate(phases) if p is TaskPhase.RUNNING)
    if running:
        return Step("wait", running, message=next(
            (messages[i] for i in running if i < len(messages) and messages[i]),
            f"waiting for {_describe(tasks[running[0]])}"))
    pending = [i for i, p in enumerate(phases) if p is TaskPhase.PENDING]
    if not pending:
        return Step("succeeded", message="successfully synced (all tasks run)")
    first = min(_group(tasks[i]) for i in pending)
    last = max(_group(tasks[i]) for i in pending)
    group = tuple(i for i in pending if _group(tasks[i]) == first)
    return Step("apply", group, final=first == last)


def hooks_to_delete(tasks: Sequence[SyncTask], phases: Sequence[TaskPhase], *,
                    succeeded: bool) -> list[int]:
    """Hooks that ran whose policy deletes them now the operation ended this way."""
    policy = HOOK_SUCCEEDED if succeeded else HOOK_FAILED
    return [i for i, (task, phase) in enumerate(zip(tasks, phases, strict=True))
            if task.hook and phase in (TaskPhase.SUCCEEDED, TaskPhase.FAILED)
            and policy in delete_policies(task.obj)]


def sync_wave_delay(environ: Mapping[str, str] | None = None) -> float:
    """Seconds to pause after each non-final group: ``ARGOCD_SYNC_WAVE_DELAY`` or 2.

    Argo CD parses whole seconds (``strconv.Atoi``) and keeps the default on a bad
    value; a fraction (``0.3``) is accepted here too, so tests can keep syncs short."""
    raw = (os.environ if environ is None else environ).get(SYNC_WAVE_DELAY_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_SYNC_WAVE_DELAY
    except ValueError:
        return DEFAULT_SYNC_WAVE_DELAY
    return value if value >= 0 else DEFAULT_SYNC_WAVE_DELAY


@dataclass
class Progress:
    """Where an operation stands: a phase and message per task, the result reported for
    each task started so far (by task index), the live name of each, and ``carried``:
    saved results that match no task any more (an object pruned, or applied and now
    Synced under ApplyOutOfSyncOnly), kept in ``syncResult`` as they were."""

    phases: list[TaskPhase]
    messages: list[str]
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    carried: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def fresh(cls, count: int) -> Progress:
        return cls([TaskPhase.PENDING] * count, [""] * count)

    def reported(self) -> list[dict[str, Any]]:
        return [*self.carried, *(self.results[i] for i in sorted(self.results))]


def _result_key(result: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(result.get("group", "")), str(result.get("kind", "")),
            str(result.get("namespace", "")), str(result.get("syncPhase", "")))


def restore(tasks: Sequence[SyncTask], saved: Sequence[Mapping[str, Any]]) -> Progress:
    """The progress of an interrupted operation: each task takes the phase of its saved
    result (same group/kind/namespace/name and sync phase; a ``generateName`` hook the
    result whose name starts with that prefix); tasks without one are Pending."""
    progress = Progress.fresh(len(tasks))
    unused = [dict(r) for r in saved]
    for index, task in enumerate(tasks):
        group, kind, namespace, name = resource_key(task.obj)
        prefix = str((task.obj.get("metadata") or {}).get("generateName") or "")
        for position, result in enumerate(unused):
            if _result_key(result) != (group, kind, namespace, task.phase.value):
                continue
            found = str(result.get("name", ""))
            if found == name if name else (prefix and found.startswith(prefix)):
                break
        else:
            continue
        result = unused.pop(position)
        try:
            phase = TaskPhase(result.get("hookPhase") or TaskPhase.RUNNING.value)
        except ValueError:
            phase = TaskPhase.RUNNING  # e.g. Error/Terminating: judge it on the live object
        progress.phases[index], progress.messages[index] = phase, str(result.get("message", ""))
        progress.results[index], progress.names[index] = result, found
    progress.carried = unused
    return progress
