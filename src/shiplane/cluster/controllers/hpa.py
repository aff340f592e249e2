"""The HorizontalPodAutoscaler controller (k8s pkg/controller/podautoscaler/horizontal.go
reconcileAutoscaler), performing :func:`plan_hpa` through the API server.

Every HPA is reconciled every 15 cluster seconds (--horizontal-pod-autoscaler-sync-period) and
when it is created or its spec changes (not on its own status writes). One reconcile reads the
target's ``/scale`` subresource (current replicas and selector), the pods the selector picks and
their usage from ``metrics.k8s.io`` (PodMetrics, what the resource metrics client reads), runs
the pure plan (replica calculator, stabilisation windows, scaling policies, min/max), writes
``spec.replicas`` back through ``/scale`` when it changes, records SuccessfulRescale or the
failure events, and writes the status (currentReplicas, desiredReplicas, currentMetrics,
lastScaleTime, the AbleToScale / ScalingActive / ScalingLimited conditions). The recent
recommendations and scale events the plan needs are kept per HPA uid in memory, like upstream
keeps them in the controller.
"""

from __future__ import annotations

from datetime import datetime

from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.controllers.base import Context, Controller
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.decisions.autoscaling import AutoscalerMemory, MetricSample, plan_hpa
from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.hpa_metrics import CUSTOM_METRICS_GROUP, EXTERNAL_METRICS_GROUP
from shiplane.cluster.decisions.quantity import milli_value
from shiplane.cluster.decisions.quantity import value as quantity_value
from shiplane.cluster.decisions.sim_behaviour import parse_seconds

__all__ = ["SYNC_PERIOD", "HorizontalPodAutoscalerController"]

SYNC_PERIOD = 15.0  # --horizontal-pod-autoscaler-sync-period
_CONDITION_ORDER = ("AbleToScale", "ScalingActive", "ScalingLimited")


def _scale_path(hpa: dict) -> str:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    api_version = ref.get("apiVersion") or "apps/v1"
    plural = ref.get("kind", "").lower() + "s"  # Deployment, ReplicaSet, StatefulSet
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    ns = hpa["metadata"].get("namespace", "default")
    return f"{base}/namespaces/{ns}/{plural}/{ref.get('name', '')}/scale"


def _samples(pod_metrics: list[dict]) -> dict[str, dict[str, MetricSample]]:
    """PodMetrics → {resource: {pod name: sample}} (containers summed, as upstream)."""
    result: dict[str, dict[str, MetricSample]] = {"cpu": {}, "memory": {}}
    for name, containers in _container_samples(pod_metrics).items():
        for resource in ("cpu", "memory"):
            found = [c[resource] for c in containers.values()]
            if found:
                result[resource][name] = MetricSample(sum(s.value for s in found),
                                                      found[0].timestamp, found[0].window)
    return result


def _container_samples(pod_metrics: list[dict]) -> dict[str, dict[str, dict[str, MetricSample]]]:
    """PodMetrics → {pod name: {container: {resource: sample}}} (ContainerResource metrics,
    rest_metrics_client.go getContainerMetrics)."""
    result: dict[str, dict[str, dict[str, MetricSample]]] = {}
    for item in pod_metrics:
        stamp = parse_time(item.get("timestamp")) or datetime.min
        window = parse_seconds(item.get("window") or "15s")
        per_pod = result.setdefault(item["metadata"]["name"], {})
        for container in item.get("containers") or []:
            usage = container.get("usage") or {}
            per_pod[container.get("name", "")] = {
                "cpu": MetricSample(milli_value(usage.get("cpu", "0")), stamp, window),
                "memory": MetricSample(quantity_value(usage.get("memory", "0")), stamp, window),
            }
    return result


def _with_average_values(current: tuple[dict, ...], pods: list[dict],
                         metrics: dict[str, dict[str, MetricSample]]) -> list[dict]:
    """Add ``current.averageValue`` (the mean usage of the measured pods: upstream's
    rawUtilization) next to the averageUtilization the plan computed."""
    names = {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}
    result = []
    for metric in current:
        if metric.get("type") != "Resource":
            result.append(dict(metric))
            continue
        resource = dict(metric.get("resource") or {})
        samples = [s.value for n, s in (metrics.get(resource.get("name", "")) or {}).items()
                   if n in names]
        if samples:
            mean = sum(samples) // len(samples)
            value = f"{mean}m" if resource.get("name") == "cpu" and mean else str(mean)
            resource["current"] = {**(resource.get("current") or {}), "averageValue": value}
        result.append({**metric, "resource": resource})
    return result


def _merge_conditions(old: list[dict], new: list[dict], now: datetime) -> list[dict]:
    """setCondition: one per type, lastTransitionTime kept while the status is unchanged."""
    by_type = {c.get("type"): c for c in old}
    merged: dict[str, dict] = {}
    for cond in new:
        previous = by_type.get(cond["type"])
        stamp = format_time(now)
        if previous is not None and previous.get("status") == cond["status"]:
            stamp = previous.get("lastTransitionTime") or stamp
        merged[cond["type"]] = {**cond, "lastTransitionTime": stamp}
    for kind, cond in by_type.items():
        merged.setdefault(kind, cond)
    return [merged[k] for k in _CONDITION_ORDER if k in merged] + [
        c for k, c in merged.items() if k not in _CONDITION_ORDER]


def _condition(kind: str, status: str, reason: str, message: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message}


class HorizontalPodAutoscalerController(Controller):
    name = "horizontal-pod-autoscaler"
    workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.hpas = ctx.informer("HorizontalPodAutoscaler")
        self.memory: dict[str, AutoscalerMemory] = {}
        self.hpas.add_handler(self._on_hpa)

    def _on_hpa(self, etype: str, hpa: dict, old: dict | None) -> None:
        if etype == "DELETED":
            self.memory.pop(hpa["metadata"].get("uid", ""), None)
            return
        if old is None or old.get("spec") != hpa.get("spec"):
            self.queue.add(key_of(hpa))

    async def sync(self, key: str) -> None:
        hpa = self.hpas.get(key)
        if hpa is None or hpa["metadata"].get("deletionTimestamp"):
            return
        try:
            await self._reconcile(hpa)
        finally:
            self.queue.add_after(key, SYNC_PERIOD)

    async def _reconcile(self, hpa: dict) -> None:
        now = self.clock.now()
        ns = hpa["metadata"].get("namespace", "default")
        try:
            scale = await self.api.request("GET", _scale_path(hpa))
        except ControllerApiError as exc:
            message = f"the HPA controller was unable to get the target's current scale: {exc}"
            self.ctx.recorder.record(self.name, hpa, Event("Warning", "FailedGetScale", str(exc)))
            await self._write_status(hpa, now, [_condition("AbleToScale", "False",
                                                           "FailedGetScale", message)])
            return
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        selector = (scale.get("status") or {}).get("selector") or ""
        conditions = [_condition("AbleToScale", "True", "SucceededGetScale",
                                 "the HPA controller was able to get the target's current scale")]
        pods: list[dict] = []
        metrics: dict[str, dict[str, MetricSample]] = {}
        containers: dict[str, dict[str, dict[str, MetricSample]]] = {}
        if selector:
            params = {"labelSelector": selector}
            pods = (await self.api.request("GET", f"/api/v1/namespaces/{ns}/pods",
                                           params=params)).get("items") or []
            try:
                listing = await self.api.request(
                    "GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", params=params)
                metrics = _samples(listing.get("items") or [])
                containers = _container_samples(listing.get("items") or [])
            except ControllerApiError:
                metrics = {}  # the plan reports FailedGetResourceMetric
        uid = hpa["metadata"].get("uid", "")
        decision = plan_hpa(hpa, current, pods, metrics, self.memory.get(uid, AutoscalerMemory()),
                            now, containers=containers, metric_apis=await self._metric_apis(hpa))
        self.memory[uid] = decision.memory
        conditions = _merge_conditions([], [*conditions, *decision.conditions], now)
        rescaled = False
        if decision.rescale:
            body = {**scale, "spec": {**(scale.get("spec") or {}), "replicas": decision.desired}}
            try:
                await self.api.request("PUT", _scale_path(hpa), body=body)
                rescaled = True
            except ControllerApiError as exc:
                self.ctx.recorder.record(self.name, hpa, Event(
                    "Warning", "FailedRescale",
                    f"New size: {decision.desired}; reason: {decision.reason}; error: {exc}"))
                conditions = _merge_conditions(conditions, [_condition(
                    "AbleToScale", "False", "FailedUpdateScale",
                    f"the HPA controller was unable to update the target scale: {exc}")], now)
            else:
                conditions = _merge_conditions(conditions, [_condition(
                    "AbleToScale", "True", "SucceededRescale",
                    f"the HPA controller was able to update the target scale to "
                    f"{decision.desired}")], now)
        for event in decision.events:
            if event.reason != "SuccessfulRescale" or rescaled:
                self.ctx.recorder.record(self.name, hpa, event)
        status_replicas = int((scale.get("status") or {}).get("replicas") or 0)
        await self._write_status(hpa, now, conditions, current=status_replicas,
                                 desired=decision.desired,
                                 metrics=_with_average_values(decision.current_metrics, pods,
                                                              metrics),
                                 rescaled=rescaled)

    async def _metric_apis(self, hpa: dict) -> frozenset[str]:
        """The custom/external metrics API groups served, asked only for HPAs that use them
        (upstream's custom metrics client discovers custom.metrics.k8s.io the same way)."""
        kinds = {m.get("type") for m in (hpa.get("spec") or {}).get("metrics") or []}
        if not kinds & {"Pods", "Object", "External"}:
            return frozenset()
        try:
            groups = (await self.api.request("GET", "/apis")).get("groups") or []
        except ControllerApiError:
            return frozenset()
        return frozenset(g.get("name", "") for g in groups) & {
            CUSTOM_METRICS_GROUP, EXTERNAL_METRICS_GROUP}

    async def _write_status(self, hpa: dict, now: datetime, conditions: list[dict], *,
                            current: int | None = None, desired: int | None = None,
                            metrics: list[dict] | None = None, rescaled: bool = False) -> None:
        old = hpa.get("status") or {}
        status = dict(old)
        status["conditions"] = _merge_conditions(old.get("conditions") or [], conditions, now)
        if current is not None:
            status["currentReplicas"] = current
        if desired is not None:
            status["desiredReplicas"] = desired
        if metrics is not None:
            if metrics:
                status["currentMetrics"] = metrics
            else:
                status.pop("currentMetrics", None)
        if rescaled:
            status["lastScaleTime"] = format_time(now)
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
        generation = hpa["metadata"].get("generation")
        if generation is not None:
            status["observedGeneration"] = generation
        if status == old:
            return
        updated = await self.api.replace("HorizontalPodAutoscaler", {**hpa, "status": status},
                                         sub="status")
        self.hpas.remember(updated)

