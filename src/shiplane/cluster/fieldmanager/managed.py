"""``metadata.managedFields``: decoding, manager identity, encoding.

Identity follows k8s.io/apimachinery ``managedfields/internal/managedfields.go``
``BuildManagerIdentifier``: an entry is one (manager, operation, subresource) for ``Apply``,
and one (manager, operation, apiVersion, subresource) for ``Update``. ``time`` and the field
set are the entry's payload. Encoded entries are sorted like ``sortEncodedManagedFields``:
operation (Apply before Update), then time, manager, apiVersion, subresource.

Some metadata is never owned (``internal/stripmeta.go``): apiVersion, kind, metadata itself,
and metadata name, namespace, creationTimestamp, selfLink, uid, clusterName, generation,
managedFields and resourceVersion.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from shiplane.cluster.fieldmanager.errors import InvalidFieldsV1, InvalidManager
from shiplane.cluster.fieldmanager.fieldpath import (
    FieldSet,
    Path,
    decode_fields_v1,
    encode_fields_v1,
)

__all__ = [
    "MAX_MANAGER_LENGTH",
    "ManagedEntry",
    "ManagerKey",
    "Operation",
    "STRIPPED_PATHS",
    "decode_managed_fields",
    "encode_managed_fields",
    "manager_from_user_agent",
    "now_rfc3339",
    "strip",
    "validate_field_manager",
]

Operation = Literal["Apply", "Update"]
MAX_MANAGER_LENGTH = 128

STRIPPED_PATHS: frozenset[Path] = frozenset(
    [(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),)]
    + [
        (("f", "metadata"), ("f", name))
        for name in (
            "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
            "generation", "managedFields", "resourceVersion",
        )
    ]
)


def strip(fields: FieldSet, *, status: Literal["drop", "only", "keep"] = "keep") -> FieldSet:
    """Remove never-owned metadata; ``status`` drop/only implements the status reset fields."""
    out = fields - STRIPPED_PATHS
    if status == "drop":
        out = frozenset(p for p in out if p[:1] != (("f", "status"),))
    elif status == "only":
        out = frozenset(p for p in out if p[:1] == (("f", "status"),))
    return frozenset(out)


@dataclass(frozen=True, order=True)
class ManagerKey:
    manager: str
    operation: Operation
    api_version: str  # "" for Apply: appliers keep one entry across versions
    subresource: str = ""

    def display(self, api_version: str) -> str:
        """How upstream names a manager in conflict messages (``printManager``)."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == "Update":
            text += f" using {api_version}"
        return text


@dataclass(frozen=True)
class ManagedEntry:
    key: ManagerKey
    fields: FieldSet
    api_version: str
    time: str | None = None

    def with_fields(self, fields: FieldSet) -> ManagedEntry:
        return replace(self, fields=frozenset(fields))


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_managed_fields(entries: Any) -> dict[ManagerKey, ManagedEntry]:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise InvalidFieldsV1("metadata.managedFields must be a list")
    out: dict[ManagerKey, ManagedEntry] = {}
    for index, entry in enumerate(entries):
        where = f"metadata.managedFields[{index}]"
        if not isinstance(entry, dict):
            raise InvalidFieldsV1(f"{where} must be an object")
        operation = entry.get("operation")
        if operation not in ("Apply", "Update"):
            raise InvalidFieldsV1(f'{where}.operation: Unsupported value: "{operation}"')
        fields_type = entry.get("fieldsType", "FieldsV1")
        if fields_type != "FieldsV1":
            raise InvalidFieldsV1(f'{where}.fieldsType: Unsupported value: "{fields_type}"')
        api_version = str(entry.get("apiVersion", ""))
        key = ManagerKey(
            manager=str(entry.get("manager", "")),
            operation=operation,
            api_version="" if operation == "Apply" else api_version,
            subresource=str(entry.get("subresource", "")),
        )
        fields = decode_fields_v1(entry.get("fieldsV1", {}))
        previous = out.get(key)
        if previous is not None:  # duplicates are merged, as upstream's decoder does
            fields = fields | previous.fields
        out[key] = ManagedEntry(key, fields, api_version, entry.get("time"))
    return out


def encode_managed_fields(entries: dict[ManagerKey, ManagedEntry]) -> list[dict[str, Any]]:
    ordered = sorted(
        (e for e in entries.values() if e.fields),
        key=lambda e: (e.key.operation, e.time or "", e.key.manager, e.api_version, e.key.subresource),
    )
    out: list[dict[str, Any]] = []
    for entry in ordered:
        encoded: dict[str, Any] = {
            "manager": entry.key.manager,
            "operation": entry.key.operation,
            "apiVersion": entry.api_version,
        }
        if entry.time is not None:
            encoded["time"] = entry.time
        encoded["fieldsType"] = "FieldsV1"
        encoded["fieldsV1"] = encode_fields_v1(entry.fields)
        if entry.key.subresource:
            encoded["subresource"] = entry.key.subresource
        out.append(encoded)
    return out


def validate_field_manager(manager: str | None, *, apply: bool) -> None:
    """Upstream's PatchOptions/UpdateOptions validation of ``fieldManager``."""
    if manager is None or manager == "":
        if apply:
            raise InvalidManager(
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch"
            )
        return
    if len(manager) > MAX_MANAGER_LENGTH:
        raise InvalidManager(
            f"fieldManager: Too long: may not be more than {MAX_MANAGER_LENGTH} bytes"
        )
    if not manager.isprintable():
        raise InvalidManager(f'fieldManager: Invalid value: "{manager}": must be printable')


def manager_from_user_agent(user_agent: str | None) -> str:
    """Default manager of a non-apply write: the user agent up to its first ``/``
    (apiserver ``handlers/rest.go`` prefixFromUserAgent), at most 128 bytes."""
    if not user_agent:
        return ""
    return user_agent.split("/", 1)[0][:MAX_MANAGER_LENGTH]
