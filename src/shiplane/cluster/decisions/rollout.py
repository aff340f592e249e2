"""The Deployment controller's sync as one pure function (k8s pkg/controller/deployment:
deployment_controller.go syncDeployment, sync.go, rolling.go, recreate.go, progress.go).

Theory of operation: ``plan_deployment(deployment, replicasets, pods, now)`` replays exactly one
upstream ``syncDeployment`` call over copies of the objects and records what it would write:
``CreateReplicaSet``, ``UpdateReplicaSet`` (full object: replicas, annotations, minReadySeconds),
``DeleteReplicaSet``, ``UpdateDeployment`` (revision annotation + status, at most one) and the
events. The executor applies the actions in order and re-runs the plan on the next watch event
or after ``requeue_after`` seconds, so, like upstream, each call moves the rollout one step:
scale up first; if nothing scaled up, scale down old ReplicaSets; then update status.

``replicasets`` are the ReplicaSets the Deployment controls (ownerReference adoption is the
executor's job); ``pods`` are their pods (Recreate waits until old ones are gone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions import rollout_progress as progress
from shiplane.cluster.decisions import rollout_scaling as scaling
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.copying import copy_object
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.rollout_progress import calculate_status
from shiplane.cluster.decisions.rollout_scaling import active
from shiplane.cluster.decisions.template_hash import new_replicaset

__all__ = [
    "CreateReplicaSet",
    "DeleteReplicaSet",
    "DeploymentPlan",
    "Event",
    "UpdateDeployment",
    "UpdateReplicaSet",
    "calculate_status",
    "on_create_conflict",
    "on_create_failed",
    "plan_deployment",
]

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class CreateReplicaSet:
    replicaset: dict


@dataclass(frozen=True)
class UpdateReplicaSet:
    replicaset: dict


@dataclass(frozen=True)
class DeleteReplicaSet:
    name: str


@dataclass(frozen=True)
class UpdateDeployment:
    """New metadata.annotations and status (upstream writes both through UpdateStatus)."""

    annotations: dict
    status: dict


@dataclass(frozen=True)
class DeploymentPlan:
    actions: tuple = ()
    events: tuple = ()
    requeue_after: float | None = None  # seconds; requeueStuckDeployment
    new_replicaset: str | None = None
    # the sync stopped with this error after ``actions`` (no status write): the executor
    # retries with back-off, as upstream's handleErr requeues a failed syncDeployment
    error: str | None = None


class _SyncError(Exception):
    """Upstream's syncDeployment returns an error: the writes so far stay, nothing else."""


def _name(obj: Obj) -> str:
    return (obj.get("metadata") or {}).get("name", "")


class _Sync:
    def __init__(
        self, deployment: Obj, replicasets: Sequence[Obj], pods: Sequence[Obj], now: datetime
    ):
        self.d: dict = copy_object(dict(deployment))
        self.d.setdefault("metadata", {}).setdefault("annotations", {})
        self.d.setdefault("status", {})
        self.original = copy_object(dict(deployment))
        self.rss: list[dict] = [copy_object(dict(rs)) for rs in replicasets]
        self.pods = pods
        self.now = now
        self.actions: list = []
        self.events: list[Event] = []
        self.requeue: float | None = None
        self.new_status: dict | None = None

    # ------------------------------------------------------------ replica set bookkeeping
    def _emit_update(self, rs: dict) -> None:
        self.actions.append(UpdateReplicaSet(copy_object(rs)))

    def find_new(self) -> dict | None:
        """FindNewReplicaSet: the oldest RS whose template equals the Deployment's."""
        template = self.d["spec"]["template"]
        for rs in du.sort_by_creation(self.rss):
            if du.equal_ignore_hash(rs["spec"]["template"], template):
                return rs
        return None

    def get_all(self, create: bool) -> tuple[dict | None, list[dict]]:
        """getAllReplicaSetsAndSyncRevision."""
        new_rs = self.find_new()
        old = [rs for rs in self.rss if rs is not new_rs]
        return self.get_new(new_rs, old, create), old

    def get_new(self, existing: dict | None, old: list[dict], create: bool) -> dict | None:
        d = self.d
        new_revision = du.max_revision(old) + 1
        if existing is not None:
            changed = du.set_new_replica_set_annotations(d, existing, new_revision, True)
            min_ready = int(d["spec"].get("minReadySeconds") or 0)
            if int(existing["spec"].get("minReadySeconds") or 0) != min_ready:
                existing["spec"]["minReadySeconds"] = min_ready
                changed = True
            if changed:
                self._emit_update(existing)
            rev = existing["metadata"]["annotations"].get(du.REVISION_ANNOTATION)
            if rev is not None:
                d["metadata"]["annotations"][du.REVISION_ANNOTATION] = rev
            if du.has_progress_deadline(d) and du.get_condition(d["status"], "Progressing") is None:
                message = f'Found new replica set "{_name(existing)}"'
                cond = du.new_condition(
                    "Progressing", "True", "FoundNewReplicaSet", message, self.now
                )
                du.set_condition(d["status"], cond)
            return existing
        if not create:
            return None
        return self.create_new(old, new_revision)

    def create_new(self, old: list[dict], new_revision: int) -> dict | None:
        d = self.d
        new_rs = new_replicaset(d, d["status"].get("collisionCount"))
        name = _name(new_rs)
        if any(_name(rs) == name for rs in self.rss):
            # sync.go: same name, different template → bump collisionCount and retry
            d["status"]["collisionCount"] = int(d["status"].get("collisionCount") or 0) + 1
            self.requeue = 0.0
            return None
        count = du.new_rs_new_replicas(d, [*old, new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        du.set_new_replica_set_annotations(d, new_rs, new_revision, False)
        self.actions.append(CreateReplicaSet(copy_object(new_rs)))
        new_rs["metadata"]["creationTimestamp"] = format_time(self.now)
        self.rss.append(new_rs)
        if count > 0:
            message = f"Scaled up replica set {name} from 0 to {count}"
            self.events.append(Event("Normal", "ScalingReplicaSet", message))
        d["metadata"]["annotations"][du.REVISION_ANNOTATION] = str(new_revision)
        if du.has_progress_deadline(d):
            message = f'Created new replica set "{name}"'
            cond = du.new_condition(
                "Progressing", "True", "NewReplicaSetCreated", message, self.now
            )
            du.set_condition(d["status"], cond)
        return new_rs

    def scale_rs(self, rs: dict, new_scale: int) -> bool:
        """scaleReplicaSet(AndRecordEvent): size + desired/max annotations, event on size change."""
        old_scale = du.replicas_of(rs)
        size_changed = old_scale != new_scale
        desired = du.replicas_of(self.d)
        maximum = desired + du.max_surge(self.d)
        if not size_changed and not du.replicas_annotations_need_update(rs, desired, maximum):
            return False
        rs["spec"]["replicas"] = new_scale
        du.set_replicas_annotations(rs, desired, maximum)
        self._emit_update(rs)
        if size_changed:
            op = "up" if old_scale < new_scale else "down"
            message = f"Scaled {op} replica set {_name(rs)} from {old_scale} to {new_scale}"
            self.events.append(Event("Normal", "ScalingReplicaSet", message))
        return size_changed

    def scale_and_record(self, rs: dict, new_scale: int) -> bool:
        if du.replicas_of(rs) == new_scale:
            return False
        return self.scale_rs(rs, new_scale)

    # ------------------------------------------------------------ status
    def sync_status(self, all_rss: Sequence[dict | None], new_rs: dict | None) -> None:
        """syncDeploymentStatus: status without progress estimation (scaling, paused)."""
        self.new_status = progress.status_with_availability(all_rss, new_rs, self.d, self.now)

    def sync_rollout_status(self, all_rss: Sequence[dict | None], new_rs: dict | None) -> None:
        self.new_status = progress.rollout_status_update(self.d, all_rss, new_rs, self.now)
        requeue = progress.requeue_after(self.d, self.new_status, self.now)
        if requeue is not None:
            self.requeue = requeue if self.requeue is None else min(self.requeue, requeue)

    # ------------------------------------------------------------ strategies
    def cleanup(self, old: list[dict]) -> None:
        """cleanupDeployment: delete the oldest revisions beyond revisionHistoryLimit."""
        limit = self.d["spec"].get("revisionHistoryLimit", 10)
        if limit is None:
            return
        cleanable = [rs for rs in old if not rs["metadata"].get("deletionTimestamp")]
        diff = len(cleanable) - int(limit)
        if diff <= 0:
            return
        ordered = sorted(cleanable, key=lambda rs: (du.revision(rs), du._created(rs)))
        for rs in ordered[:diff]:
            busy = (
                du.status_int(rs, "replicas") != 0
                or du.replicas_of(rs) != 0
                or int(rs["metadata"].get("generation") or 0)
                > du.status_int(rs, "observedGeneration")
            )
            if not busy:
                self.actions.append(DeleteReplicaSet(_name(rs)))
                self.rss.remove(rs)

    def rollout_rolling(self) -> None:
        new_rs, old = self.get_all(create=True)
        if new_rs is None:  # hash collision: status carries the bumped collisionCount
            self.new_status = self.d["status"]
            return
        all_rss = [*old, new_rs]
        # upstream scales copies, so the status of this sync sees the sizes from before scaling
        seen = copy_object(all_rss)
        if self.reconcile_new(all_rss, new_rs):
            return self.sync_rollout_status(seen, seen[-1])
        if self.reconcile_old(all_rss, active(old), new_rs):
            return self.sync_rollout_status(seen, seen[-1])
        if du.deployment_complete(self.d, self.d["status"]):
            self.cleanup(old)
        self.sync_rollout_status(seen, seen[-1])

    def reconcile_new(self, all_rss: list[dict], new_rs: dict) -> bool:
        desired = du.replicas_of(self.d)
        if du.replicas_of(new_rs) == desired:
            return False
        if du.replicas_of(new_rs) > desired:
            return self.scale_and_record(new_rs, desired)
        return self.scale_and_record(new_rs, du.new_rs_new_replicas(self.d, all_rss, new_rs))

    def reconcile_old(self, all_rss: list[dict], old: list[dict], new_rs: dict) -> bool:
        if sum(du.replicas_of(rs) for rs in old) == 0:
            return False
        all_pods = sum(du.replicas_of(rs) for rs in all_rss)
        min_avail = du.min_available(self.d)
        new_unavailable = du.replicas_of(new_rs) - du.status_int(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_avail - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self.cleanup_unhealthy(old, max_scaled_down)
        scaled = self.scale_down_old_for_rolling([*old, new_rs], old)
        return cleaned + scaled > 0

    def cleanup_unhealthy(self, old: list[dict], max_cleanup: int) -> int:
        """cleanupUnhealthyReplicas: scale away unavailable old replicas first, oldest RS first."""
        total = 0
        for rs in du.sort_by_creation(old):
            if total >= max_cleanup:
                break
            spec, avail = du.replicas_of(rs), du.status_int(rs, "availableReplicas")
            if spec == 0 or spec == avail:
                continue
            count = min(max_cleanup - total, spec - avail)
            if spec - count > spec:
                # status lags a scale-down (availableReplicas > spec.replicas until the RS
                # controller deletes pods): never turn a cleanup into a scale-up (rolling.go)
                meta = rs["metadata"]
                raise _SyncError(
                    "when cleaning up unhealthy replicas, got invalid request to scale down "
                    f"{meta.get('namespace')}/{meta.get('name')} {spec} -> {spec - count}"
                )
            self.scale_and_record(rs, spec - count)
            total += count
        return total

    def scale_down_old_for_rolling(self, all_rss: list[dict], old: list[dict]) -> int:
        """scaleDownOldReplicaSetsForRollingUpdate: keep availability >= minAvailable."""
        min_avail = du.min_available(self.d)
        available = sum(du.status_int(rs, "availableReplicas") for rs in all_rss)
        if available <= min_avail:
            return 0
        budget = available - min_avail
        total = 0
        for rs in du.sort_by_creation(old):
            if total >= budget:
                break
            if du.replicas_of(rs) == 0:
                continue
            count = min(du.replicas_of(rs), budget - total)
            self.scale_and_record(rs, du.replicas_of(rs) - count)
            total += count
        return total

    def old_pods_running(self, new_rs: dict | None, old: list[dict]) -> bool:
        """recreate.go oldPodsRunning."""
        if sum(du.status_int(rs, "replicas") for rs in old) > 0:
            return True
        old_names = {_name(rs) for rs in old}
        for pod in self.pods:
            owner = next(
                (
                    r
                    for r in (pod.get("metadata") or {}).get("ownerReferences") or []
                    if r.get("controller") and r.get("kind") == "ReplicaSet"
                ),
                None,
            )
            if owner is None or owner.get("name") not in old_names:
                continue
            if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                return True
        return False

    def rollout_recreate(self) -> None:
        new_rs, old = self.get_all(create=False)
        seen = copy_object([*old, new_rs])  # status sees the sizes from before scaling
        scaled = False
        for rs in active(old):  # scaleDownOldReplicaSetsForRecreate
            if self.scale_and_record(rs, 0):
                scaled = True
        if scaled or self.old_pods_running(new_rs, old):
            return self.sync_rollout_status(seen, seen[-1])
        if new_rs is None:
            new_rs = self.create_new(old, du.max_revision(old) + 1)
            if new_rs is None:
                self.new_status = self.d["status"]
                return
        seen = copy_object([*old, new_rs])
        self.scale_and_record(new_rs, du.replicas_of(self.d))  # scaleUpNewReplicaSetForRecreate
        if du.deployment_complete(self.d, self.d["status"]):
            self.cleanup(old)
        self.sync_rollout_status(seen, seen[-1])

    # ------------------------------------------------------------ scaling (sync.go scale)
    def is_scaling_event(self, new_rs: dict | None, old: list[dict]) -> bool:
        desired = du.replicas_of(self.d)
        for rs in active([*old, new_rs]):
            annotated = du.desired_replicas_annotation(rs)
            if annotated is not None and annotated != desired:
                return True
        return False

    def scale(self, new_rs: dict | None, old: list[dict]) -> None:
        """sync.go scale."""
        desired = du.replicas_of(self.d)
        if new_rs is None and not old:
            return
        target = scaling.find_active_or_latest(new_rs, old)
        if target is not None:
            self.scale_and_record(target, desired)
            return
        if scaling.is_saturated(self.d, new_rs):
            for rs in active(old):  # old replica sets go to zero
                self.scale_and_record(rs, 0)
            return
        if du.strategy_type(self.d) == "RollingUpdate":
            for rs, size in scaling.proportional_sizes(self.d, active([*old, new_rs])):
                self.scale_rs(rs, size)

    def sync(self) -> None:
        """sync.go sync: used for paused Deployments and scaling events."""
        new_rs, old = self.get_all(create=False)
        self.scale(new_rs, old)
        if self.d["spec"].get("paused"):
            self.cleanup(old)
        self.sync_status([*old, new_rs], new_rs)

    def check_paused_conditions(self) -> None:
        status = progress.paused_conditions(self.d, self.now)
        if status is not None:
            self.d["status"] = status

    def run(self) -> DeploymentPlan:
        d = self.d
        selector = d["spec"].get("selector")
        if (
            selector is not None
            and not selector.get("matchLabels")
            and not selector.get("matchExpressions")
        ):
            self.events.append(
                Event(
                    "Warning",
                    "SelectingAll",
                    "This deployment is selecting all pods. A non-empty selector is required.",
                )
            )
            gen = int(d["metadata"].get("generation") or 0)
            if int(d["status"].get("observedGeneration") or 0) < gen:
                d["status"]["observedGeneration"] = gen
            self.new_status = d["status"]
        elif d["metadata"].get("deletionTimestamp"):
            new_rs, old = self.get_all(create=False)
            self.sync_status([*old, new_rs], new_rs)
        else:
            self.check_paused_conditions()
            if d["spec"].get("paused"):
                self.sync()
            else:
                new_rs, old = self.get_all(create=False)
                if self.is_scaling_event(new_rs, old):
                    self.sync()
                elif du.strategy_type(d) == "Recreate":
                    self.rollout_recreate()
                else:
                    try:
                        self.rollout_rolling()
                    except _SyncError as exc:
                        return DeploymentPlan(tuple(self.actions), tuple(self.events),
                                              error=str(exc))
        return self._plan()

    def _plan(self) -> DeploymentPlan:
        status = self.new_status if self.new_status is not None else self.d["status"]
        original = self.original
        annotations = self.d["metadata"]["annotations"]
        if status != (original.get("status") or {}) or annotations != (
            (original.get("metadata") or {}).get("annotations") or {}
        ):
            self.actions.append(UpdateDeployment(copy_object(annotations), copy_object(status)))
        new_rs = self.find_new()
        return DeploymentPlan(
            tuple(self.actions),
            tuple(self.events),
            self.requeue,
            _name(new_rs) if new_rs is not None else None,
        )


def plan_deployment(
    deployment: Obj, replicasets: Sequence[Obj], pods: Sequence[Obj], now: datetime
) -> DeploymentPlan:
    """One syncDeployment: the writes and events the Deployment controller would make now."""
    return _Sync(deployment, replicasets, pods, now).run()


def on_create_conflict(deployment: Obj, existing: Obj) -> dict | None:
    """The executor's create got AlreadyExists (sync.go getNewReplicaSet): None if ``existing``
    is in fact this Deployment's new ReplicaSet (controller ref + EqualIgnoreHash); otherwise
    the status to write, with collisionCount bumped so the next plan hashes to another name."""
    meta = existing.get("metadata") or {}
    owner = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    ours = owner is not None and owner.get("uid") == (deployment.get("metadata") or {}).get("uid")
    template = (deployment.get("spec") or {}).get("template") or {}
    if ours and du.equal_ignore_hash(template, (existing.get("spec") or {}).get("template") or {}):
        return None
    status = copy_object(dict(deployment.get("status") or {}))
    status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
    return status


def on_create_failed(
    deployment: Obj, replicaset_name: str, error: str, now: datetime
) -> tuple[dict, Event]:
    """Any other create error: Progressing False/ReplicaSetCreateError and a warning event."""
    message = f'Failed to create new replica set "{replicaset_name}": {error}'
    status = copy_object(dict(deployment.get("status") or {}))
    if du.has_progress_deadline(deployment):
        du.set_condition(
            status, du.new_condition("Progressing", "False", "ReplicaSetCreateError", message, now)
        )
    return status, Event("Warning", "ReplicaSetCreateError", message)
