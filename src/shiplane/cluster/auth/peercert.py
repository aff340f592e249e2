"""Hand the TLS peer certificate to the ASGI app (the I/O adapter for client-cert auth).

uvicorn verifies client certificates (``ssl_cert_reqs=CERT_OPTIONAL`` with the cluster CA
as ``ssl_ca_certs``) but does not put them in the ASGI scope (uvicorn issue #745; the ASGI TLS
extension is not implemented in the pinned release). :class:`PeerCertH11Protocol` is
uvicorn's h11 protocol that, per connection, adds
``scope["extensions"]["tls"] = {"client_cert_der": <bytes|None>}`` — a subset of the ASGI TLS
extension — so handlers can call :func:`shiplane.cluster.auth.authenticate` with a
certificate the TLS layer already chain-verified. Pass it as ``uvicorn.Config(http=...)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

__all__ = ["PeerCertH11Protocol", "PeerCertWSProtocol", "peer_certificate"]


def peer_certificate(scope: dict[str, Any]) -> bytes | None:
    """The verified client certificate (DER) of this request's connection, if any."""
    return ((scope.get("extensions") or {}).get("tls") or {}).get("client_cert_der")


def _with_peer_certificate(inner: Any, der: bytes | None) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        extensions = dict(scope.get("extensions") or {})
        extensions["tls"] = {"client_cert_der": der}
        scope["extensions"] = extensions
        await inner(scope, receive, send)

    return app


class PeerCertWSProtocol(WSProtocol):
    """The WebSocket side (``pods/portforward``): uvicorn hands an upgraded connection to a new
    protocol object that calls the app directly, so it needs the certificate added too."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.app = _with_peer_certificate(self.app, ssl_object.getpeercert(binary_form=True))


class PeerCertH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.ws_protocol_class is not None:
            self.ws_protocol_class = PeerCertWSProtocol
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if ssl_object is None:
            return
        inner = self.app

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {"client_cert_der": der}
            scope["extensions"] = extensions
            await inner(scope, receive, send)

        self.app = app
