"""Errors of the Kubernetes client side::

    ClusterError (shiplane.errors)
    └── KubeError
        ├── KubeconfigError        the kubeconfig is missing, invalid, or names an unknown context
        ├── CredentialError        an exec credential plugin failed or returned nonsense
        ├── ConnectionFailed       the API server could not be reached
        └── ApiError               the API server answered with a failure Status (code, reason)
"""

from __future__ import annotations

from typing import Any

from shiplane.errors import ClusterError

__all__ = ["ApiError", "ConnectionFailed", "CredentialError", "KubeError", "KubeconfigError"]


class KubeError(ClusterError):
    pass


class KubeconfigError(KubeError):
    pass


class CredentialError(KubeError):
    pass


class ConnectionFailed(KubeError):
    pass


class ApiError(KubeError):
    """A ``Status`` failure from the API server, e.g. 404 NotFound or 409 Conflict."""

    def __init__(self, status: dict[str, Any], *, code: int) -> None:
        self.status = status
        self.code = int(status.get("code") or code)
        self.reason = str(status.get("reason") or "")
        super().__init__(str(status.get("message") or f"HTTP {self.code}"))

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list((self.status.get("details") or {}).get("causes") or [])
