"""The async HTTP seam every controller and simulated node uses to reach the API server.

One :class:`AsyncApi` per control plane holds one ``httpx.AsyncClient``; :meth:`AsyncApi.request`
builds, sends and checks every call (httpx errors → :class:`ControllerConnectionError`, failure
``Status`` bodies → :class:`ControllerApiError` carrying the HTTP code and reason), like
``shiplane.kube.KubeClient.request`` does synchronously. Paths are plain REST paths: controllers
know their few kinds (:data:`RESOURCES`), so no discovery round-trips.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shiplane.errors import ClusterError
from shiplane.kube.kubeconfig import ConnectionSettings, load_kubeconfig

__all__ = ["RESOURCES", "AsyncApi", "ControllerApiError", "ControllerConnectionError", "Resource"]


class ControllerConnectionError(ClusterError):
    """The API server could not be reached."""


class ControllerApiError(ClusterError):
    """The API server answered with a failure Status."""

    def __init__(self, message: str, code: int, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


RESOURCES = {
    "Pod": Resource("", "v1", "pods"),
    "Node": Resource("", "v1", "nodes", namespaced=False),
    "Namespace": Resource("", "v1", "namespaces", namespaced=False),
    "Service": Resource("", "v1", "services"),
    "Endpoints": Resource("", "v1", "endpoints"),
    "EndpointSlice": Resource("discovery.k8s.io", "v1", "endpointslices"),
    "ServiceAccount": Resource("", "v1", "serviceaccounts"),
    "Event": Resource("", "v1", "events"),
    "Deployment": Resource("apps", "v1", "deployments"),
    "ReplicaSet": Resource("apps", "v1", "replicasets"),
    "Lease": Resource("coordination.k8s.io", "v1", "leases"),
    "Secret": Resource("", "v1", "secrets"),
    "StatefulSet": Resource("apps", "v1", "statefulsets"),
    "PodDisruptionBudget": Resource("policy", "v1", "poddisruptionbudgets"),
    "HorizontalPodAutoscaler": Resource("autoscaling", "v2", "horizontalpodautoscalers"),
    "Job": Resource("batch", "v1", "jobs"),
    "Ingress": Resource("networking.k8s.io", "v1", "ingresses"),
}

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def _tls(settings: ConnectionSettings) -> ssl.SSLContext | bool:
    """Server verification and client certificate from kubeconfig settings."""
    if not settings.server.startswith("https://"):
        return True
    if settings.insecure_skip_tls_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif settings.ca_data:
        context = ssl.create_default_context(cadata=settings.ca_data.decode("ascii", "replace"))
    else:
        context = ssl.create_default_context()
    if settings.client_cert_data and settings.client_key_data:
        with tempfile.TemporaryDirectory(prefix="shiplane-tls-") as folder:
            paths = [Path(folder, "client.crt"), Path(folder, "client.key")]
            for path, data in zip(paths, (settings.client_cert_data, settings.client_key_data)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            context.load_cert_chain(*paths)
    return context


class AsyncApi:
    def __init__(
        self, base_url: str, *, max_connections: int = 16, verify: ssl.SSLContext | bool = True,
        token: str | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30.0),
                                         limits=limits, verify=verify, headers=headers)
        # watches hold their connection for minutes: a pool of their own, so they never
        # starve requests (httpcore scans its pool per request: a small one is cheaper)
        self._watch_client = httpx.AsyncClient(
            base_url=base_url, limits=httpx.Limits(max_connections=None), verify=verify,
            headers=headers,
        )
        self.requests = 0

    @classmethod
    def from_kubeconfig(cls, path: Path, **options: Any) -> AsyncApi:
        """Server, CA, client certificate or token of the kubeconfig's current context."""
        settings = load_kubeconfig(path).settings()
        token = settings.token or (settings.token_file.read_text().strip()
                                   if settings.token_file else None)
        return cls(settings.server.rstrip("/"), verify=_tls(settings), token=token, **options)

    async def close(self) -> None:
        await self._client.aclose()
        await self._watch_client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        self.requests += 1
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            content = json.dumps(body)
            headers["Content-Type"] = content_type
        try:
            response = await self._client.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ControllerConnectionError(f"{method} {path}: {exc}") from exc
        if response.status_code >= 400:
            _raise(response)
        return response.json() if response.content else {}

    async def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return await self.request("GET", RESOURCES[kind].path(namespace, name))

    async def list(self, kind: str, namespace: str | None = None, **params: Any) -> dict[str, Any]:
        return await self.request("GET", RESOURCES[kind].path(namespace), params=params)

    async def create(self, kind: str, namespace: str | None, obj: Mapping[str, Any]) -> dict:
        return await self.request("POST", RESOURCES[kind].path(namespace), body=obj)

    async def replace(self, kind: str, obj: Mapping[str, Any], sub: str = "") -> dict:
        meta = obj["metadata"]
        path = RESOURCES[kind].path(meta.get("namespace"), meta["name"], sub)
        return await self.request("PUT", path, body=obj)

    async def patch(
        self, kind: str, namespace: str | None, name: str, patch: Any, *, sub: str = "",
        content_type: str = MERGE,
    ) -> dict:
        path = RESOURCES[kind].path(namespace, name, sub)
        return await self.request("PATCH", path, body=patch, content_type=content_type)

    async def delete(
        self, kind: str, namespace: str | None, name: str, *, grace: int | None = None,
        propagation: str | None = None, uid: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace is not None:
            body["gracePeriodSeconds"] = grace
        if propagation:
            body["propagationPolicy"] = propagation
        if uid:
            body["preconditions"] = {"uid": uid}
        return await self.request("DELETE", RESOURCES[kind].path(namespace, name), body=body)

    async def watch(
        self, kind: str, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events of ``kind`` in all namespaces from ``resource_version``."""
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        path = RESOURCES[kind].path(None)
        try:
            async with self._watch_client.stream(
                "GET", path, params=params, timeout=httpx.Timeout(None, connect=10.0)
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    _raise(response)
                async for line in response.aiter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.HTTPError as exc:
            raise ControllerConnectionError(f"watch {path}: {exc}") from exc


def _raise(response: httpx.Response) -> None:
    try:
        status = response.json()
    except ValueError:
        status = {}
    message = status.get("message") or response.text or f"HTTP {response.status_code}"
    raise ControllerApiError(message, response.status_code, status.get("reason", ""))
