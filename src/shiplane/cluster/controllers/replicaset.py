"""The ReplicaSet controller: performs :func:`plan_replicaset` plans (k8s
pkg/controller/replicaset/replica_set.go syncReplicaSet, manageReplicas).

Pods are indexed by their controller ReplicaSet's uid, with running counts of what
``calculateStatus`` needs (active, ready, fully labeled, not terminating): without
minReadySeconds a sync takes its status and the number of pods to create from the counts instead
of re-planning over every pod (10,000 in the cluster benchmark), and looks at the pods only to
rank the active ones when some must be deleted — the same plan as :func:`plan_replicaset`. Like upstream's ControllerExpectations,
after creating or deleting pods the controller does not plan again for that ReplicaSet until
its pod informer has observed those creations and deletions (or 5 minutes passed), so it never
double-creates. Creates go in slow-start batches (1, 2, 4, ...), stopping at the first failing
batch; events SuccessfulCreate / SuccessfulDelete / FailedCreate; the status (replicas,
fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration, ReplicaFailure) is
written to the status subresource when it changed.
"""

from __future__ import annotations

from datetime import datetime

from shiplane.cluster.controllers.base import Context, Controller, controller_ref
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.controllers.pod_control import (
    ControllerExpectations,
    create_pods,
    delete_pods,
)
from shiplane.cluster.decisions.copying import copy_object
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.pods import is_pod_active, is_pod_ready, is_pod_terminating
from shiplane.cluster.decisions.replicaset import (
    BURST_REPLICAS,
    PodRank,
    ReplicaSetPlan,
    created_event,
    deleted_event,
    failed_create_event,
    plan_replicaset,
    pod_from_template,
    pods_to_delete,
    settle_replica_failure,
    slow_start_batches,
)

__all__ = ["ReplicaSetController"]


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    workers = 4

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.replicasets = ctx.informer("ReplicaSet")
        self.pods = ctx.informer("Pod")
        self.pods_by_rs: dict[str, set[str]] = {}
        self.counts: dict[str, _Counts] = {}  # rs uid -> counts over its pods
        self.expect = ControllerExpectations()
        self.ranks: dict[tuple[str, str], PodRank] = {}  # (uid, resourceVersion) -> PodRank
        self.replicasets.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        ref = controller_ref(pod)
        old_ref = controller_ref(old) if old is not None else None
        key = key_of(pod)
        if old_ref is not None and (ref is None or old_ref.get("uid") != ref.get("uid")):
            # released or adopted by another owner: no longer the old owner's pod
            self.pods_by_rs.get(old_ref.get("uid", ""), set()).discard(key)
            counts = self.counts.get(old_ref.get("uid", ""))
            if counts is not None:
                counts.drop(key)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        counts = self.counts.get(ref["uid"])
        if counts is not None:
            if etype == "DELETED":
                counts.drop(key)
            else:
                counts.put(key, pod)
        keys = self.pods_by_rs.setdefault(ref["uid"], set())
        rs_key = f"{pod['metadata']['namespace']}/{ref['name']}"
        if etype == "DELETED":
            keys.discard(key)
        else:
            keys.add(key)
        self.expect.observe(rs_key, etype, pod, old)
        self.queue.add(rs_key)

    async def sync(self, key: str) -> None:
        rs = self.replicasets.get(key)
        if rs is None:
            self.expect.forget(key)
            return
        if not self.expect.satisfied(key):
            return
        uid = rs["metadata"]["uid"]
        now = self.clock.now()
        plan = self._plan_from_counts(rs, now)
        if plan is None:
            pods = [self.pods.cache[k] for k in sorted(self.pods_by_rs.get(uid, ()))
                    if k in self.pods.cache]
            self.counts[uid] = _Counts.of(rs, pods)
            plan = plan_replicaset(rs, pods, now)
        error = None
        deleting = rs["metadata"].get("deletionTimestamp")
        if plan.create_batches and not deleting:
            self.expect.expect(key, adds=plan.create)
            error = await self._create(rs, plan.create_batches)
        elif plan.delete:
            self.expect.expect(key, deletes=len(plan.delete))
            error = await self._delete(rs, plan.delete)
        diff = self.counts[uid].not_terminating - int(rs["spec"].get("replicas") or 0)
        await self._write_status(rs, settle_replica_failure(plan.status, diff, error, now))
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after)

    def _plan_from_counts(self, rs: dict, now: datetime) -> ReplicaSetPlan | None:
        """The plan :func:`plan_replicaset` would make, from the running counts instead of a
        walk over every pod, when the counts can stand in for it (same template labels, not
        being deleted, no minReadySeconds to wait for); else None. Only a scale-down still
        looks at the pods: it ranks the active ones to choose which to delete."""
        uid = rs["metadata"]["uid"]
        counts = self.counts.get(uid)
        spec = rs.get("spec") or {}
        if (counts is None or counts.template != _template_labels(rs)
                or rs["metadata"].get("deletionTimestamp") or int(spec.get("minReadySeconds") or 0)):
            return None
        status = copy_object(dict(rs.get("status") or {}))
        status.update({"replicas": counts.active, "fullyLabeledReplicas": counts.fully,
                       "readyReplicas": counts.ready, "availableReplicas": counts.ready,
                       "observedGeneration": int(rs["metadata"].get("generation") or 0)})
        diff = counts.active - int(spec.get("replicas") or 0)
        if diff < 0:
            return ReplicaSetPlan(slow_start_batches(min(-diff, BURST_REPLICAS)), (), status)
        if diff > 0:
            active = [pod for k in sorted(self.pods_by_rs.get(uid, ()))
                      if (pod := self.pods.cache.get(k)) is not None and is_pod_active(pod)]
            if len(self.ranks) > 2 * len(self.pods.cache) + 1000:
                self.ranks.clear()  # entries of deleted pods and old versions
            chosen = pods_to_delete(active, active, min(diff, BURST_REPLICAS), now, self.ranks)
            return ReplicaSetPlan((), tuple(p["metadata"]["name"] for p in chosen), status)
        return ReplicaSetPlan((), (), status)

    async def _write_status(self, rs: dict, status: dict) -> None:
        ns = rs["metadata"]["namespace"]
        if status != (rs.get("status") or {}):
            body = {**{k: None for k in rs.get("status") or {} if k not in status}, **status}
            updated = await self.api.patch("ReplicaSet", ns, rs["metadata"]["name"],
                                           {"status": body}, sub="status")
            self.replicasets.remember(updated)

    async def _create(self, rs: dict, batches: tuple[int, ...]) -> str | None:
        template = pod_from_template(rs)
        writes = await create_pods(self.api.create, rs["metadata"]["namespace"],
                                   [template] * sum(batches), batches)
        for name in writes.done:
            self._event(rs, created_event(name))
        if writes.error is not None:
            self.expect.lower(key_of(rs), adds=writes.failed + writes.skipped)
            self._event(rs, failed_create_event(writes.error))
        return writes.error

    async def _delete(self, rs: dict, names: tuple[str, ...]) -> str | None:
        writes = await delete_pods(self.api.delete, rs["metadata"]["namespace"], names)
        self.expect.lower(key_of(rs), deletes=writes.failed)
        for name in writes.done:
            self._event(rs, deleted_event(name))
        for message in writes.errors:
            self._event(rs, ("Warning", "FailedDelete", f"Error deleting: {message}"))
        return writes.error

    def _event(self, rs: dict, event: tuple[str, str, str]) -> None:
        self.ctx.recorder.record(self.name, rs, Event(*event))


def _template_labels(rs: dict) -> dict:
    return ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}


class _Counts:
    """Per-pod facts of one ReplicaSet's pods and their sums, kept by the pod handler:
    active (controller.IsPodActive), ready among active, fully labeled among active (the
    template's labels at the time the counts were built), not terminating."""

    __slots__ = ("template", "facts", "active", "ready", "fully", "not_terminating")

    def __init__(self, template: dict) -> None:
        self.template = dict(template)
        self.facts: dict[str, tuple[int, int, int, int]] = {}
        self.active = self.ready = self.fully = self.not_terminating = 0

    @classmethod
    def of(cls, rs: dict, pods: list[dict]) -> _Counts:
        counts = cls(_template_labels(rs))
        for pod in pods:
            counts.put(key_of(pod), pod)
        return counts

    def _add(self, facts: tuple[int, int, int, int], sign: int) -> None:
        self.active += sign * facts[0]
        self.ready += sign * facts[1]
        self.fully += sign * facts[2]
        self.not_terminating += sign * facts[3]

    def put(self, key: str, pod: dict) -> None:
        self.drop(key)
        active = is_pod_active(pod)
        labels = (pod.get("metadata") or {}).get("labels") or {}
        fully = active and all(labels.get(k) == v for k, v in self.template.items())
        facts = (int(active), int(active and is_pod_ready(pod)), int(fully),
                 int(not is_pod_terminating(pod)))
        self.facts[key] = facts
        self._add(facts, 1)

    def drop(self, key: str) -> None:
        facts = self.facts.pop(key, None)
        if facts is not None:
            self._add(facts, -1)
