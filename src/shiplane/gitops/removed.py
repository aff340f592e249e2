"""Fields removed from git that are still live (pure).

The diff treats a key present only live as a server default, so deleting a line
from git would go unseen. Server-side apply records what our field manager
(``shiplane-gitops``) applied last in the live object's ``metadata.managedFields``
(``fieldsV1``): a field that manager owns, still live, and no longer desired is a
removal from git — the next apply drops it, so the resource is OutOfSync. (Argo CD
sees the same through the ``last-applied-configuration`` three-way diff, or with
server-side diff through managed fields.)

fieldsV1 keys: ``f:<name>`` a field, ``k:<json>`` a list item by its key fields,
``v:<json>`` a set item by value, ``i:<n>`` a list item by index, ``.`` the node
itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["owned_fields", "removed_fields"]


def owned_fields(live: Mapping[str, Any], manager: str) -> dict[str, Any]:
    """The union of ``manager``'s Apply field sets in ``live``'s managedFields."""
    merged: dict[str, Any] = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            _merge(merged, entry.get("fieldsV1") or {})
    return merged


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping):
            _merge(into.setdefault(key, {}), value)


def _fmt(path: Iterable[Any]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def _item(items: Any, keys: Mapping[str, Any]) -> tuple[int, Any] | None:
    if not isinstance(items, list):
        return None
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and all(item.get(k) == v for k, v in keys.items()):
            return index, item
    return None


def _walk(fields: Mapping[str, Any], desired: Any, live: Any,
          path: tuple[Any, ...]) -> Iterator[str]:
    for key, sub in fields.items():
        kind, _, name = key.partition(":")
        if kind == "f" and isinstance(live, Mapping):
            if name not in live or (path == () and name == "status"):
                continue
            if not isinstance(desired, Mapping) or name not in desired:
                if set(sub) - {"."}:  # report the owned leaves, not a shared parent
                    yield from _walk(sub, None, live[name], (*path, name))
                else:
                    yield f"{_fmt((*path, name))}: removed from git, still live"
            elif sub:
                yield from _walk(sub, desired[name], live[name], (*path, name))
        elif kind == "k":
            try:
                keys = json.loads(name)
            except ValueError:
                continue
            found_live = _item(live, keys)
            if found_live is None:
                continue
            found_desired = _item(desired, keys)
            if found_desired is None:
                yield f"{_fmt((*path, found_live[0]))}: removed from git, still live"
            elif sub:
                yield from _walk(sub, found_desired[1], found_live[1], (*path, found_live[0]))
        elif kind == "v":
            try:
                value = json.loads(name)
            except ValueError:
                continue
            if isinstance(live, list) and value in live and \
                    not (isinstance(desired, list) and value in desired):
                yield f"{_fmt(path)}: {value!r} removed from git, still live"
        elif kind == "i" and name.isdigit():
            index = int(name)
            if isinstance(live, list) and index < len(live):
                if not isinstance(desired, list) or index >= len(desired):
                    yield f"{_fmt((*path, index))}: removed from git, still live"
                elif sub:
                    yield from _walk(sub, desired[index], live[index], (*path, index))


def removed_fields(desired: Mapping[str, Any], live: Mapping[str, Any],
                   owned: Mapping[str, Any]) -> list[str]:
    """Paths ``owned`` (a fieldsV1 set) holds, present in ``live``, absent from ``desired``.

    ``desired`` and ``live`` are the normalised objects (ignored fields already removed
    from both, so an ignored field is never reported)."""
    return list(_walk(owned, desired, live, ()))
