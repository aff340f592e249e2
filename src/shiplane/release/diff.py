"""Rendered manifests vs live objects: a normalised, unified diff (pure).

Live objects carry fields the API server and controllers set (``status``,
``metadata.uid``/``resourceVersion``/``managedFields``..., defaulted fields).
``normalise`` drops the server-set metadata and ``status``; defaulted fields are
handled by comparing only the paths the rendered manifest sets (like
``kubectl diff`` does with server-side dry-run, without needing one): a live
field the chart never set is not a difference, a field the chart sets to a
different value is, and an object that exists on only one side is an add or
a delete.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["ObjectDiff", "diff_objects", "normalise", "object_key", "project", "unified"]

_SERVER_METADATA = (
    "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
    "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
)
# Annotations written by clients and controllers, never by the chart.
_SERVER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)


def object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


def normalise(obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    """A copy without server-set metadata, status and client-only annotations."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_METADATA}
    if namespace and "namespace" not in meta:
        meta["namespace"] = namespace
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def project(live: Any, desired: Any) -> Any:
    """``live`` restricted to the shape of ``desired`` (fields the chart does not set go)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {k: project(live[k], v) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [project(lv, dv) for lv, dv in zip(live, desired, strict=True)]
    return live


@dataclass(frozen=True)
class ObjectDiff:
    key: str
    change: str  # "add" (only rendered), "delete" (only live), "modify"
    diff: str  # unified diff text


def unified(key: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    def lines(obj: dict[str, Any] | None) -> list[str]:
        if obj is None:
            return []
        return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(True)

    return "".join(difflib.unified_diff(
        lines(before), lines(after), fromfile=f"live/{key}", tofile=f"rendered/{key}"
    ))


def diff_objects(
    rendered: Iterable[dict[str, Any]],
    live: dict[str, dict[str, Any] | None],
    *,
    namespace: str,
    previously_released: Iterable[str] = (),
) -> list[ObjectDiff]:
    """Compare rendered manifests with ``live`` (key -> object or None when absent).

    ``previously_released`` are keys of the current release's objects; those no longer
    rendered are deletes (Helm removes them on upgrade).
    """
    out: list[ObjectDiff] = []
    seen: set[str] = set()
    for manifest in rendered:
        desired = normalise(manifest, namespace)
        key = object_key(desired)
        seen.add(key)
        current = live.get(key)
        if current is None:
            out.append(ObjectDiff(key, "add", unified(key, None, desired)))
            continue
        projected = project(normalise(current, namespace), desired)
        if projected != desired:
            out.append(ObjectDiff(key, "modify", unified(key, projected, desired)))
    for key in previously_released:
        if key not in seen and live.get(key) is not None:
            gone = normalise(live[key] or {}, namespace)
            out.append(ObjectDiff(key, "delete", unified(key, gone, None)))
    return out
