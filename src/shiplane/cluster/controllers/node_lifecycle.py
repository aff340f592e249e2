"""The node lifecycle controller and its taint eviction (k8s pkg/controller/nodelifecycle/
node_lifecycle_controller.go monitorNodeHealth / tryUpdateNodeHealth / MarkPodsNotReady and
pkg/controller/tainteviction/taint_eviction.go).

Theory of operation: every node-monitor period (5 cluster seconds) the controller looks at each
Node. Like upstream it trusts its own clock, not the kubelet's: it remembers when it last *saw*
the node's Lease ``renewTime`` (or the Ready condition's ``lastHeartbeatTime``) change, and a
node not seen renewing for the monitor grace period (50 s) gets its conditions set to Unknown
("Kubelet stopped posting node status.") and the ``node.kubernetes.io/unreachable``
NoSchedule/NoExecute taints (:func:`node_health`). When a node stops being Ready its pods' Ready
condition is set False, so Services and PodDisruptionBudgets stop counting them. Pods on a node
with NoExecute taints are deleted when :func:`taint_eviction` says so (at once without a
toleration, after ``tolerationSeconds`` — 300 s by the DefaultTolerationSeconds admission —
otherwise), with a ``DisruptionTarget`` condition and a TaintManagerEviction event. A kubelet
that posts Ready=True again gets its taints removed. (With ``--time-scale`` the grace period
is at least :data:`MIN_REAL_GRACE` real seconds.)
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from shiplane.cluster.controllers.api import STRATEGIC, ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.node_lifecycle import (
    MONITOR_GRACE_SECONDS,
    node_health,
    taint_eviction,
)

__all__ = ["MONITOR_PERIOD", "NodeLifecycleController"]

MONITOR_PERIOD = 5.0  # --node-monitor-period
# On an accelerated clock 50 cluster seconds can be a second of real time, less than a busy
# machine may take to run a heartbeat: the grace period never drops below this much real time,
# so only a node that really stopped (``shiplane cluster node fail``) goes Unknown.
MIN_REAL_GRACE = 3.0
LEASE_NAMESPACE = "kube-node-lease"


def _ready_status(node: dict) -> str | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status")
    return None


class NodeLifecycleController(Controller):
    name = "node-controller"
    workers = 1

    def __init__(self, ctx: Context, grace_seconds: int = MONITOR_GRACE_SECONDS) -> None:
        super().__init__(ctx)
        self.grace_seconds = grace_seconds
        self.nodes = ctx.informer("Node")
        self.leases = ctx.informer("Lease")
        self.pods = ctx.informer("Pod")
        # node name -> (last heartbeat seen, our clock when we saw it change): nodeHealthData
        self.probes: dict[str, tuple[str, datetime]] = {}
        self.nodes.add_handler(lambda t, o, old: self.queue.add(key_of(o)) if t != "DELETED"
                               else self.probes.pop(key_of(o), None))

    def _heartbeat(self, node: dict) -> str:
        """The newest of the Lease renewTime and the Ready lastHeartbeatTime (as text)."""
        name = node["metadata"]["name"]
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}") or {}
        seen = [(lease.get("spec") or {}).get("renewTime") or ""]
        for cond in (node.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                seen.append(cond.get("lastHeartbeatTime") or "")
        times = [(parse_time(s), s) for s in seen if s]
        times = [(t, s) for t, s in times if t is not None]
        return max(times)[1] if times else ""

    async def run(self) -> None:
        async def monitor() -> None:
            while True:
                # at most two passes per real second on a fast clock (thousands of nodes)
                await asyncio.sleep(max(self.clock.real_seconds(MONITOR_PERIOD), 0.5))
                for key in list(self.nodes.cache):
                    self.queue.add(key)

        await asyncio.gather(monitor(), super().run())

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None or node["metadata"].get("deletionTimestamp"):
            return
        name = node["metadata"]["name"]
        now = self.clock.now()
        beat = self._heartbeat(node)
        probe = self.probes.get(name)
        if probe is None or probe[0] != beat:
            # a node seen for the first time gets a full grace period (upstream's probeTimestamp)
            probe = (beat, now)
            self.probes[name] = probe
        was_ready = _ready_status(node)
        grace = max(self.grace_seconds, round(self.clock.time_scale * MIN_REAL_GRACE))
        conditions, taints = node_health(node, probe[1], now, grace)
        old_taints = (node.get("spec") or {}).get("taints") or []
        if taints != old_taints:
            node = await self.api.patch("Node", None, name, {"spec": {"taints": taints or None}})
            self.nodes.remember(node)
        if conditions != ((node.get("status") or {}).get("conditions") or []):
            node = await self.api.patch("Node", None, name, {"status": {"conditions": conditions}},
                                        sub="status")
            self.nodes.remember(node)
        if _ready_status(node) != "True":
            if was_ready == "True":  # RecordNodeStatusChange
                self.ctx.recorder.record(self.name, node, Event(
                    "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady"))
            await self._mark_pods_not_ready(name, now)
        await self._evict_by_taints(name, taints, now)

    def _pods_on(self, node_name: str) -> list[dict]:
        return [p for p in self.pods.values()
                if (p.get("spec") or {}).get("nodeName") == node_name]

    async def _mark_pods_not_ready(self, node_name: str, now: datetime) -> None:
        """MarkPodsNotReady: the Ready condition of every pod on the node goes False."""
        for pod in self._pods_on(node_name):
            conds = (pod.get("status") or {}).get("conditions") or []
            ready = next((c for c in conds if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False":
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            patch = {"status": {"conditions": [
                {"type": "Ready", "status": "False", "lastTransitionTime": format_time(now)}]}}
            try:
                updated = await self.api.patch("Pod", pod["metadata"]["namespace"],
                                               pod["metadata"]["name"], patch, sub="status",
                                               content_type=STRATEGIC)
                self.pods.remember(updated)
            except ControllerApiError as exc:
                if exc.code != 404:
                    raise
            self.ctx.recorder.record(self.name, pod, Event("Warning", "NodeNotReady",
                                                           "Node is not ready"))

    async def _evict_by_taints(self, node_name: str, taints: list, now: datetime) -> None:
        if not any(t.get("effect") == "NoExecute" for t in taints):
            return
        soonest: float | None = None
        for pod in self._pods_on(node_name):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            when = taint_eviction(pod, taints, now)
            if when.at is None:
                continue
            if when.at > now:
                wait = (when.at - now).total_seconds()
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            for event in when.events:
                self.ctx.recorder.record("taint-eviction-controller", pod, event)
            try:
                if when.condition is not None:
                    await self.api.patch("Pod", ns, name,
                                         {"status": {"conditions": [when.condition]}},
                                         sub="status", content_type=STRATEGIC)
                await self.api.delete("Pod", ns, name, uid=pod["metadata"].get("uid"))
            except ControllerApiError as exc:
                if exc.code not in (404, 409):
                    raise
        if soonest is not None:
            self.queue.add_after(node_name, soonest)

