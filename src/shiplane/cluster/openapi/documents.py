"""The ``/openapi/v2`` and ``/openapi/v3`` documents for the resources a server serves.

Shapes follow kube-apiserver (k8s.io/kube-openapi ``pkg/handler3``, ``pkg/builder3``):

* v3 root: ``{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=H"}}}``;
  ``H`` is the upper-case hex SHA-512 of the group-version document (its ETag).
* v3 group-version document: ``openapi: 3.0.0``, ``paths`` for the collection and item URLs
  (plus subresources), ``components.schemas`` with every definition reached from them.
* v2: one ``swagger: "2.0"`` document with all paths and ``definitions``.

Every PATCH operation carries ``x-kubernetes-group-version-kind`` (one object) and the query
parameters ``dryRun``, ``fieldManager``, ``fieldValidation`` and ``force``: kubectl's
``QueryParamVerifierV3.HasSupport`` (k8s.io/kubectl ``pkg/cmd/util/resource`` /
cli-runtime ``query_param_verifier_v3.go``) looks exactly for that to switch to server-side
field validation. (CRDs not found there are checked against the Namespace PATCH operation.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.openapi.catalog import GroupVersionKind, SchemaCatalog
from shiplane.cluster.openapi.definitions import v3_ref

__all__ = [
    "ResourceEntry",
    "document_hash",
    "group_version_key",
    "v2_document",
    "v3_group_version_document",
    "v3_root",
]

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_RESPONSE_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")


@dataclass(frozen=True)
class ResourceEntry:
    """One served resource (what discovery lists)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    subresources: tuple[str, ...] = ()

    @property
    def gvk(self) -> GroupVersionKind:
        return GroupVersionKind(self.group, self.version, self.kind)

    @property
    def group_version(self) -> str:
        return self.gvk.group_version


def group_version_key(group: str, version: str) -> str:
    """The root's path key: ``api/v1`` for the core group, ``apis/<group>/<version>``."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def document_hash(document: Mapping[str, Any]) -> str:
    data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(data).hexdigest().upper()


def v3_root(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``documents``: group-version key → its v3 document."""
    return {
        "paths": {
            key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={document_hash(doc)}"}
            for key, doc in sorted(documents.items())
        }
    }


def v3_group_version_document(
    catalog: SchemaCatalog, resources: Iterable[ResourceEntry], group: str, version: str
) -> dict[str, Any]:
    mine = [r for r in resources if r.group == group and r.version == version]
    paths: dict[str, Any] = {}
    roots: set[str] = set()
    for resource in sorted(mine, key=lambda r: r.plural):
        name = catalog.definition_name(resource.gvk)
        if name is None:
            continue
        list_name = catalog.definition_name(
            GroupVersionKind(group, version, resource.kind + "List")
        )
        roots.update({name, _META + "Status", _META + "DeleteOptions", _META + "Patch"})
        if list_name:
            roots.add(list_name)
        paths.update(_resource_paths(resource, name, list_name))
        if "scale" in resource.subresources:
            roots.add("io.k8s.api.autoscaling.v1.Scale")
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": catalog.kubernetes_version},
        "paths": paths,
        "components": {
            "schemas": {n: catalog.schemas[n] for n in sorted(_closure(catalog.schemas, roots))},
            "securitySchemes": {
                "BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                                "description": "Bearer Token authentication"}
            },
        },
        "security": [{"BearerToken": []}],
    }


def v2_document(catalog: SchemaCatalog, resources: Iterable[ResourceEntry]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    roots: set[str] = set()
    for resource in sorted(resources, key=lambda r: (r.group, r.version, r.plural)):
        name = catalog.definition_name(resource.gvk)
        if name is None:
            continue
        list_name = catalog.definition_name(
            GroupVersionKind(resource.group, resource.version, resource.kind + "List")
        )
        roots.update({name, _META + "Status", _META + "DeleteOptions", _META + "Patch"})
        if list_name:
            roots.add(list_name)
        paths.update(_resource_paths(resource, name, list_name))
    definitions = {n: catalog.schemas[n] for n in sorted(_closure(catalog.schemas, roots))}
    doc = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": catalog.kubernetes_version},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                            "description": "Bearer Token authentication"}
        },
        "security": [{"BearerToken": []}],
    }
    paths_v2 = {p: _v2_path_item(item) for p, item in doc.pop("paths").items()}
    out = _to_v2(doc)
    out["paths"] = paths_v2
    return {k: out[k] for k in ("swagger", "info", "paths", "definitions", "securityDefinitions", "security")}


# -- paths -----------------------------------------------------------------------------


def _resource_paths(r: ResourceEntry, name: str, list_name: str | None) -> dict[str, Any]:
    prefix = f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"
    scope = f"{prefix}/namespaces/{{namespace}}" if r.namespaced else prefix
    gvk = r.gvk.as_extension()
    op_kind = _operation_kind(r)
    out: dict[str, Any] = {}
    collection_ops: dict[str, Any] = {
        "post": _op("create", f"create{op_kind}", f"create a {r.kind}", gvk, name,
                    _WRITE_PARAMS, body=name, codes=("200", "201", "202")),
        "delete": _op("deletecollection", f"deleteCollection{op_kind}",
                      f"delete collection of {r.kind}", gvk, _META + "Status", _LIST_PARAMS),
    }
    if list_name:
        collection_ops["get"] = _op("list", f"list{op_kind}", f"list or watch objects of kind {r.kind}",
                                    gvk, list_name, _LIST_PARAMS)
    out[f"{scope}/{r.plural}"] = {**collection_ops, "parameters": _scope_params(r.namespaced)}
    out[f"{scope}/{r.plural}/{{name}}"] = {
        "get": _op("get", f"read{op_kind}", f"read the specified {r.kind}", gvk, name, ()),
        "put": _op("put", f"replace{op_kind}", f"replace the specified {r.kind}", gvk, name,
                   _WRITE_PARAMS, body=name, codes=("200", "201")),
        "patch": _patch_op(f"patch{op_kind}", f"partially update the specified {r.kind}", gvk, name),
        "delete": _op("delete", f"delete{op_kind}", f"delete a {r.kind}", gvk, _META + "Status",
                      (_param("dryRun"), _param("gracePeriodSeconds", "integer"),
                       _param("propagationPolicy"))),
        "parameters": _scope_params(r.namespaced, named=True),
    }
    for sub in r.subresources:
        if sub not in ("status", "scale"):
            continue  # binding/eviction/finalize/log have their own shapes; not described
        target = "io.k8s.api.autoscaling.v1.Scale" if sub == "scale" else name
        sub_gvk = {"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else gvk
        title = op_kind + sub.capitalize()
        out[f"{scope}/{r.plural}/{{name}}/{sub}"] = {
            "get": _op("get", f"read{title}", f"read {sub} of the specified {r.kind}", sub_gvk, target, ()),
            "put": _op("put", f"replace{title}", f"replace {sub} of the specified {r.kind}",
                       sub_gvk, target, _WRITE_PARAMS, body=target, codes=("200", "201")),
            "patch": _patch_op(f"patch{title}", f"partially update {sub} of the specified {r.kind}",
                               sub_gvk, target),
            "parameters": _scope_params(r.namespaced, named=True),
        }
    if r.namespaced:
        out[f"{prefix}/{r.plural}"] = {
            "get": _op("list", f"list{_camel(r)}ForAllNamespaces",
                       f"list or watch objects of kind {r.kind}", gvk, list_name or name, _LIST_PARAMS),
        }
    return out


def _camel(r: ResourceEntry) -> str:
    group = "".join(part.capitalize() for part in r.group.split(".")[0].split("-")) or "Core"
    return f"{group}{r.version.capitalize()}{r.kind}"


def _operation_kind(r: ResourceEntry) -> str:
    group = "".join(part.capitalize() for part in r.group.split(".")[0].split("-")) or "Core"
    scope = "Namespaced" if r.namespaced else ""
    return f"{group}{r.version.capitalize()}{scope}{r.kind}"


def _param(name: str, kind: str = "string", where: str = "query", **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "description": _PARAM_DOCS.get(name, name),
            "schema": {"type": kind, "uniqueItems": True}, **extra}


_PARAM_DOCS = {
    "dryRun": "When present, indicates that modifications should not be persisted. Valid values: All.",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making "
    "these changes. Required for apply requests (application/apply-patch).",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the "
    "request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: "
    "- Ignore - Strict (default) - Warn",
    "force": "Force is going to \"force\" Apply requests. It means user will re-acquire "
    "conflicting fields owned by other people. Must be unset for non-apply patch requests.",
}
_WRITE_PARAMS = (_param("dryRun"), _param("fieldManager"), _param("fieldValidation"))
_LIST_PARAMS = tuple(
    _param(n, "boolean" if n in ("watch", "allowWatchBookmarks") else
           "integer" if n in ("limit", "timeoutSeconds") else "string")
    for n in ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
              "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "watch")
)


def _scope_params(namespaced: bool, named: bool = False) -> list[dict[str, Any]]:
    params = []
    if named:
        params.append(_param("name", where="path", required=True))
    if namespaced:
        params.append(_param("namespace", where="path", required=True))
    params.append(_param("pretty"))
    return params


def _responses(schema: str, codes: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        code: {
            "description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
            "content": {t: {"schema": {"$ref": v3_ref(schema)}} for t in _RESPONSE_TYPES},
        }
        for code in codes
    }
    out["401"] = {"description": "Unauthorized"}
    return out


def _op(
    action: str, op_id: str, text: str, gvk: dict[str, str], response: str,
    params: Iterable[dict[str, Any]], *, body: str | None = None, codes: Iterable[str] = ("200",),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "description": text,
        "operationId": op_id,
        "parameters": list(params),
        "responses": _responses(response, codes),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    if body:
        op["requestBody"] = {
            "content": {"*/*": {"schema": {"$ref": v3_ref(body)}}},
            "required": True,
        }
    return op


def _patch_op(op_id: str, text: str, gvk: dict[str, str], response: str) -> dict[str, Any]:
    op = _op("patch", op_id, text, gvk, response,
             (*_WRITE_PARAMS, _param("force", "boolean")), codes=("200", "201"))
    op["requestBody"] = {
        "content": {t: {"schema": {"$ref": v3_ref(_META + "Patch")}} for t in _PATCH_TYPES},
        "required": True,
    }
    return op


# -- schema closure and v2 conversion ----------------------------------------------------


def _closure(schemas: Mapping[str, Mapping[str, Any]], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [r for r in roots if r in schemas]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for ref in _refs(schemas[name]):
            if ref not in seen and ref in schemas:
                todo.append(ref)
    return seen


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _to_v2(node: Any) -> Any:
    """v3 shapes → swagger 2.0: ``#/definitions/`` refs, ``allOf`` wrappers unwrapped,
    parameter ``schema`` inlined, request bodies as ``in: body`` parameters."""
    if isinstance(node, list):
        return [_to_v2(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and isinstance(node["$ref"], str):
        return {**node, "$ref": "#/definitions/" + node["$ref"].rsplit("/", 1)[-1]}
    out: dict[str, Any] = {}
    all_of = node.get("allOf")
    if all_of and len(all_of) == 1 and "$ref" in all_of[0]:
        node = {k: v for k, v in node.items() if k != "allOf"}
        out["$ref"] = "#/definitions/" + all_of[0]["$ref"].rsplit("/", 1)[-1]
    for key, value in node.items():
        out[key] = _to_v2(value)
    return out


def _v2_path_item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method, op in item.items():
        if method == "parameters":
            out[method] = [_v2_param(p) for p in op]
            continue
        params = [_v2_param(p) for p in op.get("parameters", [])]
        body = op.get("requestBody")
        consumes = ["*/*"]
        if body:
            content = body["content"]
            consumes = list(content)
            schema = next(iter(content.values()))["schema"]
            params.insert(0, {"name": "body", "in": "body", "required": True,
                              "schema": _to_v2(schema)})
        responses = {}
        for code, response in op.get("responses", {}).items():
            entry = {"description": response["description"]}
            if "content" in response:
                entry["schema"] = _to_v2(next(iter(response["content"].values()))["schema"])
            responses[code] = entry
        v2op = {k: v for k, v in op.items() if k not in ("parameters", "requestBody", "responses")}
        v2op.update({"consumes": consumes, "produces": list(_RESPONSE_TYPES), "schemes": ["https"],
                     "parameters": params, "responses": responses})
        out[method] = v2op
    return out


def _v2_param(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in p.items() if k != "schema"}
    out.update(p.get("schema", {}))
    return out
