"""Errors of the authentication and authorization core::

    ClusterError
    └── AuthError                 TLS material, credentials or permissions
        ├── TLSMaterialError      certificates/keys cannot be made, read or written
        ├── Unauthenticated       credentials were presented and are not valid (401)
        ├── InvalidTokenFile      the static token file is malformed
        └── Forbidden             RBAC denied the request (403, upstream message)
"""

from __future__ import annotations

from typing import Any

from shiplane.errors import ClusterError

__all__ = ["AuthError", "Forbidden", "InvalidTokenFile", "TLSMaterialError", "Unauthenticated"]


class AuthError(ClusterError):
    """Authentication or authorization failed."""


class TLSMaterialError(AuthError):
    """TLS material could not be created, loaded or written."""


class InvalidTokenFile(AuthError):
    """The static token file is malformed."""


class Unauthenticated(AuthError):
    """Presented credentials are invalid; ``why`` is for logs, never for the client."""

    def __init__(self, why: str) -> None:
        super().__init__("Unauthorized")
        self.why = why

    def status(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


class Forbidden(AuthError):
    """403 with upstream's message and Status details."""

    def __init__(self, message: str, *, name: str = "", group: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.details = {"name": name, "group": group, "kind": kind}

    def status(self) -> dict[str, Any]:
        details = {k: v for k, v in self.details.items() if v}
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": "Forbidden", "details": details, "code": 403}
