"""OpenAPI for the embedded API server: upstream's schemas (pinned package data), the
``/openapi/v2`` and ``/openapi/v3`` documents, types for server-side apply, and
``fieldValidation`` (unknown and duplicate fields)."""

from shiplane.cluster.openapi.catalog import GroupVersionKind, SchemaCatalog, custom_definition_name
from shiplane.cluster.openapi.definitions import KUBERNETES_VERSION
from shiplane.cluster.openapi.errors import FieldValidationFailed, OpenAPIError
from shiplane.cluster.openapi.types import NodeKind, TypeNode

__all__ = [
    "KUBERNETES_VERSION",
    "FieldValidationFailed",
    "GroupVersionKind",
    "NodeKind",
    "OpenAPIError",
    "SchemaCatalog",
    "TypeNode",
    "custom_definition_name",
]
