"""A synchronous httpx client over an ASGI app, in-process (no sockets, no threads).

``asgi_client(app)`` gives an ``httpx.Client`` whose transport runs each request
through httpx's own ``ASGITransport`` on a fresh event loop; the response body
is read inside that loop. Request bodies may be bytes or (sync) iterators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["asgi_client"]


class _SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        chunks = list(request.stream)  # type: ignore[arg-type]

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        async def run() -> httpx.Response:
            async_request = httpx.Request(request.method, request.url, headers=request.headers,
                                          content=body() if chunks else b"")
            response = await self._inner.handle_async_request(async_request)
            data = b"".join([part async for part in response.stream])  # type: ignore[union-attr]
            return httpx.Response(response.status_code, headers=response.headers, content=data)

        return asyncio.run(run())


def asgi_client(app: Any, base_url: str = "http://testserver") -> httpx.Client:
    """An ``httpx.Client`` that calls ``app`` directly."""
    return httpx.Client(transport=_SyncASGITransport(app), base_url=base_url)
