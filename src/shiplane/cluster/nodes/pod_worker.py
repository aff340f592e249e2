"""One pod on a simulated node (the kubelet's pod worker, k8s pkg/kubelet/pod_workers.go).

Theory of operation: :meth:`PodWorker.run` drives the pod through the decision cores and writes
``pods/status`` after every visible change. Images first, container by container
(``decide_pull``: cache, pull through :class:`ImagePuller` with a simulated transfer time from
layer sizes and the node's bandwidth, or ErrImagePull → ImagePullBackOff with the 10 s → 300 s
back-off). Then each container runs in its own task: ``ContainerCreating`` → ``Running`` after
its ``sim.shiplane.dev/start-delay``, probe workers tick every ``periodSeconds``
(``probe_step``; the simulated outcome comes from ``sim_behaviour``), an exit or a liveness
failure terminates the container, and ``crash_loop_decision`` restarts it now or after the
CrashLoopBackOff delay. :meth:`PodWorker.terminate` (deletionTimestamp seen) cancels all that,
marks the pod not ready first (so endpoints drop it), waits out preStop and the container's
SIGTERM exit within the grace period, then deletes the pod with grace 0.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from shiplane.cluster.controllers.api import ControllerApiError, ControllerConnectionError
from shiplane.cluster.decisions.backoff import Backoff, crash_backoff_key
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.container_states import (
    ContainerRecord,
    Input,
    Phase,
    crash_loop_decision,
    should_restart,
    transition,
)
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.image_pull import decide_pull, pull_failed, pull_succeeded
from shiplane.cluster.decisions.pod_status import pod_conditions, pod_phase, update_conditions
from shiplane.cluster.decisions.probes import container_started_and_ready, new_worker, probe_step
from shiplane.cluster.decisions.sim_behaviour import ContainerBehaviour, InvalidBehaviour, behaviour_for
from shiplane.cluster.decisions.termination import grace_period, plan_termination
from shiplane.cluster.nodes.images import ImagePullFailed

if TYPE_CHECKING:
    from shiplane.cluster.nodes.kubelet import SimulatedNode

__all__ = ["PodWorker"]

log = logging.getLogger(__name__)


def _prestop_seconds(container: dict) -> float:
    hook = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in hook:
        return float(hook["sleep"].get("seconds") or 0)
    return 0.0  # exec/httpGet hooks of a simulated container return at once


class PodWorker:
    def __init__(self, node: SimulatedNode, pod: dict, pod_ip: str) -> None:
        self.node = node
        self.pod = pod
        self.pod_ip = pod_ip
        self.uid = pod["metadata"]["uid"]
        self.ns = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.ref = f"{self.name}_{self.ns}({self.uid})"
        containers = pod["spec"].get("containers") or []
        self.records = {c["name"]: ContainerRecord(c["name"], c.get("image", "")) for c in containers}
        self.image_ids: dict[str, str] = {}
        self.probe_results: dict[str, dict] = {c["name"]: {} for c in containers}
        # the API server's PodScheduled (pods/binding) is kept, as the kubelet's
        # generateAPIPodStatus copies it from the pod's status
        scheduled = next((c for c in (pod.get("status") or {}).get("conditions") or []
                          if c.get("type") == "PodScheduled" and c.get("status") == "True"), None)
        self.conditions: list[dict] = [scheduled or
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": format_time(node.clock.now())}
        ]
        self.start_time = format_time(node.clock.now())
        self.tasks: list[asyncio.Task] = []
        self.main: asyncio.Task | None = None
        self.terminating = False
        self._dirty = asyncio.Event()
        self._writer: asyncio.Task | None = None

    # ------------------------------------------------------------------ status
    def _status(self) -> dict:
        spec = self.pod["spec"]
        statuses = [r.api_status(self.image_ids.get(n, "")) for n, r in self.records.items()]
        phase = pod_phase(spec, None, statuses)
        fresh = pod_conditions(spec, phase, None, statuses)
        self.conditions = update_conditions(self.conditions, fresh, self.node.clock.now())
        return {
            "phase": phase,
            "conditions": self.conditions,
            "hostIP": self.node.address,
            "hostIPs": [{"ip": self.node.address}],
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_time,
            "qosClass": "BestEffort",
            "containerStatuses": statuses,
        }

    def changed(self) -> None:
        """Coalesce status writes: one writer task per pod sends the latest status."""
        self._dirty.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_loop())

    async def _write_loop(self) -> None:
        while self._dirty.is_set():
            if self.node.failed:
                return  # stays dirty: the node's recovery writes the latest status
            self._dirty.clear()
            try:
                await self.node.api.patch("Pod", self.ns, self.name, {"status": self._status()},
                                          sub="status")
            except (ControllerApiError, ControllerConnectionError) as exc:
                if getattr(exc, "code", 0) == 404:
                    return
                log.debug("status of %s/%s: %s", self.ns, self.name, exc)
                await asyncio.sleep(0.2)
                self._dirty.set()

    def event(self, event: Event, container: str = "") -> None:
        """Record a kubelet event; a container's events point at it (involvedObject.fieldPath
        ``spec.containers{NAME}``, kubecontainer.GenerateContainerRef)."""
        self.node.recorder.record("kubelet", self.pod, event, host=self.node.name,
                                  field_path=f"spec.containers{{{container}}}" if container else "")

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.main = asyncio.ensure_future(self.run())

    def discard(self) -> None:
        """The pod is gone from the API: stop everything at once (no grace)."""
        for task in [self.main, *self.tasks]:
            if task is not None:
                task.cancel()

    async def run(self) -> None:
        containers = self.pod["spec"].get("containers") or []
        for container in containers:
            if not await self._ensure_image(container):
                return
        if not all(self._starts_at_once(c) for c in containers):
            self.changed()  # Pending with ContainerCreating is visible for a while
        # else the first status written is already Running (and Ready without probes): like
        # the kubelet's status manager, only the latest status of a burst of changes is sent
        for container in containers:
            self.tasks.append(asyncio.ensure_future(self._container(container)))

    def _starts_at_once(self, container: dict) -> bool:
        try:
            return behaviour_for(self.pod, container).start_delay <= 0
        except InvalidBehaviour:
            return False

    async def _ensure_image(self, container: dict) -> bool:
        name, image = container["name"], container.get("image", "")
        clock, node = self.node.clock, self.node
        backoff: Backoff = Backoff()
        while True:
            now = clock.now()
            present = node.images.image_on(node.name, image) is not None
            decision = decide_pull(image, container.get("imagePullPolicy"), present, backoff,
                                   self.uid, now)
            for event in decision.events:
                self.event(event, name)
            record = self.records[name]
            if decision.action == "use-cache":
                cached = node.images.image_on(node.name, image)
                self.image_ids[name] = cached.digest if cached else ""
                return True
            if decision.action == "wait":
                inputs = {"ImagePullBackOff": Input.PULL_BACKOFF, "ErrImageNeverPull": Input.NEVER_PULL,
                          "InvalidImageName": Input.INVALID_IMAGE}
                self.records[name] = transition(record, inputs[decision.waiting_reason], now,
                                                message=decision.message)
                self.changed()
                if decision.waiting_reason != "ImagePullBackOff":
                    return False
                key = f"{self.uid}_{image}"
                entry = backoff.entries.get(key)
                remaining = entry.delay - (now - entry.last_update).total_seconds() if entry else 1
                await clock.sleep(max(remaining, 0.01))
                continue
            started = clock.now()
            self.changed()  # Pending (ContainerCreating) while the image is pulled
            try:
                pulled, seconds = await node.pull(image, self.pod)
            except ImagePullFailed as exc:
                backoff, events, _reason, message = pull_failed(image, str(exc), backoff, self.uid,
                                                                clock.now())
                for event in events:
                    self.event(event, name)
                self.records[name] = transition(record, Input.PULL_FAILED, clock.now(), message=message)
                self.changed()
                continue
            total = (clock.now() - started).total_seconds()
            self.event(pull_succeeded(image, seconds, total, pulled.size), name)
            self.image_ids[name] = pulled.digest
            if record.phase is not Phase.CREATING:
                self.records[name] = transition(record, Input.RETRY, clock.now())
            return True

    async def _container(self, container: dict) -> None:
        name = container["name"]
        clock = self.node.clock
        try:
            behaviour = behaviour_for(self.pod, container)
        except InvalidBehaviour as exc:
            self.event(Event("Warning", "Failed", f"Error: {exc}"), name)
            return
        crash_backoff = Backoff()
        key = crash_backoff_key(self.name, self.ns, self.uid, name)
        attempt = 0
        while True:
            await clock.sleep(behaviour.start_delay)
            attempt += 1
            cid = f"containerd://{self.uid.replace('-', '')[:20]}{name[:8]}{attempt:04d}"
            self.records[name] = transition(self.records[name], Input.STARTED, clock.now(),
                                            container_id=cid)
            self.event(Event("Normal", "Created", f"Created container: {name}"), name)
            self.event(Event("Normal", "Started", f"Started container {name}"), name)
            exit_code = await self._running(container, behaviour)
            record = self.records[name]
            inp = Input.KILLED if exit_code == 137 else Input.EXITED
            self.records[name] = transition(record, inp, clock.now(), exit_code=exit_code)
            self.changed()
            policy = self.pod["spec"].get("restartPolicy") or "Always"
            if not should_restart(policy, exit_code):
                return
            while True:
                now = clock.now()
                restart, crash_backoff, rec, events = crash_loop_decision(
                    self.records[name], crash_backoff, key, now, self.ref)
                self.records[name] = rec
                for event in events:
                    self.event(event, name)
                if restart:
                    break
                self.changed()
                finished = rec.last_terminated.get("finishedAt") if rec.last_terminated else None
                await clock.sleep(crash_backoff.get(key) if finished is None else
                                  crash_backoff.remaining(key, record.finished_at or now, now) + 0.01)

    async def _running(self, container: dict, behaviour: ContainerBehaviour) -> int:
        """Run probes until the container exits; returns its exit code (137: killed)."""
        name = container["name"]
        clock = self.node.clock
        started_at = clock.now()
        workers = {kind: new_worker(kind, container[f"{kind}Probe"])
                   for kind in ("startup", "readiness", "liveness") if container.get(f"{kind}Probe")}
        cid = self.records[name].container_id

        def since() -> float:
            return (clock.now() - started_at).total_seconds()

        def refresh() -> None:
            started, ready = container_started_and_ready(
                True, workers.get("startup"), workers.get("readiness"))
            record = self.records[name]
            if (record.started, record.ready) != (started, ready):
                self.records[name] = replace(record, started=started, ready=ready)
            self.changed()

        refresh()
        ticks = [asyncio.ensure_future(self._probe(kind, name, workers, since, cid, refresh))
                 for kind in workers]
        exit_at = behaviour.exits_at()
        exit_task = asyncio.ensure_future(clock.sleep(exit_at if exit_at is not None else 1e12))
        killed = asyncio.get_running_loop().create_future()
        self.probe_results[name] = {"killed": killed}
        try:
            done, _ = await asyncio.wait([exit_task, killed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*ticks, exit_task]:
                task.cancel()
        return 137 if killed in done else behaviour.exit_code

    async def _probe(self, kind, name, workers, since, cid, refresh) -> None:
        clock = self.node.clock
        behaviour = behaviour_for(self.pod, next(c for c in self.pod["spec"]["containers"]
                                                 if c["name"] == name))
        check = {"readiness": behaviour.readiness_ok, "liveness": behaviour.liveness_ok,
                 "startup": behaviour.startup_ok}[kind]
        while True:
            worker = workers[kind]
            started = workers.get("startup") is None or workers["startup"].result == "Success"
            step = probe_step(
                worker, container_name=name, container_id=cid, running=True,
                seconds_since_start=since(), started=started,
                run_probe=lambda: (check(since()), "HTTP probe failed with statuscode: 503"),
            )
            workers[kind] = step.worker
            for event in step.events:
                self.event(event, name)
            if step.worker.result != worker.result:
                refresh()
            if step.restart:
                killed = self.probe_results[name].get("killed")
                if killed is not None and not killed.done():
                    killed.set_result(True)
                return
            await clock.sleep(step.worker.spec.period_seconds if step.probed or
                              since() >= step.worker.spec.initial_delay_seconds else
                              step.worker.spec.initial_delay_seconds - since())

    # ------------------------------------------------------------------ termination
    async def terminate(self, pod: dict) -> None:
        """The pod has a deletionTimestamp: stop everything, not ready first, then delete."""
        if self.terminating:
            return
        self.terminating = True
        self.pod = pod
        for task in [self.main, *self.tasks]:
            if task is not None:
                task.cancel()
        clock = self.node.clock
        grace = grace_period(pod)
        longest = 0.0
        for container in pod["spec"].get("containers") or []:
            name = container["name"]
            record = self.records.get(name)
            if record is None:
                continue
            self.records[name] = replace(record, ready=False)
            if record.phase is Phase.RUNNING:
                plan = plan_termination(container, grace, prestop_seconds=_prestop_seconds(container))
                for event in plan.events:
                    self.event(event, name)
                longest = max(longest, plan.exit_at)
        self.changed()
        await clock.sleep(longest)
        try:
            await self.node.api.delete("Pod", self.ns, self.name, grace=0, uid=self.uid)
        except ControllerApiError as exc:
            if exc.code not in (404, 409):
                raise
