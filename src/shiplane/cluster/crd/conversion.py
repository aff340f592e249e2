"""Version conversion of custom resources with ``spec.conversion.strategy: None``.

Upstream's no-op converter only rewrites ``apiVersion`` (apiextensions-apiserver
``pkg/apiserver/conversion/nop_converter.go``): objects are persisted at the CRD's storage
version and every response carries the version the client asked for. Webhook conversion is
refused when the CRD is validated, so this is the only strategy served.
"""

from __future__ import annotations

from typing import Any

__all__ = ["convert_version"]


def convert_version(obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    """``obj`` at ``api_version``: the same object when already there, else a shallow copy
    with only ``apiVersion`` changed (the rest is shared, not copied)."""
    if obj.get("apiVersion") == api_version:
        return obj
    converted = dict(obj)
    converted["apiVersion"] = api_version
    return converted
