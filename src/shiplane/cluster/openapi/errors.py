"""Errors of the OpenAPI and field-validation core::

    ClusterError
    └── OpenAPIError                 the schema data cannot be loaded or a kind is unknown
        └── FieldValidationFailed    fieldValidation=Strict refused unknown or duplicate fields
"""

from __future__ import annotations

from shiplane.errors import ClusterError

__all__ = ["FieldValidationFailed", "OpenAPIError"]


class OpenAPIError(ClusterError):
    """The pinned Kubernetes schema data is missing or a schema is malformed."""


class FieldValidationFailed(OpenAPIError):
    """Strict field validation found unknown or duplicate fields.

    ``problems`` are upstream's per-field strings (``unknown field "spec.foo"``); the
    message is the joined ``strict decoding error: ...`` that the API server answers 400 with.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("strict decoding error: " + ", ".join(self.problems))
