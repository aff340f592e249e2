"""The ``scale`` subresource: an autoscaling/v1 ``Scale`` view of a workload."""

from __future__ import annotations

from typing import Any

from shiplane.cluster.resources.registry import ResourceType

__all__ = ["get_path", "scale_of", "set_path"]


def set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = obj
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def get_path(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def scale_of(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """autoscaling/v1 Scale for a workload (selector rendered as a label-selector string)."""
    assert rt.scale is not None
    meta = obj.get("metadata") or {}
    selector = get_path(obj, rt.scale.selector_path) or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        values = ",".join(expr.get("values") or [])
        op = {"In": "in", "NotIn": "notin"}.get(expr.get("operator", ""))
        if op:
            parts.append(f"{expr['key']} {op} ({values})")
        elif expr.get("operator") == "Exists":
            parts.append(expr["key"])
        else:
            parts.append(f"!{expr['key']}")
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": get_path(obj, rt.scale.replicas_path) or 0},
        "status": {
            "replicas": get_path(obj, rt.scale.status_replicas_path) or 0,
            "selector": ",".join(parts),
        },
    }
