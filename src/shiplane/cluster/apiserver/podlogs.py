"""``pods/{name}/log``: the API server proxies container logs to the pod's kubelet.

As upstream (pkg/registry/core/pod/rest/log.go, strategy.go ``LogLocation``): the options are
validated (``PodLogOptions "p" is invalid: ...``, 422), the container is defaulted when the pod
has exactly one (else 400 ``a container name must be specified for pod p, choose one of:
[a b]``; an unknown one is 400 ``container c is not valid for pod p``), an unscheduled pod has
no log (empty body), and the request goes to
``<node>:<status.daemonEndpoints.kubeletEndpoint.Port>/containerLogs/{ns}/{pod}/{container}``
with the same options. The embedded kubelets all listen on this host's loopback, so the node's
address is 127.0.0.1. A kubelet error (plain text) comes back as a ``Status`` with its code
(400 BadRequest, 404 NotFound), as the generic HTTP response checker does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from starlette.responses import Response, StreamingResponse

from shiplane.cluster.apiserver.backend import ApiBackend
from shiplane.cluster.decisions.container_log import InvalidLogOptions, parse_options
from shiplane.cluster.store.errors import ApiError, BadRequest, NotFound

__all__ = ["KUBELET_HOST", "kubelet_url", "log_location", "pod_log"]

KUBELET_HOST = "127.0.0.1"


class _InvalidOptions(ApiError):
    code = 422
    reason = "Invalid"


class _KubeletError(ApiError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = {400: "BadRequest", 404: "NotFound", 403: "Forbidden"}.get(
            code, "InternalError")


def _names(containers: list[dict]) -> str:
    return " ".join(c.get("name", "") for c in containers)


def kubelet_url(backend: ApiBackend, node_name: str) -> str:
    """The kubelet API of ``node_name`` (its Node's daemonEndpoints.kubeletEndpoint.Port)."""
    nodes = backend.registry.lookup("", "v1", "nodes")
    assert nodes is not None
    try:
        node = backend.get(nodes, "", node_name).obj
    except NotFound:
        raise NotFound("", "nodes", node_name) from None
    port = (((node.get("status") or {}).get("daemonEndpoints") or {})
            .get("kubeletEndpoint") or {}).get("Port")
    if not port:
        raise BadRequest(f"node {node_name} has no kubelet endpoint")
    return f"http://{KUBELET_HOST}:{port}"


def log_location(pod: Mapping[str, Any], container: str) -> tuple[str, str]:
    """(container, node name) for a log request; raises the upstream 400s."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    init = spec.get("initContainers") or []
    if not container:
        if len(containers) == 1:
            container = containers[0]["name"]
        elif not containers:
            raise BadRequest(f"a container name must be specified for pod {name}")
        else:
            text = (f"a container name must be specified for pod {name}, choose one of: "
                    f"[{_names(containers)}]")
            if init:
                text += f" or one of the init containers: [{_names(init)}]"
            raise BadRequest(text)
    elif not any(c.get("name") == container for c in [*containers, *init,
                                                       *(spec.get("ephemeralContainers") or [])]):
        raise BadRequest(f"container {container} is not valid for pod {name}")
    return container, spec.get("nodeName") or ""


async def pod_log(backend: ApiBackend, namespace: str, name: str,
                  query: Mapping[str, str]) -> Response:
    params = dict(query)
    try:
        options = parse_options(params)
    except InvalidLogOptions as exc:
        raise _InvalidOptions(f'PodLogOptions "{name}" is invalid: {exc}') from None
    pods = backend.registry.lookup("", "v1", "pods")
    assert pods is not None
    pod = backend.get(pods, namespace, name).obj
    container, node_name = log_location(pod, options.container)
    if not node_name:
        return Response(b"", media_type="text/plain")
    url = f"{kubelet_url(backend, node_name)}/containerLogs/{namespace}/{name}/{container}"
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
    request = client.build_request("GET", url, params=options.query())
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise _KubeletError(500, f"Get \"{url}\": {exc}") from None
    if response.status_code >= 300:
        text = (await response.aread()).decode(errors="replace").strip()
        await response.aclose()
        await client.aclose()
        raise _KubeletError(response.status_code, text)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:
            await response.aclose()
            await client.aclose()

    return StreamingResponse(body(), media_type="text/plain")
