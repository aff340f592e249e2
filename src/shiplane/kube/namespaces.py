"""Namespaces as every writer needs them: there before objects go in."""

from __future__ import annotations

from shiplane.kube.client import KubeClient
from shiplane.kube.errors import ApiError

__all__ = ["ensure_namespace"]


def ensure_namespace(client: KubeClient, namespace: str) -> bool:
    """Create ``namespace`` if missing; True when this call created it. A namespace created by
    someone else meanwhile (409 AlreadyExists) counts as there."""
    try:
        client.get("v1", "Namespace", namespace)
        return False
    except ApiError as error:
        if error.code != 404:
            raise
    try:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    except ApiError as error:
        if error.code != 409:
            raise
        return False
    return True
