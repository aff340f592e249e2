"""A Kubernetes API client for any cluster: the embedded one, kind, EKS.

One transport seam (:meth:`KubeClient.request`) builds, sends and checks every
call; errors from httpx become :class:`ConnectionFailed`, failure ``Status``
bodies become :class:`ApiError`. Authentication is an ``httpx.Auth`` flow:
static token, token file, basic auth, client certificates, or an exec plugin
whose credential is refreshed once when the server answers 401 (as client-go).
Kinds are mapped to REST paths through the server's own discovery documents.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shiplane.kube.errors import ApiError, ConnectionFailed, KubeError
from shiplane.kube.exec_credential import ExecCredentialSource
from shiplane.kube.kubeconfig import ConnectionSettings, load_kubeconfig

__all__ = ["PATCH_CONTENT_TYPES", "KubeClient", "ResourceInfo"]

PATCH_CONTENT_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


class _KubeAuth(httpx.Auth):
    """Bearer/basic/exec authentication with one retry after a 401 for exec tokens."""

    def __init__(self, settings: ConnectionSettings, exec_source: ExecCredentialSource | None):
        self._settings = settings
        self._exec = exec_source

    def _token(self) -> str | None:
        if self._exec is not None:
            return self._exec.get().token
        if self._settings.token_file is not None:
            # Re-read every time: projected tokens rotate (client-go cachingTokenSource).
            return self._settings.token_file.read_text().strip()
        return self._settings.token

    def _apply(self, request: httpx.Request) -> None:
        token = self._token()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._settings.username is not None:
            basic = httpx.BasicAuth(self._settings.username, self._settings.password or "")
            request.headers["Authorization"] = basic._auth_header  # noqa: SLF001

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._apply(request)
        response = yield request
        if response.status_code == 401 and self._exec is not None:
            self._exec.invalidate()
            self._apply(request)
            yield request


def _ssl_context(settings: ConnectionSettings, exec_source: ExecCredentialSource | None) -> ssl.SSLContext | bool:
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
    cert, key = settings.client_cert_data, settings.client_key_data
    if exec_source is not None:
        credential = exec_source.get()
        if credential.client_certificate_data and credential.client_key_data:
            cert = credential.client_certificate_data.encode()
            key = credential.client_key_data.encode()
    if cert and key:
        # ssl only loads key material from files: write them privately, load, remove.
        with tempfile.TemporaryDirectory(prefix="shiplane-tls-") as folder:
            cert_path, key_path = Path(folder, "client.crt"), Path(folder, "client.key")
            for path, data in ((cert_path, cert), (key_path, key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            context.load_cert_chain(cert_path, key_path)
    return context


class KubeClient:
    """Talks to one API server described by :class:`ConnectionSettings`."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._exec = ExecCredentialSource(settings.exec) if settings.exec else None
        verify = _ssl_context(settings, self._exec) if transport is None else True
        self._http = httpx.Client(
            base_url=settings.server,
            auth=_KubeAuth(settings, self._exec),
            verify=verify,
            timeout=timeout,
            transport=transport,
            proxy=settings.proxy_url,
            headers={"User-Agent": "shiplane/0.1", "Accept": "application/json"},
        )
        self._resources: dict[tuple[str, str], ResourceInfo] = {}
        self._discovered: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, path: Path | None = None, context: str | None = None, **kwargs: Any) -> KubeClient:
        return cls(load_kubeconfig(path).settings(context), **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the transport seam -------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; return the response, or raise ApiError/ConnectionFailed."""
        extra = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            extra["Content-Type"] = content_type
        extensions = {"sni_hostname": self.settings.tls_server_name} if self.settings.tls_server_name else None
        try:
            response = self._http.request(
                method, path, params=_clean(params), content=content, headers=extra, extensions=extensions
            )
        except httpx.HTTPError as error:
            raise ConnectionFailed(
                f"cannot reach the Kubernetes API at {self.settings.server}: {error}",
                hint=f"is the cluster of context {self.settings.context!r} running?",
            ) from None
        _raise_for_status(response)
        return response

    # -- discovery ----------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return self.request("GET", "/version").json()

    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        key = (api_version, kind)
        with self._lock:
            if key not in self._resources and api_version not in self._discovered:
                self._discover(api_version)
            if key not in self._resources:
                raise KubeError(f'no matches for kind "{kind}" in version "{api_version}"',
                                hint="is the resource (or its CRD) installed on this cluster?")
            return self._resources[key]

    def _discover(self, api_version: str) -> None:
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{api_version}" if group else f"/api/{version}"
        try:
            document = self.request("GET", path).json()
        except ApiError as error:
            if error.code != 404:
                raise
            document = {"resources": []}
        for item in document.get("resources", []):
            if "/" in item["name"]:
                continue  # subresources
            self._resources[(api_version, item["kind"])] = ResourceInfo(
                group, version, item["kind"], item["name"], bool(item.get("namespaced"))
            )
        self._discovered.add(api_version)

    # -- verbs --------------------------------------------------------------------------------
    def _object_path(self, api_version: str, kind: str, name: str, namespace: str | None) -> str:
        info = self.resource(api_version, kind)
        return f"{info.collection_path(self._ns(info, namespace))}/{name}"

    def _ns(self, info: ResourceInfo, namespace: str | None) -> str | None:
        return (namespace or self.settings.namespace) if info.namespaced else None

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("GET", self._object_path(api_version, kind, name, namespace)).json()

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, *,
        label_selector: str | None = None, field_selector: str | None = None, all_namespaces: bool = False,
        page_size: int = 500,
    ) -> list[dict[str, Any]]:
        info = self.resource(api_version, kind)
        path = info.collection_path(None if all_namespaces else self._ns(info, namespace))
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.request("GET", path, params={
                "labelSelector": label_selector, "fieldSelector": field_selector,
                "limit": page_size, "continue": token,
            }).json()
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def create(self, obj: Mapping[str, Any], namespace: str | None = None, *, dry_run: bool = False) -> dict[str, Any]:
        info = self.resource(obj["apiVersion"], obj["kind"])
        ns = self._ns(info, namespace or (obj.get("metadata") or {}).get("namespace"))
        params = {"dryRun": "All" if dry_run else None}
        return self.request("POST", info.collection_path(ns), body=obj, params=params).json()

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        path = self._object_path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return self.request("PUT", path, body=obj).json()

    def patch(
        self, api_version: str, kind: str, name: str, patch: Any, *, patch_type: str = "merge",
        namespace: str | None = None, field_manager: str | None = None, force: bool | None = None,
        subresource: str | None = None, dry_run: bool = False,
    ) -> dict[str, Any]:
        path = self._object_path(api_version, kind, name, namespace)
        if subresource:
            path += f"/{subresource}"
        params = {"fieldManager": field_manager, "force": _bool(force), "dryRun": "All" if dry_run else None}
        return self.request(
            "PATCH", path, body=patch, content_type=PATCH_CONTENT_TYPES[patch_type], params=params
        ).json()

    def apply(
        self, obj: Mapping[str, Any], *, field_manager: str, force: bool = False, dry_run: bool = False,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """Server-side apply (``application/apply-patch+yaml``; JSON is valid YAML)."""
        meta = obj["metadata"]
        return self.patch(
            obj["apiVersion"], obj["kind"], meta["name"], obj, patch_type="apply",
            namespace=namespace or meta.get("namespace"), field_manager=field_manager,
            force=force, dry_run=dry_run,
        )

    def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None, *,
        propagation_policy: str | None = None, grace_period_seconds: int | None = None,
    ) -> dict[str, Any]:
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds  # type: ignore[assignment]
        return self.request("DELETE", self._object_path(api_version, kind, name, namespace), body=body).json()

    def watch(
        self, api_version: str, kind: str, namespace: str | None = None, *,
        resource_version: str | None = None, label_selector: str | None = None,
        field_selector: str | None = None, timeout_seconds: int | None = None, bookmarks: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Yield watch events ``{"type", "object"}``; an ERROR event raises ApiError (e.g. 410)."""
        info = self.resource(api_version, kind)
        params = _clean({
            "watch": "1", "resourceVersion": resource_version, "labelSelector": label_selector,
            "fieldSelector": field_selector, "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if bookmarks else None,
        })
        try:
            with self._http.stream("GET", info.collection_path(self._ns(info, namespace)),
                                   params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        raise ApiError(event.get("object") or {}, code=500)
                    yield event
        except httpx.HTTPError as error:
            raise ConnectionFailed(f"watch of {info.plural} interrupted: {error}") from None


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {key: value for key, value in params.items() if value is not None}


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        status = response.json()
    except ValueError:
        status = {}
    if not isinstance(status, dict) or status.get("kind") != "Status":
        status = {"code": response.status_code, "message": response.text[:500] or response.reason_phrase}
    raise ApiError(status, code=response.status_code)
