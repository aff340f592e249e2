"""The pod worker of the process runtime: the same decision cores, a real process behind them.

Theory of operation: :class:`ProcessPodWorker` keeps :class:`PodWorker`'s status writing, image
pulls (``decide_pull``) and events, and replaces what the simulated worker only pretends:

1. ``run``: the pod's volumes first (:mod:`.volume_dirs`; ConfigMaps/Secrets read through the
   API; a failure is a ``FailedMount`` event and a retry, the pod stays ContainerCreating),
   then the pod sandbox (its own netns, the pod IP's forwarder), then images, then a task per
   container.
2. ``_container``: image config → process (``process_for``: argv, env with envFrom and
   ConfigMap/Secret key refs read through the API, workingDir, user; a missing source is
   ``CreateContainerConfigError``, retried like the kubelet's pod sync) → the container's root
   filesystem and volume mounts → start in bubblewrap → ``Running``; probes tick on the
   cluster clock (``probe_step``) with real handlers (:mod:`.process_probes`); the exit code is
   the process'; ``crash_loop_decision`` restarts it now or after the CrashLoopBackOff delay.
   A failed liveness/startup probe stops it (SIGTERM, grace, SIGKILL) and it restarts.
3. ``terminate`` (deletionTimestamp): not ready first, preStop (exec/httpGet/sleep) within the
   grace period, SIGTERM, SIGKILL when the rest of the grace period (cluster clock, never under
   2 s) ends (``plan_termination``), then the sandbox goes and the pod is deleted with grace 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.decisions.backoff import Backoff, crash_backoff_key
from shiplane.cluster.decisions.cgroup_resources import container_cgroup_settings
from shiplane.cluster.decisions.container_process import (
    InvalidContainer,
    env_sources,
    process_for,
)
from shiplane.cluster.decisions.container_states import (
    Input,
    Phase,
    crash_loop_decision,
    should_restart,
    transition,
)
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.pod_volumes import (
    VolumeSetupError,
    container_mounts,
    volume_sources,
)
from shiplane.cluster.decisions.probes import container_started_and_ready, new_worker, probe_step
from shiplane.cluster.decisions.termination import grace_period, plan_termination
from shiplane.cluster.nodes.bwrap_containers import (
    BwrapContainers,
    ContainerInstance,
    PodSandbox,
    ProcessRuntimeError,
)
from shiplane.cluster.nodes.pod_network import PortForwarder
from shiplane.cluster.nodes.pod_worker import PodWorker
from shiplane.cluster.nodes.process_probes import ProbeTarget, run_handler
from shiplane.cluster.nodes.rootfs import RootfsError
from shiplane.cluster.nodes.volume_dirs import bind_args, setup_volumes

if TYPE_CHECKING:
    from shiplane.cluster.nodes.kubelet import SimulatedNode
    from shiplane.cluster.nodes.runtime import ProcessRuntime

__all__ = ["ProcessPodWorker"]

log = logging.getLogger(__name__)


class _WouldProbe(Exception):
    """probe_step decided to probe: run the real (async) handler, then step again."""


def _would_probe() -> tuple[bool, str]:
    raise _WouldProbe


_RETRY_SECONDS = (1, 2, 4, 8, 10)  # cluster seconds between retries of a volume / config error


class ProcessPodWorker(PodWorker):
    def __init__(self, node: SimulatedNode, pod: dict, runtime: ProcessRuntime, ip: str,
                 forwarder: PortForwarder) -> None:
        super().__init__(node, pod, ip)
        self.runtime = runtime
        self.containers: BwrapContainers = runtime.containers
        self.forwarder = forwarder
        self.sandbox: PodSandbox | None = None
        self.instances: dict[str, ContainerInstance] = {}  # current instance per container
        self.log_files: dict[str, tuple[Path, ContainerInstance]] = {}  # by container ID
        self.volumes: dict[str, Path] = {}  # volume name -> host directory
        self._cleaned = False

    # ------------------------------------------------------------------ lifecycle
    async def _read_sources(self, refs: set[tuple[str, str]]) -> dict:
        """The ConfigMaps/Secrets ``refs`` from the API (the kubelet's configmap/secret
        managers read them through the API too); ``None`` for a 404."""
        found: dict[tuple[str, str], dict | None] = {}
        for kind, name in sorted(refs):
            try:
                found[(kind, name)] = await self.node.api.request(
                    "GET", f"/api/v1/namespaces/{self.ns}/{kind.lower()}s/{name}")
            except ControllerApiError as exc:
                if exc.code != 404:
                    raise ProcessRuntimeError(f"cannot read {kind} {self.ns}/{name}: {exc}"
                                              ) from None
                found[(kind, name)] = None
        return found

    async def _setup_volumes(self) -> None:
        """Until the volumes are set up: FailedMount events (once per message) and retries."""
        last, attempt = "", 0
        while True:
            try:
                sources = await self._read_sources(volume_sources(self.pod))
                self.volumes = await asyncio.to_thread(
                    setup_volumes, self.containers.rootfs.pod_dir(self.uid), self.pod, sources)
                return
            except (VolumeSetupError, ProcessRuntimeError, OSError) as exc:
                if str(exc) != last:
                    self.event(Event("Warning", "FailedMount", str(exc)))
                    last = str(exc)
            await self.node.clock.sleep(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
            attempt += 1

    async def run(self) -> None:
        self.changed()
        if self.pod["spec"].get("volumes"):
            await self._setup_volumes()
        try:
            self.sandbox = await self.containers.create_sandbox(self.pod, self.pod_ip,
                                                                self.forwarder)
        except (ProcessRuntimeError, OSError) as exc:
            self.event(Event("Warning", "FailedCreatePodSandBox",
                             f"Failed to create pod sandbox: {exc}"))
            return
        for container in self.pod["spec"].get("containers") or []:
            if not await self._ensure_image(container):
                return
        for container in self.pod["spec"].get("containers") or []:
            self.tasks.append(asyncio.ensure_future(self._container(container)))

    async def _prepare(self, container: dict):
        node = self.node
        pulled = node.images.image_on(node.name, container.get("image", ""))
        if pulled is None:
            raise ProcessRuntimeError(f"image {container.get('image')} is not on {node.name}")
        config = await asyncio.to_thread(self.containers.rootfs.image_config, pulled)
        sources = await self._read_sources(env_sources(container))
        spec = process_for(self.pod, container, config, self.pod_ip, sources)
        for warning in spec.warnings:  # kubelet: an event on the pod
            self.event(Event("Warning", "InvalidEnvironmentVariableNames", warning))
        mounts = container_mounts(self.pod, container)
        rootfs = await asyncio.to_thread(self.containers.rootfs.pod_copy, pulled, self.uid,
                                         container["name"])
        binds = await asyncio.to_thread(bind_args, rootfs, mounts, self.volumes)
        return spec, rootfs, binds

    async def _prepare_until_valid(self, container: dict):
        """``_prepare``, a CreateContainerConfigError (event, waiting reason) and a retry
        while the container's config cannot be made (e.g. its ConfigMap is not there yet)."""
        name = container["name"]
        clock = self.node.clock
        attempt, last = 0, ""
        while True:
            try:
                return await self._prepare(container)
            except (InvalidContainer, VolumeSetupError) as exc:  # CreateContainerConfigError
                if str(exc) != last:
                    self.event(Event("Warning", "Failed", f"Error: {exc}"), name)
                    last = str(exc)
                self.records[name] = transition(self.records[name], Input.CONFIG_ERROR,
                                                clock.now(), message=str(exc))
                self.changed()
            await clock.sleep(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
            attempt += 1

    async def _container(self, container: dict) -> None:
        name = container["name"]
        clock = self.node.clock
        try:
            spec, rootfs, binds = await self._prepare_until_valid(container)
        except (RootfsError, ProcessRuntimeError, OSError) as exc:
            self.event(Event("Warning", "Failed", f"Error: {exc}"), name)
            return
        cgroup_settings = container_cgroup_settings(container)  # as calculateLinuxResources
        crash_backoff = Backoff()
        key = crash_backoff_key(self.name, self.ns, self.uid, name)
        while True:
            record = self.records[name]
            restarts = record.restart_count + (
                1 if record.phase in (Phase.TERMINATED, Phase.CRASH_LOOP_BACKOFF) else 0)
            assert self.sandbox is not None
            try:
                read_only = bool((container.get("securityContext") or {})
                                 .get("readOnlyRootFilesystem"))
                instance = await self.containers.start_container(
                    self.pod, self.sandbox, rootfs, spec, name, restarts, cgroup_settings,
                    binds=binds, read_only_root=read_only,
                    stdin=bool(container.get("stdin")))
            except (ProcessRuntimeError, RootfsError, OSError) as exc:  # e.g. unknown user
                self.event(Event("Warning", "Failed", f"Error: {exc}"), name)
                return
            self.instances[name] = instance
            self.log_files[instance.container_id] = (instance.log_path, instance)
            self.records[name] = transition(self.records[name], Input.STARTED, clock.now(),
                                            container_id=instance.container_id)
            self.event(Event("Normal", "Created", f"Created container: {name}"), name)
            self.event(Event("Normal", "Started", f"Started container {name}"), name)
            exit_code, killed = await self._run_process(container, instance)
            record = self.records[name]
            self.records[name] = transition(record, Input.KILLED if killed else Input.EXITED,
                                            clock.now(), exit_code=exit_code)
            if instance.oom_killed:
                self.records[name] = replace(self.records[name], exit_reason="OOMKilled")
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
                finished = self.records[name].finished_at or now
                await clock.sleep(crash_backoff.remaining(key, finished, now) + 0.01)

    async def _run_process(self, container: dict, instance: ContainerInstance
                           ) -> tuple[int, bool]:
        """Probe until the process exits: (exit code, stopped after a failed probe?)."""
        name = container["name"]
        clock = self.node.clock
        started_at = time.monotonic()
        workers = {kind: new_worker(kind, container[f"{kind}Probe"])
                   for kind in ("startup", "readiness", "liveness") if container.get(f"{kind}Probe")}
        assert self.sandbox is not None
        target = ProbeTarget(self.containers, self.sandbox, instance, container)

        def since() -> float:  # cluster seconds since the start
            return (time.monotonic() - started_at) * clock.time_scale

        def refresh() -> None:
            started, ready = container_started_and_ready(
                instance.running, workers.get("startup"), workers.get("readiness"))
            record = self.records[name]
            if record.phase is Phase.RUNNING and (record.started, record.ready) != (started, ready):
                self.records[name] = replace(record, started=started, ready=ready)
            self.changed()

        refresh()
        failed: asyncio.Future = asyncio.get_running_loop().create_future()
        ticks = [asyncio.ensure_future(self._probe_loop(kind, container, workers, since, target,
                                                        refresh, failed))
                 for kind in workers]
        exited = asyncio.ensure_future(instance.wait())
        try:
            await asyncio.wait([exited, failed], return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                return exited.result(), False
            probe = container.get(f"{failed.result()}Probe") or {}
            code = await self.containers.stop_container(
                instance, grace_period(self.pod, probe), clock.sleep)
            return code, True
        finally:
            for task in ticks:
                task.cancel()
            if not exited.done():
                exited.cancel()

    async def _probe_loop(self, kind, container, workers, since, target, refresh, failed) -> None:
        clock = self.node.clock
        name = container["name"]
        probe = container[f"{kind}Probe"]
        cid = target.instance.container_id
        while True:
            worker = workers[kind]
            started = workers.get("startup") is None or workers["startup"].result == "Success"
            step_args = dict(container_name=name, container_id=cid,
                             running=target.instance.running, seconds_since_start=since(),
                             started=started)
            try:
                step = probe_step(worker, run_probe=_would_probe, **step_args)
            except _WouldProbe:
                outcome = await run_handler(target, probe, worker.spec.timeout_seconds)
                step = probe_step(worker, run_probe=lambda: outcome, **step_args)
            workers[kind] = step.worker
            for event in step.events:
                self.event(event, name)
            if step.worker.result != worker.result:
                refresh()
            if step.restart:
                if not failed.done():
                    failed.set_result(kind)
                return
            spec = step.worker.spec
            await clock.sleep(spec.period_seconds if step.probed or
                              since() >= spec.initial_delay_seconds else
                              spec.initial_delay_seconds - since())

    # ------------------------------------------------------------------ termination
    async def _prestop(self, container: dict, instance: ContainerInstance, grace: int) -> float:
        """Run the preStop hook (at most ``grace`` cluster seconds); cluster seconds it took."""
        hook = (container.get("lifecycle") or {}).get("preStop") or {}
        if not hook or grace <= 0 or self.sandbox is None:
            return 0.0
        clock = self.node.clock
        begun = clock.now()
        if "sleep" in hook:
            await clock.sleep(min(float(hook["sleep"].get("seconds") or 0), grace))
        else:
            target = ProbeTarget(self.containers, self.sandbox, instance, container)
            ok, output = await run_handler(target, hook, clock.real_seconds(grace))
            if not ok:
                self.event(Event("Warning", "FailedPreStopHook",
                                 f"PreStopHook failed: {output}"), container["name"])
        return (clock.now() - begun).total_seconds()

    async def _stop(self, container: dict, instance: ContainerInstance, grace: int) -> int:
        used = await self._prestop(container, instance, grace)
        plan = plan_termination(container, grace, prestop_seconds=used)
        return await self.containers.stop_container(instance, plan.sigkill_at - plan.sigterm_at,
                                                    self.node.clock.sleep)

    async def terminate(self, pod: dict) -> None:
        """The pod has a deletionTimestamp: not ready first, then stop every container."""
        if self.terminating:
            return
        self.terminating = True
        self.pod = pod
        for task in [self.main, *self.tasks]:
            if task is not None:
                task.cancel()
        grace = grace_period(pod)
        stops = []
        for container in pod["spec"].get("containers") or []:
            name = container["name"]
            record = self.records.get(name)
            if record is None:
                continue
            self.records[name] = replace(record, ready=False)
            instance = self.instances.get(name)
            if record.phase is Phase.RUNNING and instance is not None and instance.running:
                for event in plan_termination(container, grace).events:
                    self.event(event, name)
                stops.append((name, self._stop(container, instance, grace)))
        self.changed()
        await self._status_written()  # not ready in the API before any SIGTERM
        codes = await asyncio.gather(*(coro for _, coro in stops), return_exceptions=True)
        clock = self.node.clock
        for (name, _), code in zip(stops, codes):
            record = self.records[name]
            if isinstance(code, int) and record.phase is Phase.RUNNING:
                self.records[name] = transition(record, Input.EXITED, clock.now(), exit_code=code)
        self.changed()
        await self.cleanup()
        try:
            await self.node.api.delete("Pod", self.ns, self.name, grace=0, uid=self.uid)
        except ControllerApiError as exc:
            if exc.code not in (404, 409):
                raise

    async def _status_written(self, timeout: float = 2.0) -> None:
        writer = self._writer
        if writer is not None and not writer.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(writer), timeout)

    def discard(self) -> None:
        super().discard()
        asyncio.ensure_future(self.cleanup())

    async def cleanup(self) -> None:
        """Kill what is left, remove the sandbox, the pod's root filesystems and its address."""
        if self._cleaned:
            return
        self._cleaned = True
        with contextlib.suppress(Exception):
            await self.containers.remove_sandbox(self.uid)
        await self.forwarder.close()
        self.runtime.release(self)
