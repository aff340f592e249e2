"""The Job controller: performs :func:`plan_job` plans (k8s pkg/controller/job/job_controller.go
syncJob, manageJob; the TTL-after-finished controller's processTTL).

Pods are indexed by their controller Job's uid. Like the ReplicaSet controller (upstream's
ControllerExpectations), after creating or deleting pods it does not plan again for that Job
until its pod informer has observed them (or 5 minutes passed). Creates go in slow-start batches
(1, 2, 4, ...), stopping at the first failing batch; events SuccessfulCreate / SuccessfulDelete /
FailedCreate and the plan's Completed / BackoffLimitExceeded / DeadlineExceeded / Suspended /
Resumed; the status is written to the status subresource when it changed. A finished Job whose
ttlSecondsAfterFinished has passed is deleted with foreground propagation.
"""

from __future__ import annotations


from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller, controller_ref
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.controllers.pod_control import (
    ControllerExpectations,
    create_pods,
    delete_pods,
)
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.job import plan_job
from shiplane.cluster.decisions.replicaset import (
    created_event,
    deleted_event,
    failed_create_event,
    slow_start_batches,
)

__all__ = ["JobController"]


class JobController(Controller):
    name = "job-controller"
    workers = 4

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.jobs = ctx.informer("Job")
        self.pods = ctx.informer("Pod")
        self.pods_by_job: dict[str, set[str]] = {}
        self.expect = ControllerExpectations()
        self.jobs.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "Job":
            return
        key = key_of(pod)
        keys = self.pods_by_job.setdefault(ref["uid"], set())
        job_key = f"{pod['metadata']['namespace']}/{ref['name']}"
        if etype == "DELETED":
            keys.discard(key)
            if not keys:
                self.pods_by_job.pop(ref["uid"], None)
        else:
            keys.add(key)
        self.expect.observe(job_key, etype, pod, old)
        self.queue.add(job_key)

    async def sync(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            self.expect.forget(key)
            return
        if not self.expect.satisfied(key):
            return
        uid = job["metadata"]["uid"]
        pods = [self.pods.cache[k] for k in sorted(self.pods_by_job.get(uid, ()))
                if k in self.pods.cache]
        plan = plan_job(job, pods, self.clock.now())
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        if plan.delete_job:
            try:  # ttlafterfinished: foreground, with the uid as precondition
                await self.api.delete("Job", ns, name, propagation="Foreground", uid=uid)
            except ControllerApiError as exc:
                if exc.code not in (404, 409):
                    raise
            return
        if plan.create:
            self.expect.expect(key, adds=len(plan.create))
            await self._create(job, plan.create)
        elif plan.delete:
            self.expect.expect(key, deletes=len(plan.delete))
            await self._delete(job, plan.delete)
        if plan.status != (job.get("status") or {}):
            body = {**{k: None for k in job.get("status") or {} if k not in plan.status},
                    **plan.status}
            updated = await self.api.patch("Job", ns, name, {"status": body}, sub="status")
            self.jobs.remember(updated)
        for event in plan.events:
            self._event(job, event)
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after)

    async def _create(self, job: dict, pods: tuple[dict, ...]) -> None:
        writes = await create_pods(self.api.create, job["metadata"]["namespace"], pods,
                                   slow_start_batches(len(pods)))
        for name in writes.done:
            self._event(job, created_event(name))
        if writes.error is not None:
            self.expect.lower(key_of(job), adds=writes.failed + writes.skipped)
            self._event(job, failed_create_event(writes.error))

    async def _delete(self, job: dict, names: tuple[str, ...]) -> None:
        writes = await delete_pods(self.api.delete, job["metadata"]["namespace"], names)
        self.expect.lower(key_of(job), deletes=writes.failed)
        for name in writes.done:
            self._event(job, deleted_event(name))
        for message in writes.errors:
            self._event(job, ("Warning", "FailedDelete", f"Error deleting: {message}"))

    def _event(self, job: dict, event: tuple[str, str, str]) -> None:
        self.ctx.recorder.record(self.name, job, Event(*event))
