"""Which live objects belong to an Application (pure).

Argo CD marks what it applies and prunes only what carries its mark
(argo-cd ``util/argo/resource_tracking.go``): the label
``app.kubernetes.io/instance: <app>`` (method ``label``), the annotation
``argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>``
(method ``annotation``, Argo CD 3's default) or both (``annotation+label``).
The annotation also names the object itself, so a copied object (same
annotation, different name) is not mistaken for ours and never pruned.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = [
    "INSTANCE_LABEL",
    "TRACKING_ANNOTATION",
    "TRACKING_METHODS",
    "group_of",
    "mark",
    "owned_by",
    "resource_key",
    "tracking_id",
]

INSTANCE_LABEL = "app.kubernetes.io/instance"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
TRACKING_METHODS = ("annotation", "label", "annotation+label")

ResourceKey = tuple[str, str, str, str]  # group, kind, namespace, name


def group_of(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def resource_key(obj: Mapping[str, Any]) -> ResourceKey:
    meta = obj.get("metadata") or {}
    return (group_of(obj), str(obj.get("kind", "")), str(meta.get("namespace") or ""),
            str(meta.get("name", "")))


def tracking_id(app_name: str, obj: Mapping[str, Any]) -> str:
    group, kind, namespace, name = resource_key(obj)
    return f"{app_name}:{group}/{kind}:{namespace}/{name}"


def mark(obj: Mapping[str, Any], app_name: str, method: str = "annotation") -> dict[str, Any]:
    """A copy of ``obj`` carrying the tracking mark of ``app_name``."""
    if method not in TRACKING_METHODS:
        raise ValueError(f"unknown tracking method {method!r} (one of {', '.join(TRACKING_METHODS)})")
    out = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    if "annotation" in method:
        meta.setdefault("annotations", {})[TRACKING_ANNOTATION] = tracking_id(app_name, out)
    if "label" in method:
        meta.setdefault("labels", {})[INSTANCE_LABEL] = app_name
    return out


def owned_by(obj: Mapping[str, Any], app_name: str, method: str = "annotation") -> bool:
    meta = obj.get("metadata") or {}
    if "annotation" in method:
        value = (meta.get("annotations") or {}).get(TRACKING_ANNOTATION)
        if value is not None:
            return value == tracking_id(app_name, obj)
        if method == "annotation":
            return False
    return (meta.get("labels") or {}).get(INSTANCE_LABEL) == app_name
