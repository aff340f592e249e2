"""The Kubernetes schema definitions, read from a pinned, maintained source.

The source is the ``kubernetes-validate`` package, which ships the upstream OpenAPI
definitions of every Kubernetes minor release as JSON Schema (``_definitions.json`` per
version, generated from the release's swagger.json). The JSON Schema form differs from the
OpenAPI documents kube-apiserver serves in a few mechanical ways, undone here:

* ``"type": ["integer", "null"]`` → ``"type": "integer"`` (nullability was added by the
  JSON-Schema generator, not by Kubernetes);
* ``$ref: "#/$defs/X"`` → ``$ref: "#/components/schemas/X"``; properties that reference a
  type and carry a description are wrapped as ``allOf: [{$ref}]`` like upstream's v3 output;
* ``IntOrString`` / ``Quantity`` (``oneOf`` of string and number) → ``type: string`` with
  ``format: int-or-string`` / no format, as in upstream's swagger;
* the generator's ``enum: ["apps/v1"]`` on ``apiVersion``/``kind`` is dropped.

Everything else — ``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-patch-merge-key``/``-strategy``, ``x-kubernetes-map-type``,
``x-kubernetes-group-version-kind``, ``required``, formats and enums — is upstream data as is.
One documented addition: list-map keys named ``protocol`` get ``default: "TCP"`` (upstream's
v3 document carries that default; server-side apply needs it to key ``ports`` items that
omit the protocol: k8s.io/api core/v1 types.go ``+default="TCP"``).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from shiplane.cluster.openapi.errors import OpenAPIError

__all__ = ["KUBERNETES_VERSION", "builtin_definitions", "definitions_path", "v3_ref"]

#: The Kubernetes release whose schemas the embedded API server serves.
KUBERNETES_VERSION = "v1.35.0"

_V3_PREFIX = "#/components/schemas/"


def v3_ref(name: str) -> str:
    return _V3_PREFIX + name


def definitions_path(version: str = KUBERNETES_VERSION) -> Path:
    try:
        import kubernetes_validate
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise OpenAPIError(
            "the kubernetes-validate package (Kubernetes schema data) is not installed",
            hint="pip install 'kubernetes-validate>=1.35'",
        ) from exc
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = base / f"{version}-local" / "_definitions.json"
    if not path.is_file():
        have = sorted(p.name.removesuffix("-local") for p in base.glob("v*-local"))
        raise OpenAPIError(
            f"no Kubernetes {version} schema data in kubernetes-validate",
            hint=f"versions available: {', '.join(have) or 'none'}",
        )
    return path


@functools.lru_cache(maxsize=4)
def _load(version: str) -> dict[str, dict[str, Any]]:
    raw = json.loads(definitions_path(version).read_text())
    defs = raw.get("$defs") or raw.get("definitions")
    if not isinstance(defs, dict):
        raise OpenAPIError(f"Kubernetes {version} schema data has no definitions")
    out = {name: _convert_definition(name, node) for name, node in defs.items()}
    _add_protocol_defaults(out)
    return out


def builtin_definitions(version: str = KUBERNETES_VERSION) -> dict[str, dict[str, Any]]:
    """Upstream's component schemas (v3 form), keyed by definition name. Callers get a copy."""
    return copy.deepcopy(_load(version))


def shared_definitions(version: str = KUBERNETES_VERSION) -> dict[str, dict[str, Any]]:
    """The cached definitions themselves: read-only for callers (no copy, for hot paths)."""
    return _load(version)


def _convert_definition(name: str, node: dict[str, Any]) -> dict[str, Any]:
    if name.endswith("util.intstr.IntOrString"):
        return {"description": _IOS_DESCRIPTION, "type": "string", "format": "int-or-string"}
    if name.endswith("api.resource.Quantity"):
        return {"description": _QUANTITY_DESCRIPTION, "type": "string"}
    out = _convert(node)
    if "x-kubernetes-group-version-kind" in out:
        for field in ("apiVersion", "kind"):
            prop = out.get("properties", {}).get(field)
            if prop is not None:
                prop.pop("enum", None)
    return out


def _convert(node: Any, *, as_property: bool = False) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            if kinds:
                out["type"] = kinds[0]
        elif key == "$ref" and isinstance(value, str):
            out["$ref"] = v3_ref(value.rsplit("/", 1)[-1])
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: _convert(v, as_property=True) for k, v in value.items()}
        else:
            out[key] = _convert(value)
    if as_property and "$ref" in out and len(out) > 1:
        # upstream v3 form: siblings of $ref are not allowed, so the ref is wrapped
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


def _add_protocol_defaults(defs: dict[str, dict[str, Any]]) -> None:
    for node in defs.values():
        for prop in node.get("properties", {}).values():
            keys = prop.get("x-kubernetes-list-map-keys") or []
            ref = prop.get("items", {}).get("$ref")
            if "protocol" in keys and ref:
                item = defs.get(ref.removeprefix(_V3_PREFIX), {})
                protocol = item.get("properties", {}).get("protocol")
                if protocol is not None:
                    protocol.setdefault("default", "TCP")


_IOS_DESCRIPTION = (
    "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
    "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you "
    "to have, for example, a JSON field that can accept a name or number."
)
_QUANTITY_DESCRIPTION = (
    "Quantity is a fixed-point representation of a number. It provides convenient "
    "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors."
)
