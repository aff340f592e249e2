"""Server-side apply and update ownership as pure functions.

Theory of operation (structured-merge-diff ``merge/update.go`` ``Apply`` / ``Update``):

**Apply** (``application/apply-patch+yaml``) by manager M with config C on live object L:

1. If L exists but records no managedFields, its fields are first given to the manager
   ``before-first-apply`` (operation Update), as upstream's ``skipNonApplied`` layer does.
2. N = merge(L, C): C's values win; lists/maps merge per their schema semantics.
3. M's set becomes fields(C). Fields M applied last time but not now are *pruned* from N
   unless another manager (or M's new config) still owns them or something under them.
4. compare(L, N): every other manager whose fields N added or modified conflicts. Without
   ``force`` the apply fails with those conflicts (409); with it, those fields move to M.
   Fields N removed leave every other manager's set.

**Update** (PUT/PATCH/POST by manager U, old O → new N): other managers lose fields N
removed, and (forced) fields N changed; U's set becomes its old set − removed ∪ changed.
Updates never conflict.

The result's ``metadata.managedFields`` is re-encoded; an entry's ``time`` moves to ``now``
only when its manager wrote.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from shiplane.cluster.fieldmanager.errors import InvalidObject
from shiplane.cluster.fieldmanager.fieldpath import FieldSet, Path, path_string
from shiplane.cluster.fieldmanager.managed import (
    ManagedEntry,
    ManagerKey,
    decode_managed_fields,
    encode_managed_fields,
    now_rfc3339,
    strip,
)
from shiplane.cluster.fieldmanager.merge import merge, remove_path
from shiplane.cluster.fieldmanager.typed import compare, field_set
from shiplane.cluster.openapi.types import TypeNode

__all__ = ["ApplyResult", "Conflict", "BEFORE_FIRST_APPLY", "apply", "record_update"]

BEFORE_FIRST_APPLY = "before-first-apply"

StatusMode = Literal["drop", "only", "keep"]


@dataclass(frozen=True)
class Conflict:
    """One field another manager owns and the apply would change."""

    manager: str  # upstream's printed form: '"kubectl-client-side-apply" using apps/v1'
    path: Path

    @property
    def field(self) -> str:
        return path_string(self.path)


@dataclass(frozen=True)
class ApplyResult:
    """Either the object to store (``object``) or the conflicts that refused the apply."""

    object: dict[str, Any] | None
    conflicts: tuple[Conflict, ...] = field(default=())
    changed: bool = True

    @property
    def ok(self) -> bool:
        return not self.conflicts

    @property
    def message(self) -> str:
        """Upstream's 409 message (``managedfields/internal/conflict.go`` getConflictMessage)."""
        if not self.conflicts:
            return ""
        if len(self.conflicts) == 1:
            c = self.conflicts[0]
            return f"Apply failed with 1 conflict: conflict with {c.manager}: {c.field}"
        lines: list[str] = []
        for manager in sorted({c.manager for c in self.conflicts}):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {c.field}" for c in self.conflicts if c.manager == manager)
        return f"Apply failed with {len(self.conflicts)} conflicts: " + "\n".join(lines)

    def status(self) -> dict[str, Any]:
        """The ``Status`` body of the 409 answer (apimachinery ``NewApplyConflict``)."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": "Conflict",
            "details": {
                "causes": [
                    {
                        "reason": "FieldManagerConflict",
                        "message": f"conflict with {c.manager}",
                        "field": c.field,
                    }
                    for c in self.conflicts
                ]
            },
            "code": 409,
        }


def apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    schema: TypeNode | None,
    *,
    subresource: str = "",
    status: StatusMode = "keep",
    now: str | None = None,
) -> ApplyResult:
    """Apply ``applied`` as ``manager`` onto ``live`` (None: the object does not exist yet).

    ``schema`` is the object's type (:meth:`SchemaCatalog.type_for`); None means untyped.
    ``status="drop"`` ignores ``.status`` (main resource of kinds with a status subresource),
    ``"only"`` keeps only ``.status`` (the status subresource).
    """
    node = schema or TypeNode.untyped()
    now = now or now_rfc3339()
    if not isinstance(applied, dict):
        raise InvalidObject("the applied configuration must be an object")
    config_meta = applied.get("metadata") or {}
    if config_meta.get("managedFields"):
        raise InvalidObject("metadata.managedFields must be nil")
    api_version = str(applied.get("apiVersion", ""))
    key = ManagerKey(manager, "Apply", "", subresource)

    base = copy.deepcopy(live) if live is not None else {}
    managers = decode_managed_fields((base.get("metadata") or {}).get("managedFields"))
    if live is not None and not managers:
        legacy = strip(field_set(_without_managed(base), node), status=status)
        if legacy:
            legacy_key = ManagerKey(BEFORE_FIRST_APPLY, "Update", api_version)
            managers[legacy_key] = ManagedEntry(legacy_key, legacy, api_version, now)

    live_plain = _without_managed(base)
    merged = merge(live_plain, _without_managed(applied), node)
    if status == "drop" and live is not None:
        _restore(merged, live_plain, "status")
    elif status == "only":
        for top in set(merged) | set(live_plain):
            if top not in ("status", "metadata", "apiVersion", "kind"):
                _restore(merged, live_plain, top)
    new_set = strip(field_set(_without_managed(applied), node), status=status)
    previous = managers.get(key)
    managers[key] = ManagedEntry(key, new_set, api_version, previous.time if previous else None)

    if previous is not None:
        others = _union(e.fields for k, e in managers.items() if k != key)
        _prune(merged, previous.fields - new_set, new_set | others, node)

    comparison = compare(live_plain if live is not None else None, merged, node)
    changed_paths = strip(comparison.changed, status=status)
    removed_paths = strip(comparison.removed, status=status)
    conflicts: list[Conflict] = []
    for other_key, entry in sorted(managers.items()):
        if other_key == key:
            continue
        overlap = entry.fields & changed_paths
        for path in sorted(overlap, key=path_string):
            conflicts.append(Conflict(other_key.display(entry.api_version), path))
    if conflicts and not force:
        return ApplyResult(None, tuple(conflicts), changed=False)
    for other_key, entry in list(managers.items()):
        if other_key == key:
            continue
        remaining = entry.fields - changed_paths - removed_paths if force else entry.fields - removed_paths
        if remaining != entry.fields:
            managers[other_key] = entry.with_fields(remaining)

    object_changed = live is None or merged != live_plain
    if previous is None or previous.fields != new_set or object_changed:
        managers[key] = ManagedEntry(key, new_set, api_version, now)
    result = merged
    result.setdefault("metadata", {})
    encoded = encode_managed_fields(managers)
    result["metadata"]["managedFields"] = encoded
    return ApplyResult(result, (), changed=object_changed or _managed_differs(live, encoded))


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    schema: TypeNode | None,
    *,
    subresource: str = "",
    status: StatusMode = "keep",
    now: str | None = None,
) -> dict[str, Any]:
    """``new`` with managedFields updated for a non-apply write (create/update/patch).

    If the request itself carries ``metadata.managedFields``, that list is the starting
    point (an empty list resets ownership), as upstream honours client-sent managedFields.
    """
    node = schema or TypeNode.untyped()
    now = now or now_rfc3339()
    # Only metadata.managedFields changes: copy the top level and metadata, share the rest
    # with ``new`` (a deep copy of every written pod was a quarter of a status PATCH's cost).
    result = dict(new)
    meta = result["metadata"] = dict(result.get("metadata") or {})
    if "managedFields" in meta and meta["managedFields"] is not None:
        sent = meta["managedFields"]
        managers = decode_managed_fields(sent)
        if not sent:
            meta.pop("managedFields")
            return result
    else:
        managers = decode_managed_fields(((old or {}).get("metadata") or {}).get("managedFields"))
    api_version = str(new.get("apiVersion", ""))
    key = ManagerKey(manager, "Update", api_version, subresource)
    old_plain = _without_managed(old) if old is not None else None
    comparison = compare(old_plain, _without_managed(result), node)
    changed = strip(comparison.changed, status=status)
    removed = strip(comparison.removed, status=status)
    for other_key, entry in list(managers.items()):
        if other_key == key:
            continue
        remaining = entry.fields - changed - removed
        if remaining != entry.fields:
            managers[other_key] = entry.with_fields(remaining)
    previous = managers.get(key)
    mine = ((previous.fields if previous else frozenset()) - removed) | changed
    if previous is None or mine != previous.fields or changed or removed:
        managers[key] = ManagedEntry(key, frozenset(mine), api_version, now)
    encoded = encode_managed_fields(managers)
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)
    return result


# -- helpers ---------------------------------------------------------------------------


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    out = dict(obj)
    out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def _restore(merged: dict[str, Any], live: dict[str, Any], top: str) -> None:
    if top in live:
        merged[top] = copy.deepcopy(live[top])
    else:
        merged.pop(top, None)


def _union(sets: Any) -> FieldSet:
    out: set[Path] = set()
    for s in sets:
        out |= s
    return frozenset(out)


def _prune(merged: dict[str, Any], dropped: FieldSet, still_owned: FieldSet, node: TypeNode) -> None:
    """Remove what the applier dropped, unless it or something below it is still owned.

    Structs/maps left empty by the removal and not owned by anyone go too (upstream makes
    named fields members before pruning: ``EnsureNamedFieldsAreMembers``)."""
    owned_prefixes = {p[:i] for p in still_owned for i in range(1, len(p) + 1)}
    for path in sorted(dropped, key=len):
        if path in owned_prefixes:
            continue
        parent = path[:-1]
        if path[-1][0] == "f" and parent and parent[-1][0] in ("k", "v") and _is_key_field(
            node, parent, path[-1][1]
        ):
            continue  # never strip the key of an associative item that stays
        if remove_path(merged, path, node):
            _drop_empty_parents(merged, parent, owned_prefixes, node)


def _is_key_field(node: TypeNode, item_path: Path, name: str) -> bool:
    current = node
    for pe in item_path[:-1]:
        current = (current.field(pe[1]) or TypeNode.untyped()) if pe[0] == "f" else current.element()
    return current.kind == "list" and name in current.list_keys


def _drop_empty_parents(merged: dict[str, Any], path: Path, owned: set[Path], node: TypeNode) -> None:
    while path and path[-1][0] == "f" and path not in owned:
        value: Any = merged
        for pe in path:
            if pe[0] != "f" or not isinstance(value, dict):
                return
            value = value.get(pe[1])
        if value != {}:
            return
        remove_path(merged, path, node)
        path = path[:-1]


def _managed_differs(live: dict[str, Any] | None, encoded: list[dict[str, Any]]) -> bool:
    if live is None:
        return True
    return (live.get("metadata") or {}).get("managedFields") != encoded
