"""CustomResourceDefinition (apiextensions.k8s.io/v1) objects: defaulting, validation, the
parsed view the server needs, and the status that establishes a CRD.

Validation follows apiextensions-apiserver ``pkg/apis/apiextensions/validation/validation.go``
(``ValidateCustomResourceDefinition``): name = ``<plural>.<group>``, a group with a dot, DNS
names, one storage version, unique DNS-1035 version names, a structural schema per version,
well-formed subresources and printer columns. Defaults follow ``v1/defaults.go``: singular =
lower-case kind, listKind = kind + "List", conversion strategy None.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from shiplane.cluster.crd.errors import CRDInvalid, FieldError
from shiplane.cluster.crd.structural import structural_errors

__all__ = [
    "CRDInfo",
    "PrinterColumn",
    "ScaleSubresource",
    "VersionInfo",
    "default_crd",
    "establish_status",
    "names_conflicts",
    "parse_crd",
    "validate_crd",
]

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
_COLUMN_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str = ""
    format: str = ""
    priority: int = 0


@dataclass(frozen=True)
class ScaleSubresource:
    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    name: str
    served: bool
    storage: bool
    schema: dict[str, Any]
    status_subresource: bool = False
    scale: ScaleSubresource | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    deprecated: bool = False
    deprecation_warning: str | None = None


@dataclass(frozen=True)
class CRDInfo:
    """What serving a CRD needs, read from a valid, defaulted CRD object."""

    name: str
    group: str
    kind: str
    list_kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    versions: tuple[VersionInfo, ...] = field(default=())

    @property
    def storage_version(self) -> VersionInfo:
        return next(v for v in self.versions if v.storage)

    def version(self, name: str) -> VersionInfo | None:
        return next((v for v in self.versions if v.name == name and v.served), None)


def default_crd(crd: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(crd)
    spec = out.setdefault("spec", {})
    names = spec.setdefault("names", {})
    kind = names.get("kind")
    if kind:
        names.setdefault("singular", kind.lower())
        names.setdefault("listKind", kind + "List")
    spec.setdefault("conversion", {"strategy": "None"})
    return out


def validate_crd(crd: dict[str, Any]) -> list[FieldError]:
    """Every problem of a (defaulted) CRD object; empty when it is valid."""
    errors: list[FieldError] = []
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    name = (crd.get("metadata") or {}).get("name", "")
    group = spec.get("group", "")
    plural = names.get("plural", "")

    if not group:
        errors.append(FieldError("spec.group", "Required"))
    elif not _DNS1123_SUBDOMAIN.match(group):
        errors.append(FieldError("spec.group", "Invalid", _SUBDOMAIN_MSG, value=group))
    elif "." not in group:
        errors.append(FieldError("spec.group", "Invalid", "should be a domain with at least one dot", value=group))
    if name != f"{plural}.{group}":
        errors.append(FieldError("metadata.name", "Invalid",
                                 'must be spec.names.plural+"."+spec.group', value=name))
    errors.extend(_names_errors(names))
    scope = spec.get("scope")
    if scope not in ("Cluster", "Namespaced"):
        errors.append(FieldError("spec.scope", "Unsupported", value=scope, supported=("Cluster", "Namespaced")))
    errors.extend(_versions_errors(spec.get("versions")))
    # Webhook conversion needs a webhook client; the embedded server offers None only.
    conversion = (spec.get("conversion") or {}).get("strategy", "None")
    if conversion != "None":
        errors.append(FieldError("spec.conversion.strategy", "Unsupported", value=conversion,
                                 supported=("None",)))
    return errors


def _names_errors(names: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    plural, singular = names.get("plural", ""), names.get("singular", "")
    kind, list_kind = names.get("kind", ""), names.get("listKind", "")
    if not plural:
        errors.append(FieldError("spec.names.plural", "Required"))
    elif not _DNS1123_LABEL.match(plural):
        errors.append(FieldError("spec.names.plural", "Invalid", _DNS1123_LABEL_MSG, value=plural))
    if singular and not _DNS1123_LABEL.match(singular):
        errors.append(FieldError("spec.names.singular", "Invalid", _DNS1123_LABEL_MSG, value=singular))
    if not kind:
        errors.append(FieldError("spec.names.kind", "Required"))
    elif not _DNS1035_LABEL.match(kind.lower()):
        errors.append(FieldError("spec.names.kind", "Invalid",
                                 "may have mixed case, but should otherwise match: " + _DNS1035_LABEL_MSG,
                                 value=kind))
    if list_kind:
        if not _DNS1035_LABEL.match(list_kind.lower()):
            errors.append(FieldError("spec.names.listKind", "Invalid",
                                     "may have mixed case, but should otherwise match: " + _DNS1035_LABEL_MSG,
                                     value=list_kind))
        elif list_kind == kind:
            errors.append(FieldError("spec.names.listKind", "Invalid",
                                     "kind and listKind may not be the same or listKind may not be List",
                                     value=list_kind))
    for index, short in enumerate(names.get("shortNames") or ()):
        if not isinstance(short, str) or not _DNS1123_LABEL.match(short):
            errors.append(FieldError(f"spec.names.shortNames[{index}]", "Invalid", _DNS1123_LABEL_MSG, value=short))
    for index, category in enumerate(names.get("categories") or ()):
        if not isinstance(category, str) or not _DNS1123_LABEL.match(category):
            errors.append(FieldError(f"spec.names.categories[{index}]", "Invalid", _DNS1123_LABEL_MSG, value=category))
    return errors


def _versions_errors(versions: Any) -> list[FieldError]:
    if not isinstance(versions, list) or not versions:
        return [FieldError("spec.versions", "Required", "must have exactly one version marked as storage version")]
    errors: list[FieldError] = []
    storage = [v.get("name") for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        errors.append(FieldError("spec.versions", "Invalid",
                                 "must have exactly one version marked as storage version",
                                 value=[v.get("name") for v in versions if isinstance(v, dict)]))
    seen: set[str] = set()
    for index, version in enumerate(versions):
        path = f"spec.versions[{index}]"
        if not isinstance(version, dict):
            errors.append(FieldError(path, "Invalid", "must be an object", value=version))
            continue
        vname = version.get("name", "")
        if not vname:
            errors.append(FieldError(path + ".name", "Required"))
        elif not _DNS1035_LABEL.match(vname):
            errors.append(FieldError(path + ".name", "Invalid", _DNS1035_LABEL_MSG, value=vname))
        elif vname in seen:
            errors.append(FieldError(path + ".name", "Invalid", "must be unique", value=vname))
        seen.add(vname)
        if "served" not in version:
            errors.append(FieldError(path + ".served", "Required"))
        if "storage" not in version:
            errors.append(FieldError(path + ".storage", "Required"))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            errors.append(FieldError(path + ".schema.openAPIV3Schema", "Required", "schemas are required"))
        else:
            errors.extend(structural_errors(schema, path + ".schema.openAPIV3Schema"))
        errors.extend(_subresource_errors(version.get("subresources") or {}, path + ".subresources"))
        for c_index, column in enumerate(version.get("additionalPrinterColumns") or ()):
            errors.extend(_column_errors(column, f"{path}.additionalPrinterColumns[{c_index}]"))
    return errors


def _subresource_errors(sub: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    scale = sub.get("scale")
    if scale is None:
        return errors
    spec_path = scale.get("specReplicasPath")
    if not spec_path:
        errors.append(FieldError(path + ".scale.specReplicasPath", "Required"))
    elif not spec_path.startswith(".spec."):
        errors.append(FieldError(path + ".scale.specReplicasPath", "Invalid",
                                 "should be a json path under .spec", value=spec_path))
    status_path = scale.get("statusReplicasPath")
    if not status_path:
        errors.append(FieldError(path + ".scale.statusReplicasPath", "Required"))
    elif not status_path.startswith(".status."):
        errors.append(FieldError(path + ".scale.statusReplicasPath", "Invalid",
                                 "should be a json path under .status", value=status_path))
    selector = scale.get("labelSelectorPath")
    if selector and not (selector.startswith(".spec.") or selector.startswith(".status.")):
        errors.append(FieldError(path + ".scale.labelSelectorPath", "Invalid",
                                 "should be a json path under either .spec or .status", value=selector))
    return errors


def _column_errors(column: Any, path: str) -> list[FieldError]:
    if not isinstance(column, dict):
        return [FieldError(path, "Invalid", "must be an object", value=column)]
    errors: list[FieldError] = []
    if not column.get("name"):
        errors.append(FieldError(path + ".name", "Required"))
    ctype = column.get("type")
    if not ctype:
        errors.append(FieldError(path + ".type", "Required"))
    elif ctype not in _COLUMN_TYPES:
        errors.append(FieldError(path + ".type", "Unsupported", value=ctype, supported=_COLUMN_TYPES))
    fmt = column.get("format")
    if fmt and fmt not in _COLUMN_FORMATS:
        errors.append(FieldError(path + ".format", "Unsupported", value=fmt, supported=_COLUMN_FORMATS))
    if not column.get("jsonPath"):
        errors.append(FieldError(path + ".jsonPath", "Required"))
    elif not column["jsonPath"].lstrip("{").startswith("."):
        errors.append(FieldError(path + ".jsonPath", "Invalid", "must be a simple json path starting with .",
                                 value=column["jsonPath"]))
    return errors


def parse_crd(crd: dict[str, Any]) -> CRDInfo:
    """Default, validate and read a CRD; raises :class:`CRDInvalid` with every problem."""
    crd = default_crd(crd)
    errors = validate_crd(crd)
    if errors:
        raise CRDInvalid((crd.get("metadata") or {}).get("name", ""), errors)
    spec, names = crd["spec"], crd["spec"]["names"]
    versions = []
    for version in spec["versions"]:
        sub = version.get("subresources") or {}
        scale = sub.get("scale")
        versions.append(VersionInfo(
            name=version["name"],
            served=bool(version["served"]),
            storage=bool(version["storage"]),
            schema=version["schema"]["openAPIV3Schema"],
            status_subresource="status" in sub,
            scale=ScaleSubresource(scale["specReplicasPath"], scale["statusReplicasPath"],
                                   scale.get("labelSelectorPath")) if scale else None,
            printer_columns=tuple(
                PrinterColumn(c["name"], c["type"], c["jsonPath"], c.get("description", ""),
                              c.get("format", ""), int(c.get("priority", 0)))
                for c in version.get("additionalPrinterColumns") or ()
            ),
            deprecated=bool(version.get("deprecated")),
            deprecation_warning=version.get("deprecationWarning"),
        ))
    return CRDInfo(
        name=crd["metadata"]["name"],
        group=spec["group"],
        kind=names["kind"],
        list_kind=names["listKind"],
        plural=names["plural"],
        singular=names["singular"],
        namespaced=spec["scope"] == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        versions=tuple(versions),
    )


def names_conflicts(info: CRDInfo, in_use: dict[str, set[tuple[str, str]]]) -> FieldError | None:
    """Plural/kind clashes with resources already served in the group.

    ``in_use``: ``{"plurals": {(group, plural)}, "kinds": {(group, kind)}}`` of *other* resources.
    Returns the NamesAccepted=False reason as a FieldError-ish (field = reason).
    """
    if (info.group, info.plural) in in_use.get("plurals", set()):
        return FieldError("PluralConflict", "Invalid", f'"{info.plural}" is already in use', value=info.plural)
    if (info.group, info.kind) in in_use.get("kinds", set()):
        return FieldError("KindConflict", "Invalid", f'"{info.kind}" is already in use', value=info.kind)
    return None


def establish_status(crd: dict[str, Any], now: str, conflict: FieldError | None = None) -> dict[str, Any]:
    """The ``status`` the API server writes once a CRD's names are checked
    (apiextensions-apiserver ``pkg/controller/status/naming_controller.go``,
    ``establish/establishing_controller.go``)."""
    info_names = default_crd(crd)["spec"]["names"]
    storage = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
    previous = (crd.get("status") or {}).get("storedVersions") or []
    stored = list(previous) + [v for v in storage if v not in previous]
    if conflict is not None:
        conditions = [
            {"type": "NamesAccepted", "status": "False", "lastTransitionTime": now,
             "reason": conflict.field, "message": conflict.detail},
            {"type": "Established", "status": "False", "lastTransitionTime": now,
             "reason": "NotAccepted", "message": "not all names are accepted"},
        ]
        accepted: dict[str, Any] = {}
    else:
        conditions = [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ]
        accepted = copy.deepcopy(info_names)
    return {"conditions": conditions, "acceptedNames": accepted, "storedVersions": stored}
