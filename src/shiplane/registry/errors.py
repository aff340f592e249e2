"""Errors of the registry package, on both sides of the wire.

::

    RegistryError (shiplane.errors)
    ├── ReferenceInvalid      a name, tag, digest or image reference does not parse
    ├── ManifestParseError    manifest bytes are not a manifest we understand
    ├── DigestMismatch        downloaded or uploaded bytes do not hash to their digest
    ├── RegistryUnreachable   the transport failed (connection refused, timeout, TLS)
    ├── CredentialsError      no usable credentials (docker config, ECR, login-password)
    ├── LayoutError           an OCI image layout on disk is missing or inconsistent
    └── RegistryApiError      an error answer of the Distribution API, with its spec code

``RegistryApiError`` is shared by server and client: the server raises it and
renders ``{"errors":[{"code","message","detail"}]}``; the client parses that body
back into the same class, so ``error.code == "MANIFEST_UNKNOWN"`` reads the same
in both places.
"""

from __future__ import annotations

from typing import Any

from shiplane.errors import RegistryError

__all__ = [
    "ERROR_STATUS",
    "CredentialsError",
    "DigestMismatch",
    "LayoutError",
    "ManifestParseError",
    "ReferenceInvalid",
    "RegistryApiError",
    "RegistryError",
    "RegistryUnreachable",
]

# Default HTTP status per error code (distribution-spec "Error Codes" table;
# registry/api/errcode in distribution for the statuses).
ERROR_STATUS: dict[str, int] = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
}


class ReferenceInvalid(RegistryError):
    """A repository name, tag, digest or image reference is malformed."""


class ManifestParseError(RegistryError):
    """Bytes that should be a manifest or index are not one."""


class DigestMismatch(RegistryError):
    """Content does not hash to the digest it was announced with."""


class RegistryUnreachable(RegistryError):
    """The registry could not be reached (connection, timeout, TLS)."""


class CredentialsError(RegistryError):
    """Credentials are missing, invalid or expired."""


class LayoutError(RegistryError):
    """An OCI image layout directory is missing a file or is inconsistent."""


class RegistryApiError(RegistryError):
    """An error answer of the OCI Distribution API.

    ``code`` is one of the spec's codes (``ERROR_STATUS`` keys); ``status`` the
    HTTP status; ``detail`` any JSON value giving more context.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        detail: Any = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}", hint=hint)
        self.code = code
        self.reason = message
        self.status = status if status is not None else ERROR_STATUS.get(code, 400)
        self.detail = detail
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The spec's error body for this error."""
        return {"errors": [{"code": self.code, "message": self.reason, "detail": self.detail}]}
