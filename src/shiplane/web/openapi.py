"""The JSON API as data: each operation's route and documentation, and the OpenAPI 3 spec.

:data:`API_OPERATIONS` is the one table: ``app`` builds its ``/api`` routes from it
(operationId → handler) and :func:`openapi_document` builds ``/api/openapi.json``
from the same rows, so the spec cannot list a route the server lacks or miss one it
has. Schemas are hand-written (``SCHEMAS``) and kept loose where the libraries add
fields (``additionalProperties`` stays allowed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shiplane import __version__

__all__ = ["API_OPERATIONS", "ApiOperation", "openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_NSTR = {"type": "string", "nullable": True}
_NINT = {"type": "integer", "nullable": True}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj({"error": _STR}, {"hint": _NSTR}),
    "Entry": _obj({
        "model": {"type": "integer", "enum": [1, 2]},
        "source": {"type": "string", "enum": ["helm", "argocd"]},
        "sync": {"type": "string", "enum": ["Synced", "OutOfSync", "Unknown"]},
        "health": {"type": "string", "enum": ["Healthy", "Suspended", "Progressing", "Missing",
                                              "Degraded", "Unknown"]},
        "tag": _STR, "digest": _STR, "image": _STR, "deployed_at": _STR, "deployed_by": _STR,
    }, {"namespace": _STR, "application": _STR, "health_message": _STR,
        # Model 1: Helm revisions; Model 2: ApplicationHistory rows
        "history": _array({"oneOf": [_ref("HelmRevision"), _ref("ApplicationHistory")]})}),
    "HelmRevision": _obj({"revision": _INT, "status": _STR},
                         {"chart": _STR, "app_version": _STR, "description": _STR,
                          "updated": _STR}),
    "ApplicationHistory": _obj({"id": _NINT, "revision": _STR, "revisions": _array(_STR),
                                "deployed_at": _STR, "initiated_by": _STR}),
    "Overview": _obj({
        "environments": _array(_STR),
        "services": _array(_obj({"name": _STR, "cells": {
            "type": "object", "additionalProperties": _array(_ref("Entry"))}})),
        "errors": _array(_STR),
    }),
    "Step": _obj({"name": _STR, "status": _STR},
                 {"started_at": _NSTR, "ended_at": _NSTR, "seconds": {"type": "number",
                                                                      "nullable": True},
                  "summary": _STR, "log": _STR}),
    "Run": _obj({"id": _INT, "service": _STR, "env": _STR, "model": _INT, "trigger": _STR,
                 "status": _STR, "steps": _array(_ref("Step"))},
                {"commit": _NSTR, "image_reference": _NSTR, "image_digest": _NSTR,
                 "release_revision": _NINT, "error": _NSTR, "created_at": _NSTR}),
    "RunList": _obj({"runs": _array(_ref("Run"))}),
    "Gate": _obj({"name": _STR, "passed": _BOOL, "detail": _STR}),
    "PendingPromotion": _obj({"branch": _STR, "service": _STR, "source": _STR,
                              "target": _STR, "tag": _STR, "author": _STR,
                              "gates": _array(_ref("Gate"))}, {"commit": _STR}),
    "Promotions": _obj({"pending": _array(_ref("PendingPromotion")), "errors": _array(_STR)}),
    "Service": _obj({
        "name": _STR, "environments": _array(_STR), "runs": _array(_ref("Run")),
        "releases": {"type": "object", "additionalProperties": {"type": "object"}},
        "applications": {"type": "object", "additionalProperties": _ref("Entry")},
        "promotions": _array(_ref("PendingPromotion")), "errors": _array(_STR),
    }),
    "Rollout": _obj({
        "service": _STR, "namespace": _STR, "found": _BOOL,
        "status": _obj({"message": _STR, "done": _BOOL, "failed": _BOOL}),
        "replicasets": _array(_obj({"name": _STR, "role": {"type": "string",
                                                           "enum": ["new", "old"]},
                                    "desired": _INT, "current": _INT, "ready": _INT})),
        "pods": _array(_obj({"name": _STR, "replicaset": _STR, "node": _STR, "ready": _BOOL,
                             "path": _array(_obj({"stage": _STR, "label": _STR,
                                                  "state": {"type": "string", "enum": [
                                                      "done", "active", "waiting",
                                                      "failed"]},
                                                  "detail": _STR}))})),
        "endpoints": _obj({"ready": _INT, "not_ready": _INT}),
        "events": _array(_obj({"reason": _STR, "object": _STR, "message": _STR})),
    }),
    "Registry": _obj({"host": _STR, "repositories": _array(_obj({
        "name": _STR, "tags": _array(_obj({"tag": _STR, "digest": _STR, "size": _NINT}))}))}),
    "Cluster": _obj({
        "clusters": _array(_obj({"server": _STR, "environments": _array(_STR),
                                 "nodes": _array(_obj({
                                     "name": _STR, "ready": _BOOL,
                                     "capacity": {"type": "object"},
                                     "allocatable": {"type": "object"},
                                     "images": _array({"type": "object"}),
                                     "pods": _array(_obj({"namespace": _STR, "name": _STR,
                                                          "phase": _STR}))}))})),
        "registry": _ref("Registry"), "errors": _array(_STR),
    }),
    "AuditEntry": _obj({"when": _STR, "service": _STR, "env": _STR, "action": _STR,
                        "tag": _STR, "by": _STR, "model": _INT, "detail": _STR}),
    "Audit": _obj({"entries": _array(_ref("AuditEntry")), "total": _INT,
                   "errors": _array(_STR)}),
    "Whoami": _obj({"user": _NSTR, "actions": _array(_STR)}),
    "RollbackRequest": {"type": "object", "properties": {
        "revision": {"type": "integer", "minimum": 1, "nullable": True}}},
    "ApplicationRollbackRequest": _obj(
        {"id": {"type": "integer", "minimum": 0}},
        {"disable_auto_sync": {"type": "boolean", "default": False}}),
    "BranchRequest": _obj({"branch": {"type": "string", "minLength": 1}}),
    "ActionResult": {"type": "object"},
}

_ERRORS = {
    "401": ("no or unknown bearer token", "Error"),
    "403": ("the user may not do this (or is the promotion's author)", "Error"),
    "404": ("no such service, environment, application or promotion", "Error"),
    "409": ("refused by shiplane (its message and hint say why)", "Error"),
}


@dataclass(frozen=True)
class ApiOperation:
    method: str
    path: str
    operation_id: str
    summary: str
    response: str  # schema name of the 200 answer ("" for a stream)
    parameters: tuple[tuple[str, str, dict[str, Any], bool], ...] = ()  # (name, in, schema, req)
    body: str | None = None
    action: bool = False  # needs a bearer token
    not_found: bool = False
    stream: bool = False
    tags: tuple[str, ...] = field(default=("read",))


_SERVICE = ("service", "path", {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            True)
_ENV = ("env", "path", {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}, True)
_LIMIT = ("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, False)

API_OPERATIONS: tuple[ApiOperation, ...] = (
    ApiOperation("GET", "/api/overview", "getOverview",
                 "Services × environments: version, sync, health, last deploy, model",
                 "Overview"),
    ApiOperation("GET", "/api/services/{service}", "getService",
                 "A service's pipeline runs, releases per environment, Applications, "
                 "pending promotions", "Service", (_SERVICE,), not_found=True),
    ApiOperation("GET", "/api/runs", "listRuns", "Pipeline runs, newest first", "RunList",
                 (("service", "query", {"type": "string"}, False), _LIMIT)),
    ApiOperation("GET", "/api/runs/{run_id}", "getRun", "One pipeline run with step logs",
                 "Run", (("run_id", "path", {"type": "integer", "minimum": 1}, True),),
                 not_found=True),
    ApiOperation("GET", "/api/services/{service}/environments/{env}/rollout", "getRollout",
                 "The Deployment's rollout now: ReplicaSets, pods' paths, endpoints, events",
                 "Rollout", (_SERVICE, _ENV), not_found=True),
    ApiOperation("GET", "/api/services/{service}/environments/{env}/rollout/events",
                 "streamRollout", "The same as Server-Sent Events (event `view`, JSON data) "
                 "fed by the cluster's watches", "", (_SERVICE, _ENV), not_found=True,
                 stream=True),
    ApiOperation("GET", "/api/cluster", "getCluster",
                 "Nodes (capacity, allocation, cached images, pods) and the registry",
                 "Cluster"),
    ApiOperation("GET", "/api/registry", "getRegistry",
                 "The stack registry's repositories, tags, digests and sizes", "Registry"),
    ApiOperation("GET", "/api/promotions", "listPromotions",
                 "Pending promotions with their gates", "Promotions"),
    ApiOperation("GET", "/api/audit", "getAudit",
                 "Who promoted, deployed, synced or rolled back what and when", "Audit",
                 tuple((name, "query", {"type": "string"}, False)
                       for name in ("service", "env", "by", "action"))),
    ApiOperation("GET", "/api/whoami", "whoami", "The user of the bearer token, if any",
                 "Whoami"),
    ApiOperation("POST", "/api/services/{service}/environments/{env}/rollback", "rollback",
                 "Helm rollback (Model 1) to a revision, default the previous one",
                 "ActionResult", (_SERVICE, _ENV), body="RollbackRequest", action=True,
                 not_found=True, tags=("actions",)),
    ApiOperation("POST", "/api/applications/{application}/sync", "syncApplication",
                 "Sync an Argo CD Application now (Model 2)", "ActionResult",
                 (("application", "path", {"type": "string"}, True),), action=True,
                 not_found=True, tags=("actions",)),
    ApiOperation("POST", "/api/applications/{application}/rollback", "rollbackApplication",
                 "Model 2 rollback to a history entry's revisions (as `shiplane gitops "
                 "rollback`); refused while automated sync is on unless disable_auto_sync",
                 "ActionResult", (("application", "path", {"type": "string"}, True),),
                 body="ApplicationRollbackRequest", action=True, not_found=True,
                 tags=("actions",)),
    ApiOperation("POST", "/api/promotions/approve", "approvePromotion",
                 "Approve and land a pending promotion (not by its author)", "ActionResult",
                 body="BranchRequest", action=True, not_found=True, tags=("actions",)),
    ApiOperation("POST", "/api/promotions/reject", "rejectPromotion",
                 "Reject a pending promotion (its branch is deleted)", "ActionResult",
                 body="BranchRequest", action=True, not_found=True, tags=("actions",)),
)


def _operation(op: ApiOperation) -> dict[str, Any]:
    content = ({"text/event-stream": {"schema": {"type": "string"}}} if op.stream
               else {"application/json": {"schema": _ref(op.response)}})
    responses: dict[str, Any] = {"200": {"description": op.summary, "content": content}}
    wanted = ["409"]
    if op.action:
        wanted += ["401", "403"]
    if op.not_found:
        wanted.append("404")
    if op.body or op.parameters:
        wanted.append("400")
    for code in sorted(wanted):
        description, schema = _ERRORS.get(code, ("malformed request body", "Error"))
        responses[code] = {"description": description,
                           "content": {"application/json": {"schema": _ref(schema)}}}
    out: dict[str, Any] = {
        "operationId": op.operation_id, "summary": op.summary, "tags": list(op.tags),
        "responses": responses,
    }
    if op.parameters:
        out["parameters"] = [{"name": name, "in": where, "required": required, "schema": schema}
                             for name, where, schema, required in op.parameters]
    if op.body:
        out["requestBody"] = {"required": op.body in ("BranchRequest",
                                                      "ApplicationRollbackRequest"),
                              "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.action:
        out["security"] = [{"bearer": []}]
    return out


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in API_OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {"title": "shiplane dashboard API", "version": __version__,
                 "description": "Read-only by default; actions need a bearer token from the "
                                "workspace's users file (`shiplane ui add-user NAME`)."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
