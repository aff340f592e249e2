"""What POST/PUT/PATCH bodies go through before the backend: field managers and
``fieldValidation`` (unknown and duplicate fields), per kube-apiserver's handlers
(``handlers/rest.go`` fieldValidation and managerOrUserAgent, ``handlers/patch.go``).

* manager: the ``fieldManager`` parameter, else the user agent up to its first ``/``;
  required for apply patches (422 otherwise);
* ``fieldValidation`` Strict → 400 ``<Kind> in version "<v>" cannot be handled as a <Kind>:
  strict decoding error: …`` (apply patches: ``failed to create typed patch object …``);
  Warn (the default) → one ``Warning`` header per problem; unknown fields are dropped unless
  Strict refused them. JSON patches are checked for duplicate keys only.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shiplane.cluster.apiserver.encoding import decode_body
from shiplane.cluster.apiserver.patches import JSON_PATCH, PATCH_TYPES
from shiplane.cluster.fieldmanager import (
    InvalidManager,
    manager_from_user_agent,
    typed_patch_error,
    undeclared_fields,
    validate_field_manager,
)
from shiplane.cluster.openapi import (
    OpenAPIError,
    TypeNode,
    decode_json,
    decode_yaml,
    drop_unknown_fields,
    parse_field_validation,
    unknown_fields,
    warning_header,
)
from shiplane.cluster.resources.registry import ResourceType
from shiplane.cluster.store.errors import ApiError, BadRequest

__all__ = ["APPLY_PATCH", "Unprocessable", "checked_body", "field_manager", "warned"]

APPLY_PATCH = "application/apply-patch+yaml"
_JSON_LIKE = ("application/json", *PATCH_TYPES)


class Unprocessable(ApiError):
    code = 422
    reason = "Invalid"


def field_manager(request: Request, *, apply: bool) -> str:
    name = request.query_params.get("fieldManager")
    try:
        validate_field_manager(name, apply=apply)
    except InvalidManager as error:
        raise Unprocessable(str(error)) from None
    return name or manager_from_user_agent(request.headers.get("user-agent"))


def warned(response: Response, warnings: list[str]) -> Response:
    for text in warnings:
        response.headers.append("Warning", warning_header(text))
    return response


def checked_body(raw: bytes, content_type: str, query: Any, rt: ResourceType,
                 node: TypeNode | None, *, allowed: tuple[str, ...] = (),
                 patch_type: str | None = None) -> tuple[Any, list[str]]:
    """(the body without unknown fields, warnings); Strict refuses problems with 400."""
    media = content_type.split(";", 1)[0].strip().lower()
    duplicates: tuple[str, ...] = ()
    if media == APPLY_PATCH:
        try:
            decoded = decode_yaml(raw)
        except OpenAPIError as error:
            raise BadRequest(str(error)) from None
        value, duplicates = decoded.value, decoded.duplicates
    else:
        value = decode_body(raw, content_type, allowed=allowed)
    try:
        mode = parse_field_validation(query.get("fieldValidation"))
    except OpenAPIError as error:
        raise BadRequest(str(error)) from None
    directives = patch_type is not None and media != APPLY_PATCH
    if mode == "Ignore":
        return (value if patch_type == JSON_PATCH else
                drop_unknown_fields(value, node, directives=directives)), []
    if media in _JSON_LIKE or media in ("application/yaml", "application/x-yaml"):
        try:
            duplicates = (decode_yaml(raw) if "yaml" in media else decode_json(raw)).duplicates
        except OpenAPIError:
            duplicates = ()
    unknown = [] if patch_type == JSON_PATCH else unknown_fields(value, node, directives=directives)
    problems = list(duplicates) + unknown
    if problems and mode == "Strict":
        if media == APPLY_PATCH and not duplicates and node is not None:
            raise BadRequest(typed_patch_error(rt.api_version, rt.kind, undeclared_fields(value, node)))
        raise BadRequest(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                         f'strict decoding error: {", ".join(problems)}')
    if patch_type == JSON_PATCH:
        return value, problems
    return drop_unknown_fields(value, node, directives=directives), problems
