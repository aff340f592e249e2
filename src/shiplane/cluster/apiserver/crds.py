"""Serving CustomResourceDefinitions: each established CRD adds a resource type per served
version to the registry (and its schema to the OpenAPI catalog, see ``ApiBackend``).

The pure work — validation, structural schemas, pruning, defaulting, printer columns,
establishment status — is :mod:`shiplane.cluster.crd`; this module turns a
:class:`~shiplane.cluster.crd.CRDInfo` into :class:`ResourceType` rows and converts errors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shiplane.cluster import crd
from shiplane.cluster.resources.registry import ResourceType, ScaleSpec
from shiplane.cluster.resources.tables import Column, TableSpec
from shiplane.cluster.store.errors import FieldError
from shiplane.cluster.store.model import StoredObject, encode

__all__ = [
    "CRD_RESOURCE",
    "crd_resource_types",
    "default_crd_in_place",
    "served_object",
    "storage_object",
    "storage_update",
    "validate_crd_object",
]

CRD_RESOURCE = "customresourcedefinitions.apiextensions.k8s.io"
_NAME_COLUMN = Column("Name", "string", 0, "name", "Name must be unique within a namespace.")
_TYPES = ("Invalid", "Required", "Unsupported", "Duplicate", "Forbidden", "TooLong")


def _errors(errors: list[crd.FieldError]) -> list[FieldError]:
    return [
        FieldError(e.type if e.type in _TYPES else "Invalid", e.field, e.value, e.detail, e.supported)
        for e in errors
    ]


def default_crd_in_place(obj: dict[str, Any]) -> None:
    defaulted = crd.default_crd(obj)
    obj.clear()
    obj.update(defaulted)


def validate_crd_object(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    return _errors(crd.validate_crd(crd.default_crd(obj)))


def storage_object(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as it is persisted: kinds served at several versions (custom resources, the
    autoscaling/v1 HPA) at their storage version; every other kind as given.

    An object written through another version is converted (``rt.extra["convert"]``, else
    the CRD no-op converter) and defaulted as the storage version, which upstream does when
    decoding it from storage (so every read at the storage version shows those defaults)."""
    storage = rt.extra.get("storage_version")
    if storage is None or obj.get("apiVersion") == storage:
        return obj
    converted = rt.extra.get("convert", crd.convert_version)(obj, storage)
    rt.extra["storage_defaulter"](converted)
    return converted


def storage_update(rt: ResourceType, obj: dict[str, Any], stored: dict[str, Any] | None,
                   subresource: str | None) -> dict[str, Any]:
    """:func:`storage_object` for an update of ``stored``. A lossy conversion (HPA v1 has no
    conditions or behavior) must not drop what the request could not express: as upstream's
    strategies do on the internal object, a main-resource write keeps the stored status and a
    status write keeps the stored spec (registry/autoscaling/horizontalpodautoscaler/strategy.go
    PrepareForUpdate)."""
    converted = storage_object(rt, obj)
    if stored is None or "convert" not in rt.extra or converted is obj or not rt.has_status:
        return converted
    half = "spec" if subresource == "status" else "status"
    if half in stored:
        converted[half] = stored[half]
    else:
        converted.pop(half, None)
    return converted


def served_object(rt: ResourceType, stored: StoredObject) -> StoredObject:
    """``stored`` as served through ``rt``: kinds served at several versions at ``rt``'s
    version (list items, gets, watch events and write responses alike); every other kind as
    stored.

    An object stored at another version is then pruned and defaulted with the served
    version's schema, as upstream's storage codec does on decode (customresource_handler.go
    ``unstructuredSchemaCoercer`` and ``unstructuredDefaulter``); objects read at the version
    they were written in were already defaulted on write."""
    if "storage_version" not in rt.extra or stored.obj.get("apiVersion") == rt.api_version:
        return stored
    convert = rt.extra.get("convert", crd.convert_version)
    obj = rt.default(convert(stored.copy(), rt.api_version))
    return StoredObject(obj, encode(obj), stored.rv)


def _path(json_path: str) -> tuple[str, ...]:
    return tuple(json_path.strip(".").split("."))


def _defaulter(schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def defaulter(obj: dict[str, Any]) -> None:
        pruned, _ = crd.prune(obj, schema)
        defaulted = crd.apply_defaults(pruned, schema)
        obj.clear()
        obj.update(defaulted)

    return defaulter


def crd_resource_types(info: crd.CRDInfo) -> list[ResourceType]:
    types = []
    storage = info.storage_version
    storage_defaulter = _defaulter(storage.schema)
    for version in info.versions:
        if not version.served:
            continue
        schema = version.schema
        defaulter = _defaulter(schema)

        def validator(
            obj: dict[str, Any], old: dict[str, Any] | None, schema: dict[str, Any] = schema
        ) -> list[FieldError]:
            return _errors(crd.validate_custom_resource(obj, schema))

        def cells(obj: dict[str, Any], now: datetime, version: crd.VersionInfo = version) -> list[Any]:
            return crd.row_cells(obj, version, now)

        columns = (
            _NAME_COLUMN,
            *(Column(c.name, c.type, c.priority, c.format, c.description)
              for c in crd.table_columns(version)),
        )
        subresources = (("status",) if version.status_subresource else ()) + (
            ("scale",) if version.scale else ()
        )
        scale = None
        if version.scale is not None:
            scale = ScaleSpec(
                _path(version.scale.spec_replicas_path),
                _path(version.scale.status_replicas_path),
                _path(version.scale.label_selector_path or ".spec.selector"),
            )
        types.append(
            ResourceType(
                info.group, version.name, info.kind, info.plural, info.singular,
                namespaced=info.namespaced, short_names=info.short_names,
                categories=info.categories, subresources=subresources, defaulter=defaulter,
                validator=validator, scale=scale,
                extra={
                    "table": TableSpec(columns, cells),
                    "crd": info.name,
                    "storage_version": f"{info.group}/{storage.name}",
                    "storage_defaulter": storage_defaulter,
                },
            )
        )
    return types
