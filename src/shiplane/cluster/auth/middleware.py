"""ASGI middleware: authenticate and authorize every request before the API handlers.

Wraps the API server's app (kube-apiserver's ``WithAuthentication`` → ``WithAuthorization``
filters). The peer certificate comes from :mod:`.peercert`; the authorizer is asked for on
each request (``authorizer()``), so the server can rebuild it when RBAC objects change.
Failures answer upstream ``Status`` bodies (401 ``Unauthorized``, 403 with the RBAC message);
success stores the user in ``scope["state"]["user"]`` for handlers (SelfSubjectAccessReview,
default field manager, audit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shiplane.cluster.auth.authn import RequestCredentials
from shiplane.cluster.auth.errors import Forbidden, Unauthenticated
from shiplane.cluster.auth.guard import Authenticators, guard
from shiplane.cluster.auth.peercert import peer_certificate
from shiplane.cluster.auth.rbac import RBACAuthorizer

__all__ = ["AuthMiddleware"]


class AuthMiddleware:
    def __init__(self, app: Any, authenticators: Authenticators,
                 authorizer: Callable[[], RBACAuthorizer]) -> None:
        self.app = app
        self.authenticators = authenticators
        self.authorizer = authorizer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        der = peer_certificate(scope)
        credentials = RequestCredentials(client_cert_der=der, authorization=headers.get("authorization"),
                                         cert_chain_verified=der is not None)
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            user, attrs = guard(scope["method"], scope["path"], query, credentials,
                                self.authenticators, self.authorizer())
        except Unauthenticated as exc:
            await _answer(send, 401, exc.status())
            return
        except Forbidden as exc:
            await _answer(send, 403, exc.status())
            return
        state = scope.setdefault("state", {})
        state["user"] = user
        state["attributes"] = attrs
        await self.app(scope, receive, send)


    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """WebSocket upgrades (GET) to pods/portforward|exec|attach are authorized as
        ``create`` on the subresource, like kube-apiserver with
        AuthorizePodWebsocketUpgradeCreatePermission (default since 1.31)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        der = peer_certificate(scope)
        credentials = RequestCredentials(client_cert_der=der,
                                         authorization=headers.get("authorization"),
                                         cert_chain_verified=der is not None)
        subresource = scope["path"].rstrip("/").rsplit("/", 1)[-1]
        streaming = subresource in ("portforward", "exec", "attach")
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            user, attrs = guard("POST" if streaming else "GET", scope["path"], query, credentials,
                                self.authenticators, self.authorizer())
        except (Unauthenticated, Forbidden) as exc:
            code = 401 if isinstance(exc, Unauthenticated) else 403
            data = json.dumps(exc.status(), separators=(",", ":")).encode()
            await send({"type": "websocket.http.response.start", "status": code,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(data)).encode())]})
            await send({"type": "websocket.http.response.body", "body": data})
            return
        state = scope.setdefault("state", {})
        state["user"] = user
        state["attributes"] = attrs
        await self.app(scope, receive, send)


async def _answer(send: Any, code: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
