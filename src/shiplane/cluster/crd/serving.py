"""What the API server does with a custom resource on write, as one pure function, and the
registration of a CRD's schemas in the OpenAPI catalog.

Order on create/update (apiextensions-apiserver ``customresource_handler.go``): decode →
prune unknown fields (reported for fieldValidation) → apply defaults → validate against the
structural schema → store. Status-subresource rules (what a write may change) are the
handler's business and not decided here.
"""

from __future__ import annotations

from typing import Any

from shiplane.cluster.crd.defaulting import apply_defaults, prune
from shiplane.cluster.crd.definition import CRDInfo
from shiplane.cluster.crd.errors import CustomResourceInvalid
from shiplane.cluster.crd.validation import validate_custom_resource
from shiplane.cluster.openapi import FieldValidationFailed, GroupVersionKind, SchemaCatalog

__all__ = ["admit_custom_resource", "register_crd", "unregister_crd"]


def admit_custom_resource(
    obj: dict[str, Any],
    info: CRDInfo,
    version: str,
    *,
    field_validation: str = "Warn",
    duplicates: tuple[str, ...] = (),
) -> tuple[dict[str, Any], list[str]]:
    """(the object to store, warnings). Raises :class:`CustomResourceInvalid` for schema
    violations and :class:`FieldValidationFailed` for unknown/duplicate fields under Strict."""
    served = info.version(version)
    if served is None:
        raise CustomResourceInvalid(info.kind, info.group, _name(obj), [])
    pruned, dropped = prune(obj, served.schema)
    problems = list(duplicates) + [f'unknown field "{path}"' for path in dropped]
    if problems and field_validation == "Strict":
        raise FieldValidationFailed(problems)
    defaulted = apply_defaults(pruned, served.schema)
    errors = validate_custom_resource(defaulted, served.schema)
    if errors:
        raise CustomResourceInvalid(info.kind, info.group, _name(obj), errors)
    return defaulted, problems if field_validation != "Ignore" else []


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def register_crd(catalog: SchemaCatalog, info: CRDInfo) -> list[GroupVersionKind]:
    """Add every served version's schema to the catalog (for /openapi, SSA, validation)."""
    added = []
    for version in info.versions:
        if version.served:
            gvk = GroupVersionKind(info.group, version.name, info.kind)
            catalog.add_custom(gvk, version.schema)
            added.append(gvk)
    return added


def unregister_crd(catalog: SchemaCatalog, info: CRDInfo) -> None:
    for version in info.versions:
        catalog.remove_custom(GroupVersionKind(info.group, version.name, info.kind))
