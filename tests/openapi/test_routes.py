"""The /openapi routes in-process (Starlette TestClient)."""

from starlette.testclient import TestClient
import pytest
from starlette.applications import Starlette

from shiplane.cluster.openapi import OpenAPIService, ResourceEntry, SchemaCatalog, openapi_routes

RESOURCES = [ResourceEntry("apps", "v1", "Deployment", "deployments", True, ("status", "scale")),
             ResourceEntry("", "v1", "Namespace", "namespaces", False, ("status",))]


@pytest.fixture(scope="module")
def client():
    app = Starlette(routes=openapi_routes(OpenAPIService(SchemaCatalog(), lambda: RESOURCES)))
    return TestClient(app)


def test_v3_root_and_documents(client):
    root = client.get("/openapi/v3").json()
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = client.get(url)
    assert doc.status_code == 200 and doc.json()["openapi"] == "3.0.0"
    assert doc.headers["cache-control"] == "public, immutable"
    etag = doc.headers["etag"]
    assert client.get("/openapi/v3/apis/apps/v1").headers["cache-control"] == "no-cache, private"
    assert client.get("/openapi/v3/apis/apps/v1", headers={"If-None-Match": etag}).status_code == 304
    missing = client.get("/openapi/v3/apis/nope/v1")
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"


def test_v2_json_and_protobuf_refusal(client):
    assert client.get("/openapi/v2", headers={"Accept": "application/json"}).json()["swagger"] == "2.0"
    refused = client.get("/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert refused.status_code == 406
