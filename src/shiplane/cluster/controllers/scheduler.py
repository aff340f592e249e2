"""The scheduler loop (k8s pkg/scheduler/schedule_one.go scheduleOne, internal/queue).

Pending pods (no ``spec.nodeName``, not deleting, ``schedulerName`` default-scheduler) enter the
active queue; one worker takes them in order, runs :func:`schedule_on_snapshot` over NodeInfos
kept current like upstream's scheduler cache (a bound pod is added to its node at once, without
waiting for the watch), and binds through the ``pods/binding`` subresource with a
``Scheduled`` event in the background, as upstream's binding cycle: the pod stays assumed on its
node while the binding is in flight, and a failed binding forgets it (its node is rebuilt from
the watch) and retries the pod. A pod that fits nowhere gets ``PodScheduled=False/Unschedulable`` with the
FitError message and a ``FailedScheduling`` event, and waits in the unschedulable set until a
node is added or changes or an assigned pod goes away (MoveAllToActiveOrBackoffQueue), or 60
cluster seconds pass (the flush of podMaxInUnschedulablePodsDuration, shortened).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from shiplane.cluster.controllers.api import STRATEGIC, ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.scheduler_snapshot import NodeInfo
from shiplane.cluster.decisions.scheduling import (
    build_node_infos,
    schedule_on_snapshot,
    scheduling_outcome,
)

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

_UNSCHEDULABLE_FLUSH = 60.0


def _pending(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and not pod["metadata"].get("deletionTimestamp")
        and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    )


class Scheduler(Controller):
    name = "default-scheduler"
    workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pods = ctx.informer("Pod")
        self.nodes = ctx.informer("Node")
        self.infos: dict[str, NodeInfo] | None = None  # node name -> NodeInfo
        self.pods_on: dict[str, set[str]] = {}  # node name -> keys of its assigned pods
        self.dirty_nodes: set[str] = set()
        self.start_index = 0
        self.unschedulable: set[str] = set()
        self.assumed: set[str] = set()  # bound by us, binding in flight or not yet watched
        self.binding: set[asyncio.Task] = set()
        self.pods.add_handler(self._on_pod)
        self.nodes.add_handler(self._on_node)

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        key = key_of(pod)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            gone = etype == "DELETED" or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            on_node = self.pods_on.setdefault(node_name, set())
            (on_node.discard if gone else on_node.add)(key)
        if etype != "DELETED" and _pending(pod):
            if key not in self.unschedulable:
                self.queue.add(key)
            return
        if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            if etype == "DELETED":
                self.assumed.discard(key)
            if node_name:
                if etype == "DELETED":
                    self.dirty_nodes.add(node_name)  # capacity freed
                if self.unschedulable:
                    self._retry_unschedulable()
        elif (pod.get("spec") or {}).get("nodeName") and not ((old or {}).get("spec") or {}).get("nodeName"):
            if key in self.assumed:
                self.assumed.discard(key)  # our own binding, already in the snapshot
            else:
                self.dirty_nodes.add(node_name)  # bound by someone else (nodeName set directly)

    def _on_node(self, etype: str, node: dict, old: dict | None) -> None:
        if etype == "MODIFIED" and old is not None and old.get("spec") == node.get("spec") \
                and old["metadata"].get("labels") == node["metadata"].get("labels") \
                and (old.get("status") or {}).get("allocatable") == (node.get("status") or {}).get("allocatable") \
                and (old.get("status") or {}).get("images") == (node.get("status") or {}).get("images"):
            return  # heartbeat only
        if etype == "MODIFIED" and self.infos is not None and node["metadata"]["name"] in self.infos:
            # one node's labels, taints, allocatable or images: rebuild only its NodeInfo (a
            # full rebuild after each of 1,000 nodes publishes its pulled images is quadratic)
            self.dirty_nodes.add(node["metadata"]["name"])
        else:
            self.infos = None
        self._retry_unschedulable()

    def _retry_unschedulable(self) -> None:
        waiting, self.unschedulable = self.unschedulable, set()
        for key in waiting:
            self.queue.add(key)

    def _snapshot(self) -> dict:
        """Rebuild everything after a node change; otherwise only the nodes whose pods went."""
        if self.infos is None:
            nodes = sorted(self.nodes.values(), key=lambda n: n["metadata"]["name"])
            self.infos = {i.name: i for i in build_node_infos(nodes, self._assigned(None))}
            self.dirty_nodes.clear()
        for name in self.dirty_nodes:
            node = self.nodes.get(name)
            if node is not None and name in self.infos:
                self.infos[name] = build_node_infos([node], self._assigned(name))[0]
        self.dirty_nodes.clear()
        return self.infos

    def _assigned(self, node_name: str | None) -> list[dict]:
        keys = (self.pods_on.get(node_name, set()) if node_name is not None
                else set().union(*self.pods_on.values()) if self.pods_on else set())
        # terminating pods still hold their resources until they are gone (as upstream)
        return [p for k in keys if (p := self.pods.get(k)) is not None]

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or not _pending(pod) or key in self.assumed:
            return  # gone, bound, or assumed with its binding in flight
        infos = self._snapshot()
        result = schedule_on_snapshot(pod, list(infos.values()), start_index=self.start_index)
        self.start_index = result.next_start_index
        event, condition = scheduling_outcome(pod, result)
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if result.node is None:
            self.unschedulable.add(key)
            self.queue.add_after(key, _UNSCHEDULABLE_FLUSH)
            condition = {**condition, "lastProbeTime": None,
                         "lastTransitionTime": format_time(self.clock.now())}
            await self.api.patch("Pod", ns, name, {"status": {"conditions": [condition]}},
                                 sub="status", content_type=STRATEGIC)
            self.ctx.recorder.record(self.name, pod, event)
            return
        self.unschedulable.discard(key)
        # assume the pod on its node and bind in the background (upstream's binding cycle runs
        # in its own goroutine): the next pod is scheduled meanwhile against the assumed state
        assumed = {**pod, "spec": {**pod["spec"], "nodeName": result.node}}
        self.assumed.add(key)
        if self.infos is not None and result.node in self.infos:
            self.infos[result.node].add_pod(assumed)
        task = asyncio.ensure_future(self._bind(key, pod, result.node, event))
        self.binding.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self.binding.discard)

    async def _bind(self, key: str, pod: dict, node: str, event: Any) -> None:
        """The binding cycle: POST pods/binding; on failure forget the assumed pod (its node's
        NodeInfo is rebuilt) and retry the pod unless it is gone or bound already
        (schedule_one.go handleBindingCycleError)."""
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        try:
            await self.api.request("POST", f"/api/v1/namespaces/{ns}/pods/{name}/binding",
                                   body=binding)
        except Exception as exc:  # noqa: BLE001 - every failure forgets the assumption
            self.assumed.discard(key)
            self.dirty_nodes.add(node)
            if isinstance(exc, ControllerApiError) and exc.code in (404, 409):
                return  # deleted, or bound by someone else: the watch brings the truth
            log.debug("binding %s to %s failed: %s", key, node, exc)
            self.queue.add_after(key, self.clock.time_scale * 1.0)
            return
        self.ctx.recorder.record(self.name, pod, event)
