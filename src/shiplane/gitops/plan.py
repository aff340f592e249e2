"""The sync plan: which objects to apply or prune, in Argo CD's order (pure).

Order (gitops-engine ``pkg/sync/sync_tasks.go`` ``syncTasks.Less``): hook phase
(PreSync < Sync < PostSync < SyncFail), then sync wave
(``argocd.argoproj.io/sync-wave``, default 0), then ``kindOrder`` (Helm's install
order; unknown kinds, e.g. custom resources, last), then name. A Namespace is
bubbled up to the phase and wave of the first task inside it (``adjustDeps``).
Prune tasks take their wave from the live object; with ``PruneLast=true`` they
all run after the last wave of the Sync phase. ``ApplyOutOfSyncOnly=true`` drops
apply tasks for resources already Synced. SyncFail hooks run only when the sync
fails; ``Skip`` hooks never. Helm hooks map onto phases as Argo CD maps them
(``docs/user-guide/helm.md``): pre-install/pre-upgrade → PreSync,
post-install/post-upgrade → PostSync, ``helm.sh/hook-weight`` → wave.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shiplane.gitops.diff import Comparison, SyncStatus
from shiplane.gitops.tracking import resource_key

__all__ = ["KIND_ORDER", "Action", "Phase", "SyncTask", "hook_phases", "plan_sync", "sync_wave"]

HOOK_ANNOTATION = "argocd.argoproj.io/hook"
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
HELM_HOOK = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"

# gitops-engine pkg/sync/sync_tasks.go kindOrder
KIND_ORDER: tuple[str, ...] = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
    "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
    "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
    "StatefulSet", "Job", "CronJob", "Ingress", "APIService",
)
_HELM_PHASES = {"pre-install": "PreSync", "pre-upgrade": "PreSync",
                "post-install": "PostSync", "post-upgrade": "PostSync"}


class Phase(str, enum.Enum):
    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"


_PHASE_ORDER = list(Phase)


class Action(str, enum.Enum):
    APPLY = "apply"
    PRUNE = "prune"


@dataclass(frozen=True)
class SyncTask:
    action: Action
    phase: Phase
    wave: int
    obj: Mapping[str, Any]
    hook: bool = False

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", ""))

    def sort_key(self) -> tuple[int, int, int, str]:
        kind_rank = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        return (_PHASE_ORDER.index(self.phase), self.wave, kind_rank, self.name)

    def __str__(self) -> str:
        return f"{self.phase.value}/{self.wave} {self.action.value} {self.kind}/{self.name}"


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def sync_wave(obj: Mapping[str, Any]) -> int:
    annotations = _annotations(obj)
    raw = annotations.get(WAVE_ANNOTATION, annotations.get(HELM_WEIGHT) if HELM_HOOK in
                          annotations and HOOK_ANNOTATION not in annotations else None)
    try:
        return int(str(raw).strip()) if raw is not None else 0
    except ValueError:
        return 0  # Argo CD treats an unparsable wave as 0


def hook_phases(obj: Mapping[str, Any]) -> list[str]:
    """Hook types of ``obj`` (``[]``: a normal resource). Argo's annotation wins over Helm's."""
    annotations = _annotations(obj)
    if HOOK_ANNOTATION in annotations:
        return [p.strip() for p in str(annotations[HOOK_ANNOTATION]).split(",") if p.strip()]
    if HELM_HOOK in annotations:
        helm = [p.strip() for p in str(annotations[HELM_HOOK]).split(",")]
        return list(dict.fromkeys(_HELM_PHASES[h] for h in helm if h in _HELM_PHASES)) or ["Skip"]
    return []


def _prune_allowed(obj: Mapping[str, Any]) -> bool:
    options = str(_annotations(obj).get(OPTIONS_ANNOTATION, ""))
    return "Prune=false" not in [o.strip() for o in options.split(",")]


def plan_sync(
    comparison: Comparison,
    *,
    hooks: Sequence[Mapping[str, Any]] = (),
    prune: bool = False,
    prune_last: bool = False,
    apply_out_of_sync_only: bool = False,
    failed: bool = False,
) -> list[SyncTask]:
    """The ordered tasks of one sync operation.

    ``failed=True`` gives the SyncFail phase's tasks only (run after a failure).
    Prunes appear only with ``prune`` (automated.prune or ``sync --prune``), and
    never for objects annotated ``argocd.argoproj.io/sync-options: Prune=false``.
    """
    tasks: list[SyncTask] = []
    for hook in hooks:
        for name in hook_phases(hook):
            if name in Phase._value2member_map_:
                tasks.append(SyncTask(Action.APPLY, Phase(name), sync_wave(hook), hook, hook=True))
    if failed:
        return sorted((t for t in tasks if t.phase is Phase.SYNC_FAIL), key=SyncTask.sort_key)
    tasks = [t for t in tasks if t.phase is not Phase.SYNC_FAIL]
    prunes: list[SyncTask] = []
    for resource in comparison.resources:
        if resource.requires_pruning:
            if prune and resource.live is not None and _prune_allowed(resource.live):
                prunes.append(SyncTask(Action.PRUNE, Phase.SYNC, sync_wave(resource.live),
                                       resource.live))
            continue
        assert resource.desired is not None
        if apply_out_of_sync_only and resource.status is SyncStatus.SYNCED:
            continue
        tasks.append(SyncTask(Action.APPLY, Phase.SYNC, sync_wave(resource.desired),
                              resource.desired))
    if prune_last and prunes:
        last = max((t.wave for t in tasks if t.phase is Phase.SYNC), default=0)
        prunes = [replace(t, wave=last + 1) for t in prunes]
    ordered = sorted([*tasks, *prunes], key=SyncTask.sort_key)
    return _namespaces_first(ordered)


def _namespaces_first(tasks: list[SyncTask]) -> list[SyncTask]:
    """Move each Namespace before the first task placed in it (sync_tasks.go adjustDeps)."""
    out = list(tasks)
    first_in: dict[str, int] = {}
    index = 0
    while index < len(out):
        task = out[index]
        key = resource_key(task.obj)
        if task.kind == "Namespace" and key[0] == "" and task.action is Action.APPLY:
            target = first_in.get(task.name)
            if target is not None and target < index:
                lead = out[target]
                out.pop(index)
                out.insert(target, replace(task, phase=lead.phase, wave=lead.wave))
                first_in = {ns: (i + 1 if i >= target else i) for ns, i in first_in.items()}
        elif key[2] and key[2] not in first_in:
            first_in[key[2]] = index
        index += 1
    return out
