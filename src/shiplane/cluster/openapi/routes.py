"""Starlette routes for ``/openapi/v2``, ``/openapi/v3`` and ``/openapi/v3/<group-version>``.

Answers like kube-openapi's handlers: JSON bodies with an ``ETag``; a v3 document requested
with the advertised ``hash`` is ``Cache-Control: public, immutable`` (otherwise
``no-cache, private``); ``If-None-Match`` with the current ETag → 304; v2 in protobuf → 406
(kubectl then uses v3); unknown group-versions → 404 Status.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shiplane.cluster.openapi.service import EncodedDocument, OpenAPIService, v2_acceptable

__all__ = ["openapi_routes"]

_JSON = "application/json"


def _not_found(path: str) -> Response:
    return JSONResponse({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "the server could not find the requested resource",
                         "reason": "NotFound", "details": {}, "code": 404}, status_code=404)


def _document(request: Request, doc: EncodedDocument, *, immutable: bool) -> Response:
    etag = f'"{doc.etag}"'
    headers = {"ETag": etag, "Cache-Control": "public, immutable" if immutable else "no-cache, private"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(doc.body, media_type=_JSON, headers=headers)


def openapi_routes(service: OpenAPIService) -> list[Route]:
    async def v2(request: Request) -> Response:
        if not v2_acceptable(request.headers.get("accept", "")):
            return Response(status_code=406)
        return _document(request, service.v2(), immutable=False)

    async def v3_root(request: Request) -> Response:
        return Response(service.v3_root(), media_type=_JSON, headers={"Cache-Control": "no-cache, private"})

    async def v3_document(request: Request) -> Response:
        doc = service.v3_document(request.path_params["path"])
        if doc is None:
            return _not_found(request.url.path)
        return _document(request, doc, immutable=request.query_params.get("hash") == doc.etag)

    return [
        Route("/openapi/v2", v2),
        Route("/openapi/v3", v3_root),
        Route("/openapi/v3/{path:path}", v3_document),
    ]
