"""Simulated nodes, KWOK-style: many in one event loop, each with its own kubelet.

:class:`NodeFleet` registers one Node per :class:`NodeSpec` (capacity = allocatable, labels
hostname/zone/instance-type/os/arch, taints, Ready/MemoryPressure/DiskPressure/PIDPressure
conditions with the kubelet's reasons), renews each node's Lease in ``kube-node-lease`` every
10 cluster seconds (staggered), and routes the shared pod informer's events to the node named in
``spec.nodeName``. A :class:`SimulatedNode` runs a pod worker per pod (made by the node's
:class:`~shiplane.cluster.nodes.runtime.ContainerRuntime`: simulated or process), shares one
:class:`ImagePuller` (content store) with its neighbours, dedupes concurrent pulls of the same
image, and publishes pulled images in ``status.images`` (the scheduler's ImageLocality input).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping

from shiplane.cluster.controllers.api import AsyncApi, ControllerApiError
from shiplane.cluster.controllers.base import Context
from shiplane.cluster.controllers.clock import ClusterClock
from shiplane.cluster.controllers.events import EventRecorder
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.container_log import LogUnavailable, pick_instance
from shiplane.cluster.decisions.image_pull import pull_duration
from shiplane.cluster.nodes.container_streams import StreamRefused, StreamTarget, target_refusal
from shiplane.cluster.nodes.images import ImagePuller, PulledImage
from shiplane.cluster.nodes.node_spec import NodeSpec
from shiplane.cluster.nodes.pod_worker import PodWorker
from shiplane.cluster.nodes.usage import (
    RESOLUTION,
    PodTotalUsage,
    SimulatedUsage,
    UsageSource,
    load_shares,
    metrics_report,
)
from shiplane.cluster.nodes.runtime import ContainerRuntime, LogReader, SimulatedRuntime
from shiplane.errors import ClusterError

__all__ = ["FAILED_ANNOTATION", "NodeFleet", "SimulatedNode"]

log = logging.getLogger(__name__)
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40  # kubelet nodeLeaseDurationSeconds
RENEW_INTERVAL = 10.0  # 0.25 × lease duration
# `shiplane cluster node fail NODE` sets this on the Node: its kubelet stops renewing the Lease,
# posting node and pod status and acting on pods (a crashed kubelet / cut-off node) until the
# annotation is removed (`shiplane cluster node recover NODE`)
FAILED_ANNOTATION = "sim.shiplane.dev/node-failed"


def _micro(clock: ClusterClock) -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SimulatedNode:
    def __init__(self, spec: NodeSpec, index: int, fleet: NodeFleet) -> None:
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.fleet = fleet
        self.api: AsyncApi = fleet.api
        self.clock: ClusterClock = fleet.clock
        self.recorder: EventRecorder = fleet.recorder
        self.images = fleet.puller.store
        self.runtime: ContainerRuntime = fleet.runtime_for(spec)
        self.address = f"10.0.{index // 250}.{index % 250 + 2}"
        self.workers: dict[str, PodWorker] = {}
        self._next_ip = 2
        self._pulls: dict[tuple, asyncio.Task] = {}
        self._images_dirty = False
        self.failed = False
        # measured pods (process runtime) report what /proc says; simulated ones what they declare
        self.usage_source: UsageSource
        if self.runtime.name == "process":
            self.usage_source = PodTotalUsage(lambda pod: self.runtime.usage(pod, "metrics"))
        else:
            self.usage_source = SimulatedUsage(
                lambda pod: fleet.load.get((pod.get("metadata") or {}).get("uid", "")))

    def node_object(self) -> dict:
        s = self.spec
        labels = {
            "kubernetes.io/hostname": s.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": s.zone,
            "node.kubernetes.io/instance-type": s.instance_type,
            "type": "shiplane-simulated",
            "shiplane.dev/runtime": self.runtime.name,
            **s.labels,
        }
        resources = {"cpu": s.cpu, "memory": s.memory, "pods": str(s.pods),
                     "ephemeral-storage": "100Gi"}
        now = format_time(self.clock.now())
        conditions = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": s.name, "labels": labels,
                         "annotations": {"sim.shiplane.dev/node-role": s.role,
                                         "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"taints": list(s.taints), "podCIDR": f"10.{244 + self.index // 256}.{self.index % 256}.0/24"}
            if s.taints else {"podCIDR": f"10.{244 + self.index // 256}.{self.index % 256}.0/24"},
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": [
                    {"type": t, "status": st, "reason": r, "message": m,
                     "lastHeartbeatTime": now, "lastTransitionTime": now}
                    for t, st, r, m in conditions
                ],
                "addresses": [{"type": "InternalIP", "address": self.address},
                              {"type": "Hostname", "address": s.name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.fleet.kubelet_port}},
                "nodeInfo": {"kubeletVersion": "v1.31.0-shiplane", "containerRuntimeVersion":
                             "shiplane-sim://1.0" if self.runtime.name == "simulated"
                             else "shiplane-process://1.0", "operatingSystem": "linux",
                             "architecture": "amd64", "osImage": "shiplane simulated node",
                             "kernelVersion": "", "kubeProxyVersion": "", "machineID": "",
                             "systemUUID": "", "bootID": ""},
                "images": [],
                "phase": "Running",
            },
        }

    async def register(self) -> None:
        body = self.node_object()
        try:
            await self.api.create("Node", None, body)
        except ControllerApiError as exc:
            if exc.code != 409:
                raise
        await self.api.patch("Node", None, self.name, {"status": body["status"]}, sub="status")

    async def heartbeat(self) -> None:
        await self.clock.sleep(random.uniform(0, RENEW_INTERVAL))
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE,
                              "ownerReferences": []},
                 "spec": {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_DURATION,
                          "renewTime": _micro(self.clock)}}
        try:
            await self.api.create("Lease", LEASE_NAMESPACE, lease)
        except ControllerApiError as exc:
            if exc.code != 409:
                log.warning("lease of %s: %s", self.name, exc)
        while True:
            await self.clock.sleep(RENEW_INTERVAL)
            if self.failed:
                continue
            try:
                await self.api.patch("Lease", LEASE_NAMESPACE, self.name,
                                     {"spec": {"renewTime": _micro(self.clock)}})
                if self._ready_overwritten():
                    await self._post_ready()
                    for worker in list(self.workers.values()):
                        worker.changed()  # and its pods' Ready conditions
                if self._images_dirty:
                    await self._publish_images()
            except ControllerApiError as exc:
                log.warning("lease of %s: %s", self.name, exc)
            except Exception as exc:  # connection trouble: next beat tries again
                log.warning("lease of %s: %s", self.name, exc)

    async def _publish_images(self) -> None:
        self._images_dirty = False
        images = [{"names": [img.reference, f"{img.reference.rsplit(':', 1)[0]}@{img.digest}"],
                   "sizeBytes": img.size}
                  for img in self.images.nodes.get(self.name, {}).values()]
        await self.api.patch("Node", None, self.name, {"status": {"images": images}}, sub="status")

    # ------------------------------------------------------------------ failure
    def set_failed(self, failed: bool) -> None:
        if failed == self.failed:
            return
        self.failed = failed
        log.info("node %s %s", self.name, "failed" if failed else "recovered")
        if not failed:
            asyncio.ensure_future(self._recover())

    def _ready_overwritten(self) -> bool:
        """The node controller marked this (running) kubelet's node not Ready: like the
        kubelet's node status sync, post the real conditions again."""
        node = self.fleet.node_informer.get(self.name)
        conditions = ((node or {}).get("status") or {}).get("conditions") or []
        return node is not None and any(c.get("type") == "Ready" and c.get("status") != "True"
                                        for c in conditions)

    async def _post_ready(self) -> None:
        status = self.node_object()["status"]
        await self.api.patch("Node", None, self.name,
                             {"status": {"conditions": status["conditions"]}}, sub="status")

    async def _recover(self) -> None:
        """The kubelet is back: post Ready status and the Lease, then catch up on pods."""
        try:
            await self._post_ready()
            await self.api.patch("Lease", LEASE_NAMESPACE, self.name,
                                 {"spec": {"renewTime": _micro(self.clock)}})
        except Exception as exc:  # the next heartbeat renews the Lease anyway
            log.warning("recovering %s: %s", self.name, exc)
        for worker in list(self.workers.values()):
            worker.changed()
        for pod in self.fleet.pods.values():
            if (pod.get("spec") or {}).get("nodeName") == self.name:
                self.on_pod("MODIFIED", pod)

    # ------------------------------------------------------------------ metrics
    def metrics(self, period: float) -> dict:
        """This node's NodeMetrics and its pods' PodMetrics (what metrics-server scrapes),
        kept by the API server for three report periods (``period``: real seconds)."""
        pods = [p for w in self.workers.values()
                if (p := self.fleet.pods.get(f"{w.ns}/{w.name}")) is not None]
        return metrics_report(self.node_object(), pods, self.usage_source, self.clock.now(),
                              ttl_seconds=max(3 * period, 5.0))

    def image_pulled(self, image: PulledImage) -> None:
        self._images_dirty = True

    # ------------------------------------------------------------------ pods
    def allocate_ip(self) -> str:
        ip = f"10.{244 + self.index // 256}.{self.index % 256}.{self._next_ip}"
        self._next_ip = self._next_ip % 250 + 1 + 1
        return ip

    def on_pod(self, etype: str, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if self.failed and etype != "DELETED":
            return  # a stopped kubelet sees nothing; it catches up in _recover
        if etype == "DELETED":
            if worker is not None:
                worker.discard()
                del self.workers[uid]
            return
        if pod["metadata"].get("deletionTimestamp"):
            if worker is None:
                worker = PodWorker(self, pod, "")
                self.workers[uid] = worker
            asyncio.ensure_future(worker.terminate(pod))
            return
        if worker is None and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            worker = self.runtime.new_worker(self, pod)
            self.workers[uid] = worker
            worker.start()

    async def pull(self, image: str, pod: dict) -> tuple[PulledImage, float]:
        """One transfer per image and credentials at a time on this node; concurrent pods
        pulling with the same credentials share it (a pod without a pull secret never rides on
        another pod's secret)."""
        secrets = pod["spec"].get("imagePullSecrets") or []
        key = (image, pod["metadata"]["namespace"] if secrets else "",
               tuple(sorted(str(r.get("name")) for r in secrets)))
        task = self._pulls.get(key)
        if task is None:
            task = asyncio.ensure_future(self._pull(image, pod))
            self._pulls[key] = task
            task.add_done_callback(lambda _t: self._pulls.pop(key, None))
        return await asyncio.shield(task)

    async def _pull(self, image: str, pod: dict) -> tuple[PulledImage, float]:
        secrets = []
        for ref in pod["spec"].get("imagePullSecrets") or []:
            try:
                secrets.append(await self.api.get("Secret", pod["metadata"]["namespace"], ref["name"]))
            except ControllerApiError:
                pass  # upstream: a missing pull secret is skipped with a warning
        pulled = await asyncio.to_thread(
            self.fleet.puller.pull, self.name, image, role=self.spec.role,
            pull_secrets=secrets, endpoint=self.spec.private_endpoint,
        )
        seconds = pull_duration(pulled.layer_sizes, self.spec.pull_bandwidth)
        await self.clock.sleep(seconds)
        self.images.record(self.name, pulled)
        self.image_pulled(pulled)
        return pulled, seconds


class NodeFleet:
    def __init__(self, ctx: Context, specs: list[NodeSpec], puller: ImagePuller,
                 runtimes: Mapping[str, ContainerRuntime] | None = None) -> None:
        self.api = ctx.api
        self.clock = ctx.clock
        self.recorder = ctx.recorder
        self.puller = puller
        self.runtimes = dict(runtimes or {"simulated": SimulatedRuntime()})
        self.kubelet_port = 0  # the kubelet API server's port, once started
        self.nodes = {spec.name: SimulatedNode(spec, i, self) for i, spec in enumerate(specs)}
        self.pods = ctx.informer("Pod")
        self.pods.add_handler(self._on_pod)
        self.node_informer = ctx.informer("Node")
        self.node_informer.add_handler(self._on_node)
        # the load model's workloads (the controllers' informers: no extra watches)
        self.workloads = {kind: ctx.informer(kind)
                          for kind in ("ReplicaSet", "Deployment", "StatefulSet")}
        self.load: dict[str, int] = {}  # pod uid -> millicores, recomputed every report round

    def _on_node(self, etype: str, node: dict, old: dict | None) -> None:
        sim = self.nodes.get(node["metadata"]["name"])
        if sim is not None and etype != "DELETED":
            annotations = node["metadata"].get("annotations") or {}
            sim.set_failed(annotations.get(FAILED_ANNOTATION, "false") == "true")

    def runtime_for(self, spec: NodeSpec) -> ContainerRuntime:
        runtime = self.runtimes.get(spec.runtime)
        if runtime is None:
            raise ClusterError(f"node {spec.name}: runtime {spec.runtime!r} is not available",
                               hint="the control plane needs a runtime directory for 'process'")
        return runtime

    def log_reader(self, namespace: str, pod: str, container: str, previous: bool) -> LogReader:
        """The kubelet API's container log lookup (:class:`PodLogSource`); a pod recreated
        under the same name wins over the one still terminating."""
        found = [(worker.terminating, node, worker) for node in self.nodes.values()
                 for worker in node.workers.values()
                 if worker.ns == namespace and worker.name == pod]
        if not found:
            raise LookupError(f'pod "{pod}" not found')
        _, node, worker = min(found, key=lambda item: item[0])
        record = worker.records.get(container)
        if record is None:
            raise LookupError(f'container "{container}" not found in pod "{pod}"')
        cid = pick_instance(record.api_status(), container, pod, previous)
        reader = node.runtime.log_reader(worker, cid)
        if reader is None:
            raise LogUnavailable(f'container "{container}" in pod "{pod}" is not available')
        return reader

    def stream_target(self, namespace: str, pod: str, container: str, attach_stdin: bool
                      ) -> StreamTarget:
        """The kubelet API's exec/attach lookup (:class:`PodLogSource`): the container's live
        process-runtime instance; raises :class:`StreamRefused` with kubelet's words."""
        found = [(worker.terminating, node, worker) for node in self.nodes.values()
                 for worker in node.workers.values()
                 if worker.ns == namespace and worker.name == pod]
        if not found:
            raise StreamRefused(404, "pod does not exist")
        _, node, worker = min(found, key=lambda item: item[0])
        spec = next((c for c in (worker.pod.get("spec") or {}).get("containers") or []
                     if c.get("name") == container), None)
        instance = (getattr(worker, "instances", None) or {}).get(container)
        running = instance is not None and instance.running
        refusal = target_refusal(pod, container, node.runtime.name, node.name, spec, running,
                                 attach_stdin)
        if refusal is not None:
            raise refusal
        assert instance is not None and spec is not None
        return StreamTarget(instance, spec, node.runtime.containers.nsenter)

    def usage(self, pod: dict) -> dict[str, int]:
        """CPU millicores and memory bytes of ``pod`` from its node's runtime (zeros when the
        pod is on no node of this fleet)."""
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is None:
            return {"cpu_millicores": 0, "memory_bytes": 0}
        return node.runtime.usage(pod)

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is not None:
            node.on_pod(etype, pod)

    async def register(self) -> None:
        try:
            await self.api.create("Namespace", None, {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": LEASE_NAMESPACE}})
        except ControllerApiError as exc:
            if exc.code != 409:
                raise
        nodes = list(self.nodes.values())
        for start in range(0, len(nodes), 50):
            await asyncio.gather(*(n.register() for n in nodes[start:start + 50]))

    async def run(self) -> None:
        await asyncio.gather(*(node.heartbeat() for node in self.nodes.values()),
                             self._metrics_loop())

    async def _metrics_loop(self) -> None:
        """Every metric resolution, the reports of all running nodes in a few requests."""
        while True:
            live = [n for n in self.nodes.values() if not n.failed]
            pods = sum(len(n.workers) for n in live)
            # however fast the clock runs: at most two rounds per real second, and one per
            # 2000 pods' worth of seconds (reporting must stay a small part of the loop's work)
            period = max(self.clock.real_seconds(RESOLUTION), 0.5, pods / 2000)
            await asyncio.sleep(period)
            self.load = load_shares(
                self.pods.values(),
                lambda kind, ns, name: self.workloads[kind].get(f"{ns}/{name}"))
            batch: list[dict] = []
            batch_pods = 0
            for node in live:
                if node.failed:
                    continue
                report = node.metrics(period)
                batch.append(report)
                batch_pods += len(report["pods"])
                if batch_pods >= 2000 or len(batch) >= 200:  # under the 3 MiB body limit
                    await self._send_reports(batch)
                    batch, batch_pods = [], 0
            if batch:
                await self._send_reports(batch)

    async def _send_reports(self, reports: list[dict]) -> None:
        body = {"kind": "MetricsReportList", "apiVersion": "shiplane.dev/v1", "items": reports}
        try:
            await self.api.request("PUT", "/apis/metrics.k8s.io/v1beta1/reports", body=body)
        except Exception as exc:  # the next round reports again
            log.debug("metrics report: %s", exc)
