"""The async HTTP seam every controller and simulated node uses to reach the API server.

One :class:`AsyncApi` per control plane holds one ``aiohttp.ClientSession`` for requests and one
for watches; :meth:`AsyncApi.request` builds, sends and checks every call (aiohttp errors →
:class:`ControllerConnectionError`, failure ``Status`` bodies → :class:`ControllerApiError`
carrying the HTTP code and reason), like ``shiplane.kube.KubeClient.request`` does
synchronously. Paths are plain REST paths: controllers know their few kinds
(:data:`RESOURCES`), so no discovery round-trips.

Why aiohttp here and httpx elsewhere: the control plane of a 1,000-node cluster sends thousands
of requests a second from one event loop, and httpx/httpcore/anyio spent about half of that
loop's CPU per request (pool scans, socket liveness probes, anyio wrappers) in
``bench/cluster.py``; aiohttp's C-accelerated client does the same work for a fraction.
Bodies are encoded and decoded with orjson.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

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

USER_AGENT = "shiplane-control-plane/1.0"
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
        self.base_url = base_url.rstrip("/")
        self._max_connections = max_connections
        self._ssl: ssl.SSLContext | bool = verify if verify is not True else True
        # the API server names the field manager of every write after the User-Agent
        self._headers = {"User-Agent": USER_AGENT,
                         **({"Authorization": f"Bearer {token}"} if token else {})}
        self._session: aiohttp.ClientSession | None = None
        self._watch_session: aiohttp.ClientSession | None = None
        self.requests = 0
        self.requests_by: Counter[str] = Counter()  # "VERB plural[/sub]" → count

    def _sessions(self) -> tuple[aiohttp.ClientSession, aiohttp.ClientSession]:
        """Created on first use, inside the event loop that will run them."""
        if self._session is None or self._watch_session is None:
            # Idle connections are dropped after 3 s, before uvicorn's keep-alive timeout (5 s
            # by default) can close them under a request.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ssl=self._ssl,
                                               keepalive_timeout=3.0),
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=30.0),
                # no Accept-Encoding: on loopback, compressing costs both sides more CPU
                skip_auto_headers=("Accept-Encoding",),
            )
            # watches hold their connection for minutes: a pool of their own, so they never
            # starve requests
            self._watch_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10.0),
                skip_auto_headers=("Accept-Encoding",),
            )
        return self._session, self._watch_session

    @classmethod
    def from_kubeconfig(cls, path: Path, **options: Any) -> AsyncApi:
        """Server, CA, client certificate or token of the kubeconfig's current context."""
        settings = load_kubeconfig(path).settings()
        token = settings.token or (settings.token_file.read_text().strip()
                                   if settings.token_file else None)
        return cls(settings.server.rstrip("/"), verify=_tls(settings), token=token, **options)

    async def close(self) -> None:
        for session in (self._session, self._watch_session):
            if session is not None:
                await session.close()
        self._session = self._watch_session = None

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
        self.requests_by[_tally(method, path)] += 1
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = content_type
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
        session, _ = self._sessions()
        try:
            async with session.request(method, url, data=data, headers=headers) as response:
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ControllerConnectionError(f"{method} {path}: {str(exc) or type(exc).__name__}") from exc
        if status >= 400:
            _raise(status, content)
        return orjson.loads(content) if content else {}

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
        _, session = self._sessions()
        try:
            async with session.get(self.base_url + path + "?" + urlencode(params),
                                   headers={"Accept": "application/json"}) as response:
                if response.status >= 400:
                    _raise(response.status, await response.read())
                buffer = b""
                # frames are newline-delimited JSON; one chunk may hold many (or part of one)
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    if b"\n" not in chunk:
                        continue
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield orjson.loads(line)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ControllerConnectionError(f"watch {path}: {str(exc) or type(exc).__name__}") from exc


def _tally(method: str, path: str) -> str:
    """``PATCH pods/status`` for ``/api/v1/namespaces/ns/pods/name/status`` (request counts)."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    parts = parts[2:] if parts[0] == "api" else parts[3:]
    if parts and parts[0] == "namespaces" and len(parts) > 2 and parts[2] not in ("status", "finalize"):
        parts = parts[2:]
    plural = parts[0] if parts else ""
    sub = parts[2] if len(parts) > 2 else ""
    return f"{method} {plural}{'/' + sub if sub else ''}"


def _raise(code: int, content: bytes) -> None:
    try:
        status = orjson.loads(content)
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    text = content.decode("utf-8", "replace")
    message = status.get("message") or text or f"HTTP {code}"
    raise ControllerApiError(message, code, status.get("reason", ""))
