"""Per-kind knowledge of the embedded API server, as data and pure functions.

:data:`REGISTRY` lists every served kind (:class:`ResourceType`: group, version,
kind, plural, scope, discovery names, subresources, defaulter, validator, table
printer, strategic-merge schema). Defaulting and validation follow upstream's
``defaults.go`` / ``validation.go`` and are unit-tested without a server.
"""

from shiplane.cluster.resources.patch_strategies import PATCH_SCHEMAS, ListOf, Struct
from shiplane.cluster.resources.pods import image_pull_policy
from shiplane.cluster.resources.registry import (
    ALL_VERBS,
    REGISTRY,
    ResourceRegistry,
    ResourceType,
    ScaleSpec,
)
from shiplane.cluster.resources.tables import TABLES, TableSpec, human_duration, table_rows
from shiplane.cluster.resources.validation import (
    format_label_selector,
    is_dns1123_label,
    is_dns1123_subdomain,
    selector_matches_labels,
    validate_object_meta,
)

__all__ = [
    "ALL_VERBS",
    "PATCH_SCHEMAS",
    "REGISTRY",
    "TABLES",
    "ListOf",
    "ResourceRegistry",
    "ResourceType",
    "ScaleSpec",
    "Struct",
    "TableSpec",
    "format_label_selector",
    "human_duration",
    "image_pull_policy",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "selector_matches_labels",
    "table_rows",
    "validate_object_meta",
]
