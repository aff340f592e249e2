"""OpenAPI for the embedded API server: upstream's schemas (pinned package data), the
``/openapi/v2`` and ``/openapi/v3`` documents, types for server-side apply, and
``fieldValidation`` (unknown and duplicate fields)."""

from shiplane.cluster.openapi.catalog import GroupVersionKind, SchemaCatalog, custom_definition_name
from shiplane.cluster.openapi.definitions import KUBERNETES_VERSION
from shiplane.cluster.openapi.documents import ResourceEntry
from shiplane.cluster.openapi.errors import FieldValidationFailed, OpenAPIError
from shiplane.cluster.openapi.fieldvalidation import (
    Decoded,
    FieldValidationMode,
    check_fields,
    decode_json,
    decode_yaml,
    drop_unknown_fields,
    parse_field_validation,
    unknown_fields,
    warning_header,
)
from shiplane.cluster.openapi.routes import openapi_routes
from shiplane.cluster.openapi.service import EncodedDocument, OpenAPIService, v2_acceptable
from shiplane.cluster.openapi.types import NodeKind, TypeNode

__all__ = [
    "KUBERNETES_VERSION",
    "Decoded",
    "EncodedDocument",
    "FieldValidationFailed",
    "FieldValidationMode",
    "GroupVersionKind",
    "NodeKind",
    "OpenAPIError",
    "OpenAPIService",
    "ResourceEntry",
    "SchemaCatalog",
    "TypeNode",
    "check_fields",
    "custom_definition_name",
    "decode_json",
    "decode_yaml",
    "drop_unknown_fields",
    "openapi_routes",
    "parse_field_validation",
    "unknown_fields",
    "v2_acceptable",
    "warning_header",
]
