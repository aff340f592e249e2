"""``metrics.k8s.io/v1beta1``: NodeMetrics and PodMetrics as metrics-server serves them, so
``kubectl top node/pod`` and the HPA controller read resource usage through the API.

Upstream, metrics-server is an aggregated API that scrapes every kubelet's
``/metrics/resource``. Here the simulated kubelets push instead: every metric resolution the node fleet PUTs the
reports of its nodes (``/apis/metrics.k8s.io/v1beta1/reports``, a ``MetricsReportList``; one
node: ``.../nodes/NAME/report``), each a shiplane ``MetricsReport`` with the node's NodeMetrics
and its running pods' PodMetrics (:func:`shiplane.cluster.nodes.usage.metrics_report`). :class:`MetricsStore`
keeps the latest report per node in memory until its ``ttlSeconds`` pass (a failed node's
metrics disappear like a node metrics-server cannot scrape). Reads are the upstream routes:

    GET /apis/metrics.k8s.io/v1beta1/nodes[/NAME]                        NodeMetrics(List)
    GET /apis/metrics.k8s.io/v1beta1/pods                                PodMetricsList
    GET /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods[/NAME]           PodMetrics(List)

with ``labelSelector`` on lists; pod metrics are only served for pods that still exist (same
uid), as metrics-server filters by its pod informer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from shiplane.cluster.apiserver.encoding import decode_body
from shiplane.cluster.apiserver.requestinfo import PathNotFound
from shiplane.cluster.apiserver.selectors import parse_label_selector
from shiplane.cluster.store.errors import ApiError, BadRequest, MethodNotAllowed, NotFound
from shiplane.cluster.store.model import encode

if TYPE_CHECKING:
    from shiplane.cluster.apiserver.backend import ApiBackend

__all__ = ["METRICS_PREFIX", "MetricsStore", "metrics_endpoint"]

METRICS_PREFIX = "/apis/metrics.k8s.io/v1beta1"
GROUP_VERSION = "metrics.k8s.io/v1beta1"


@dataclass
class _Report:
    node: dict[str, Any]
    pods: dict[tuple[str, str], dict[str, Any]]
    expires: float


@dataclass
class MetricsStore:
    """Latest metrics per node, in memory (metrics are never persisted, as upstream)."""

    reports: dict[str, _Report] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, node: str, report: dict[str, Any]) -> None:
        if not isinstance(report, dict) or not isinstance(report.get("node"), dict):
            raise BadRequest("a MetricsReport needs a node (NodeMetrics) and pods (PodMetrics)")
        pods = {}
        for item in report.get("pods") or []:
            meta = item.get("metadata") or {}
            pods[(meta.get("namespace", ""), meta.get("name", ""))] = item
        ttl = float(report.get("ttlSeconds") or 60.0)
        with self.lock:
            self.reports[node] = _Report(report["node"], pods, time.monotonic() + ttl)

    def _live(self) -> list[_Report]:
        now = time.monotonic()
        with self.lock:
            for name in [n for n, r in self.reports.items() if r.expires < now]:
                del self.reports[name]
            return list(self.reports.values())

    def nodes(self) -> list[dict[str, Any]]:
        return sorted((r.node for r in self._live()), key=lambda n: n["metadata"]["name"])

    def pods(self, namespace: str | None) -> list[dict[str, Any]]:
        found = [p for r in self._live() for (ns, _), p in r.pods.items()
                 if namespace is None or ns == namespace]
        return sorted(found, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))


def _existing_pods(backend: ApiBackend, namespace: str | None) -> dict[tuple[str, str], str]:
    return {(s.obj["metadata"].get("namespace", ""), s.obj["metadata"]["name"]):
            s.obj["metadata"].get("uid", "") for s in backend.store.list("pods", namespace)}


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


def _json(body: dict[str, Any], code: int = 200) -> Response:
    return Response(encode(body), status_code=code, media_type="application/json")


def _answer(store: MetricsStore, backend: ApiBackend, method: str, parts: list[str],
            query: Any, body: bytes, content_type: str) -> Response:
    labels = parse_label_selector(query.get("labelSelector"))
    reports: list[tuple[str, Any]] = []
    if parts[:1] == ["nodes"] and len(parts) == 3 and parts[2] == "report" and method == "PUT":
        reports = [(parts[1], decode_body(body, content_type))]
    elif parts == ["reports"] and method == "PUT":
        listing = decode_body(body, content_type)
        items = listing.get("items") if isinstance(listing, dict) else None
        if not isinstance(items, list):
            raise BadRequest("a MetricsReportList needs items")
        for item in items:
            name = ((item.get("node") or {}).get("metadata") or {}).get("name") \
                if isinstance(item, dict) else None
            if not name:
                raise BadRequest("a MetricsReport needs a node (NodeMetrics) with a name")
            reports.append((name, item))
    if reports:
        for name, report in reports:
            store.put(name, report)
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {},
                      "status": "Success", "code": 200})
    if method != "GET":
        raise MethodNotAllowed()
    if parts[:1] == ["nodes"] and len(parts) <= 2:
        nodes = store.nodes()
        if len(parts) == 2:
            found = [n for n in nodes if n["metadata"]["name"] == parts[1]]
            if not found:
                raise NotFound("metrics.k8s.io", "nodes", parts[1])
            return _json(found[0])
        return _json(_list("NodeMetricsList",
                           [n for n in nodes if labels.matches(n["metadata"].get("labels"))]))
    namespace = None
    if parts[:1] == ["namespaces"] and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    if parts[:1] == ["pods"] and len(parts) <= 2:
        existing = _existing_pods(backend, namespace)
        pods = [p for p in store.pods(namespace)
                if existing.get((p["metadata"]["namespace"], p["metadata"]["name"]))
                == p["metadata"].get("uid")]
        pods = [{**p, "metadata": {k: v for k, v in p["metadata"].items() if k != "uid"}}
                for p in pods]
        if len(parts) == 2:
            found = [p for p in pods if p["metadata"]["name"] == parts[1]]
            if not found:
                raise NotFound("metrics.k8s.io", "pods", parts[1])
            return _json(found[0])
        return _json(_list("PodMetricsList",
                           [p for p in pods if labels.matches(p["metadata"].get("labels"))]))
    raise PathNotFound()


def metrics_endpoint(store: MetricsStore, backend: ApiBackend):
    """The Starlette endpoint for ``/apis/metrics.k8s.io/v1beta1/{path}``."""

    async def endpoint(request: Request) -> Response:
        parts = [p for p in request.path_params["path"].split("/") if p]
        body = await request.body() if request.method == "PUT" else b""
        try:
            return _answer(store, backend, request.method, parts, request.query_params, body,
                           request.headers.get("content-type", "application/json"))
        except ApiError as error:
            return _json(error.status(), error.code)

    return endpoint
