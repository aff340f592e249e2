"""``pods/{name}/exec`` and ``pods/{name}/attach``: the API server proxies to the pod's kubelet.

As upstream (pkg/registry/core/pod/strategy.go ``streamLocation``, rest/subresources.go): the
container is defaulted or checked exactly as for ``pods/log`` (400 ``container c is not valid
for pod p``), an unscheduled pod is 400 ``pod p does not have a host assigned``, and the
request goes to ``<node>:<kubeletEndpoint.Port>/{exec|attach}/{ns}/{pod}/{container}`` with
the options under the kubelet's names (:func:`~shiplane.cluster.decisions.remote_command.
kubelet_query`). The API server never touches the runtime itself.

* **WebSocket** (kubectl 1.30+, client libraries; RemoteCommand ``v5.channel.k8s.io`` /
  ``v4.channel.k8s.io``): the API server opens a WebSocket to the kubelet with the client's
  subprotocols, accepts the client's with the one the kubelet chose and relays binary
  messages both ways until either side closes. A kubelet refusal becomes a ``Status`` with
  its code and text in the refused handshake (upstream's StreamTranslator answers likewise).
* **Plain HTTP** (a SPDY upgrade, kubectl's fallback after a refused WebSocket): the kubelet's
  answer is passed through as upstream's UpgradeAwareHandler does, so kubectl prints its
  ``unable to upgrade connection: <kubelet text>``; SPDY itself is not served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aiohttp
import httpx
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from shiplane.cluster.apiserver.backend import ApiBackend
from shiplane.cluster.apiserver.podlogs import kubelet_url, log_location
from shiplane.cluster.decisions.remote_command import (
    InvalidStreamOptions,
    apiserver_options,
    kubelet_query,
)
from shiplane.cluster.store.errors import ApiError, BadRequest
from shiplane.cluster.store.model import encode

__all__ = ["kubelet_stream_url", "pod_stream_request", "serve_pod_stream"]

log = logging.getLogger(__name__)


class _KubeletError(ApiError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = {400: "BadRequest", 404: "NotFound", 403: "Forbidden"}.get(
            code, "InternalError")


def kubelet_stream_url(backend: ApiBackend, namespace: str, name: str, kind: str,
                       query: Sequence[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """(kubelet URL, kubelet query) for an exec/attach request; raises the upstream errors."""
    try:
        options = apiserver_options(query, exec_=kind == "exec")
    except InvalidStreamOptions as exc:
        raise BadRequest(str(exc)) from None
    pods = backend.registry.lookup("", "v1", "pods")
    assert pods is not None
    pod = backend.get(pods, namespace, name).obj
    container, node_name = log_location(pod, options.container)
    if not node_name:
        raise BadRequest(f"pod {name} does not have a host assigned")
    url = f"{kubelet_url(backend, node_name)}/{kind}/{namespace}/{name}/{container}"
    return url, kubelet_query(options)


async def pod_stream_request(backend: ApiBackend, method: str, namespace: str, name: str,
                             kind: str, query: Sequence[tuple[str, str]]) -> Response:
    """A non-WebSocket exec/attach: the kubelet's answer, passed through."""
    url, params = kubelet_stream_url(backend, namespace, name, kind, query)
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            answer = await client.request(method, url, params=params)
    except httpx.HTTPError as exc:
        raise _KubeletError(500, f'error dialing backend: {exc}') from None
    return Response(answer.content, status_code=answer.status_code,
                    media_type=answer.headers.get("content-type", "text/plain"))


async def _kubelet_refusal(url: str, params: list[tuple[str, str]], status: int) -> ApiError:
    """The kubelet refused the WebSocket: ask again over plain HTTP for its words."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            answer = await client.get(url, params=params)
        if answer.status_code >= 400:
            return _KubeletError(answer.status_code, answer.text.strip())
    except httpx.HTTPError:
        pass
    return _KubeletError(status or 500, f"unable to upgrade connection to the kubelet ({status})")


async def _deny(websocket: WebSocket, error: ApiError) -> None:
    body = encode(error.status())
    try:
        await websocket.send_denial_response(
            Response(body, status_code=error.code, media_type="application/json"))
    except RuntimeError:  # the server cannot send an HTTP answer to a WebSocket request
        await websocket.close(code=1008, reason=str(error)[:120])


async def serve_pod_stream(websocket: WebSocket, backend: ApiBackend, kind: str) -> None:
    """Relay one exec/attach WebSocket between the client and the pod's kubelet."""
    namespace, name = websocket.path_params["namespace"], websocket.path_params["name"]
    requested = list(websocket.scope.get("subprotocols") or [])
    try:
        url, params = kubelet_stream_url(backend, namespace, name, kind,
                                         list(websocket.query_params.multi_items()))
    except ApiError as exc:
        await _deny(websocket, exc)
        return
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=10))
    try:
        try:
            upstream = await session.ws_connect(url, params=params, protocols=requested,
                                                autoping=True, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            await _deny(websocket, await _kubelet_refusal(url, params, exc.status))
            return
        except (aiohttp.ClientError, OSError) as exc:
            await _deny(websocket, _KubeletError(500, f"error dialing backend: {exc}"))
            return
        await websocket.accept(subprotocol=upstream.protocol)
        await _relay(websocket, upstream)
    finally:
        await session.close()


async def _relay(websocket: WebSocket, upstream: aiohttp.ClientWebSocketResponse) -> None:
    async def down() -> None:  # kubelet -> client
        async for message in upstream:
            if message.type == aiohttp.WSMsgType.BINARY:
                await websocket.send_bytes(message.data)
            elif message.type == aiohttp.WSMsgType.TEXT:
                await websocket.send_text(message.data)
            else:
                break

    async def up() -> None:  # client -> kubelet
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await upstream.send_bytes(message["bytes"])
            elif message.get("text") is not None:
                await upstream.send_str(message["text"])

    tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None and not isinstance(
                    task.exception(), (WebSocketDisconnect, ConnectionError, RuntimeError)):
                log.info("exec/attach relay ended: %s", task.exception())
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await upstream.close()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await websocket.close(1000)
