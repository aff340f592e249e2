"""Errors of the CustomResourceDefinition core::

    ClusterError
    └── CRDError                     a CRD or custom resource was refused
        ├── CRDInvalid               the CRD object is invalid (422 upstream)
        └── CustomResourceInvalid    a custom resource violates its schema (422 upstream)

Both invalid errors carry :class:`FieldError` items and render upstream's aggregate message
(``Application.argoproj.io "guestbook" is invalid: [spec.project: Required value, ...]``,
apimachinery ``errors.NewInvalid``) and ``Status`` body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from shiplane.errors import ClusterError

__all__ = ["CRDError", "CRDInvalid", "CustomResourceInvalid", "FieldError", "invalid_message"]

ErrorType = Literal["Required", "Invalid", "Unsupported", "Forbidden", "Duplicate", "TooLong", "TooMany"]

_CAUSE_REASONS = {
    "Required": "FieldValueRequired",
    "Invalid": "FieldValueInvalid",
    "Unsupported": "FieldValueNotSupported",
    "Forbidden": "FieldValueForbidden",
    "Duplicate": "FieldValueDuplicate",
    "TooLong": "FieldValueTooLong",
    "TooMany": "FieldValueTooMany",
}


def _value_repr(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class FieldError:
    """One field problem, printed like apimachinery ``field.Error``."""

    field: str
    type: ErrorType
    detail: str = ""
    value: Any = None
    supported: tuple[str, ...] = ()

    def body(self) -> str:
        if self.type == "Required":
            head = "Required value"
        elif self.type == "Forbidden":
            head = "Forbidden"
        elif self.type == "Invalid":
            head = f"Invalid value: {_value_repr(self.value)}"
        elif self.type == "Duplicate":
            head = f"Duplicate value: {_value_repr(self.value)}"
        elif self.type == "Unsupported":
            head = f"Unsupported value: {_value_repr(self.value)}"
            if self.supported:
                return head + ": supported values: " + ", ".join(f'"{s}"' for s in self.supported)
        elif self.type == "TooLong":
            head = "Too long"
        else:
            head = f"Too many: {_value_repr(self.value)}"
        return f"{head}: {self.detail}" if self.detail else head

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def invalid_message(qualified_kind: str, name: str, errors: list[FieldError]) -> str:
    joined = ", ".join(str(e) for e in errors)
    if len(errors) != 1:
        joined = f"[{joined}]"
    return f'{qualified_kind} "{name}" is invalid: {joined}'


class CRDError(ClusterError):
    """A CustomResourceDefinition or custom resource was refused."""


class _Invalid(CRDError):
    def __init__(self, kind: str, group: str, name: str, errors: list[FieldError]) -> None:
        self.kind, self.group, self.name, self.errors = kind, group, name, list(errors)
        qualified = f"{kind}.{group}" if group else kind
        super().__init__(invalid_message(qualified, name, self.errors))

    def status(self) -> dict[str, Any]:
        """The 422 ``Status`` body."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": "Invalid",
            "details": {
                "name": self.name,
                "group": self.group,
                "kind": self.kind,
                "causes": [
                    {"reason": _CAUSE_REASONS[e.type], "message": e.body(), "field": e.field}
                    for e in self.errors
                ],
            },
            "code": 422,
        }


class CRDInvalid(_Invalid):
    """The CustomResourceDefinition is invalid."""

    def __init__(self, name: str, errors: list[FieldError]) -> None:
        super().__init__("CustomResourceDefinition", "apiextensions.k8s.io", name, errors)


class CustomResourceInvalid(_Invalid):
    """A custom resource violates its CRD's schema."""
