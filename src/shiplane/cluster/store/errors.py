"""Kubernetes API errors, shaped like upstream ``metav1.Status`` objects.

Every failure of the object store, the resource strategies and the HTTP API is an
:class:`ApiError`; the HTTP layer turns it into a ``Status`` body with the same
``code``, ``reason`` and message format as kube-apiserver, so kubectl prints what it
prints against a real cluster::

    ClusterError                      (shiplane.errors)
    └── ApiError                      code + reason + message + details → Status
        ├── NotFound                  404  `deployments.apps "x" not found`
        ├── AlreadyExists             409  `deployments.apps "x" already exists`
        ├── Conflict                  409  `Operation cannot be fulfilled on ...`
        ├── Invalid                   422  `Deployment.apps "x" is invalid: ...` + causes
        ├── BadRequest                400
        ├── Forbidden                 403
        ├── MethodNotAllowed          405
        ├── Gone                      410  reason Expired (watch / continue too old)
        ├── RequestEntityTooLarge     413
        ├── TooManyRequests           429  (eviction blocked by a disruption budget)
        ├── UnsupportedMediaType      415
        └── TooLargeResourceVersion   504  reason Timeout (a version the server has not reached)

Message formats follow k8s.io/apimachinery/pkg/api/errors/errors.go and
k8s.io/apimachinery/pkg/util/validation/field/errors.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.errors import ClusterError

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "GoLiteral",
    "Gone",
    "Invalid",
    "MethodNotAllowed",
    "NotFound",
    "RequestEntityTooLarge",
    "TooLargeResourceVersion",
    "TooManyRequests",
    "UnsupportedMediaType",
    "format_value",
    "qualified_kind",
    "qualified_resource",
]


def qualified_resource(group: str, plural: str) -> str:
    """``GroupResource.String()``: ``deployments.apps`` or ``pods``."""
    return f"{plural}.{group}" if group else plural


def qualified_kind(group: str, kind: str) -> str:
    """``GroupKind.String()``: ``Deployment.apps`` or ``Pod``."""
    return f"{kind}.{group}" if group else kind


class ApiError(ClusterError):
    """A failed API call; :meth:`status` is the upstream-shaped ``Status`` body."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(group: str, plural_or_kind: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural_or_kind}
    if group:
        details["group"] = group
    if not name:
        del details["name"]
    return details


class NotFound(ApiError):
    code = 404
    reason = "NotFound"

    def __init__(self, group: str, plural: str, name: str) -> None:
        what = qualified_resource(group, plural)
        message = f'{what} "{name}" not found' if name else f"{what} not found"
        super().__init__(message, details=_details(group, plural, name))


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    def __init__(self, group: str, plural: str, name: str) -> None:
        super().__init__(
            f'{qualified_resource(group, plural)} "{name}" already exists',
            details=_details(group, plural, name),
        )


class Conflict(ApiError):
    code = 409
    reason = "Conflict"

    # errors.NewConflict + registry.OptimisticLockErrorMsg
    MODIFIED = (
        "the object has been modified; please apply your changes to the latest version and try "
        "again"
    )

    def __init__(self, group: str, plural: str, name: str, detail: str = MODIFIED) -> None:
        super().__init__(
            f"Operation cannot be fulfilled on {qualified_resource(group, plural)} "
            f'"{name}": {detail}',
            details=_details(group, plural, name),
        )


class GoLiteral(str):
    """A value already rendered the way Go prints it (e.g. a ``%#v`` struct)."""


def format_value(value: Any) -> str:
    """Render a bad value like Go's ``%q`` / ``%v`` / ``%#v`` in field errors."""
    if isinstance(value, GoLiteral):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            inner = ", ".join(f"{format_value(k)}:{format_value(v)}" for k, v in value.items())
            return "map[string]string{" + inner + "}"
        inner = ", ".join(f"{format_value(k)}:{format_value(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(format_value(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(format_value(v) for v in value) + "}"
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``: type, path, bad value and detail."""

    type: (
        str  # "Invalid", "Required", "Unsupported", "Duplicate", "Forbidden", "TooLong", "NotFound"
    )
    field: str
    value: Any = None
    detail: str = ""
    supported: tuple[str, ...] = ()

    _TYPES = {
        "Invalid": ("Invalid value", "FieldValueInvalid"),
        "Required": ("Required value", "FieldValueRequired"),
        "Unsupported": ("Unsupported value", "FieldValueNotSupported"),
        "Duplicate": ("Duplicate value", "FieldValueDuplicate"),
        "Forbidden": ("Forbidden", "FieldValueForbidden"),
        "TooLong": ("Too long", "FieldValueTooLong"),
        "NotFound": ("Not found", "FieldValueNotFound"),
    }

    @property
    def cause_reason(self) -> str:
        return self._TYPES[self.type][1]

    def body(self) -> str:
        """``field.Error.ErrorBody``: type text, the value unless it carries none, detail."""
        text = self._TYPES[self.type][0]
        if self.type not in ("Required", "Forbidden", "TooLong"):
            text += ": " + format_value(self.value)
        detail = self.detail
        if self.type == "Unsupported" and self.supported:
            detail = "supported values: " + ", ".join(f'"{s}"' for s in self.supported)
        if detail:
            text += ": " + detail
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()


class Invalid(ApiError):
    code = 422
    reason = "Invalid"

    def __init__(self, group: str, kind: str, name: str, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        what = f'{qualified_kind(group, kind)} "{name}" is invalid'
        texts = [str(e) for e in self.errors]
        if len(texts) == 1:
            message = f"{what}: {texts[0]}"
        else:
            message = f"{what}: [{', '.join(texts)}]"
        details = _details(group, kind, name)
        details["causes"] = [
            {"reason": e.cause_reason, "message": e.body(), "field": e.field} for e in self.errors
        ]
        super().__init__(message, details=details)


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"

    def __init__(
        self, message: str = "the server does not allow this method on the requested resource"
    ) -> None:
        super().__init__(message)


class Gone(ApiError):
    code = 410
    reason = "Expired"


class RequestEntityTooLarge(ApiError):
    code = 413
    reason = "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class TooLargeResourceVersion(ApiError):
    """storage.NewTooLargeResourceVersionError: clients then relist."""

    code = 504
    reason = "Timeout"

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(
            f"Too large resource version: {requested}, current: {current}",
            details={
                "causes": [
                    {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                ],
                "retryAfterSeconds": 1,
            },
        )


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"
