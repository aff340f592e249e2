"""Part 2 through the HTTP API in-process: server-side apply, managedFields, fieldValidation,
CRDs served generically, protobuf bodies, access reviews without authentication."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shiplane.cluster.apiserver import ApiBackend, build_app
from shiplane.cluster.store import MemoryObjectStore

APPLY = {"content-type": "application/apply-patch+yaml"}
CMS = "/api/v1/namespaces/default/configmaps"
PROTOBUF = Path(__file__).parents[1] / "protobuf"

WIDGETS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "required": ["size"], "properties": {
                    "size": {"type": "integer", "minimum": 1},
                    "color": {"type": "string", "default": "blue"}}},
                "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
            }}},
        }],
    },
}
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(ApiBackend(MemoryObjectStore())))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_server_side_apply_create_update_conflict(api: httpx.AsyncClient) -> None:
    created = await api.patch(f"{CMS}/app", content=json.dumps(cm("app", a="1")), headers=APPLY,
                              params={"fieldManager": "helm"})
    assert created.status_code == 201
    entry = created.json()["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("helm", "Apply")
    same = await api.patch(f"{CMS}/app", content=json.dumps(cm("app", a="1")), headers=APPLY,
                           params={"fieldManager": "helm"})
    assert same.status_code == 200
    conflict = await api.patch(f"{CMS}/app", content=json.dumps(cm("app", a="2")), headers=APPLY,
                               params={"fieldManager": "other"})
    assert conflict.status_code == 409
    assert conflict.json()["message"] == 'Apply failed with 1 conflict: conflict with "helm": .data.a'
    assert conflict.json()["details"]["causes"][0]["field"] == ".data.a"
    forced = await api.patch(f"{CMS}/app", content=json.dumps(cm("app", a="2")), headers=APPLY,
                             params={"fieldManager": "other", "force": "true"})
    assert forced.status_code == 200 and forced.json()["data"] == {"a": "2"}
    missing = await api.patch(f"{CMS}/app", content="{}", headers=APPLY)
    assert missing.status_code == 422
    forbidden = await api.patch(f"{CMS}/app", content="{}", params={"force": "true"},
                                headers={"content-type": "application/merge-patch+json"})
    assert forbidden.status_code == 422 and "non-apply patch" in forbidden.json()["message"]


async def test_writes_record_their_manager(api: httpx.AsyncClient) -> None:
    response = await api.post(CMS, json=cm("plain", k="v"), headers={"user-agent": "kubectl/v1.37.1 (linux)"})
    (entry,) = response.json()["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsV1"]) == (
        "kubectl", "Update", {"f:data": {".": {}, "f:k": {}}})


async def test_field_validation_modes(api: httpx.AsyncClient) -> None:
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dataa":{},"data":{"a":"1"},"data":{"a":"2"}}'
    strict = await api.post(CMS, content=body, params={"fieldValidation": "Strict"})
    assert strict.status_code == 400
    assert strict.json()["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict '
                                        'decoding error: duplicate field "data", unknown field "dataa"')
    warned = await api.post(CMS, content=body)
    assert warned.status_code == 201
    assert warned.headers.get_list("warning") == ['299 - "duplicate field \\"data\\""',
                                                  '299 - "unknown field \\"dataa\\""']
    assert "dataa" not in warned.json() and warned.json()["data"] == {"a": "2"}
    bad = await api.post(CMS, json=cm("y"), params={"fieldValidation": "strict"})
    assert bad.status_code == 400


async def test_custom_resource_definitions_are_served(api: httpx.AsyncClient) -> None:
    crd = await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    assert crd.status_code == 201
    conditions = {c["type"]: c["status"] for c in crd.json()["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"size": 2, "extra": 1}}
    made = await api.post(WIDGETS, json=widget)
    assert made.status_code == 201
    assert made.json()["spec"] == {"size": 2, "color": "blue"}  # pruned and defaulted
    invalid = await api.post(WIDGETS, json={**widget, "metadata": {"name": "v"}, "spec": {"size": 0}})
    assert invalid.status_code == 422
    assert invalid.json()["message"] == ('Widget.example.com "v" is invalid: spec.size: Invalid value: 0: '
                                         "spec.size in body should be greater than or equal to 1")
    table = await api.get(WIDGETS, headers={"accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert [c["name"] for c in table.json()["columnDefinitions"]] == ["Name", "Size"]
    assert table.json()["rows"][0]["cells"] == ["w", 2]
    openapi = (await api.get("/openapi/v3")).json()
    assert "apis/example.com/v1" in openapi["paths"]
    discovery = (await api.get("/apis/example.com/v1")).json()
    assert [r["name"] for r in discovery["resources"]] == ["widgets", "widgets/status"]
    bad_crd = await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                             json={**WIDGETS_CRD, "metadata": {"name": "wrong.example.com"}})
    assert bad_crd.status_code == 422
    deleted = await api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert deleted.status_code == 200
    assert (await api.get(WIDGETS)).status_code == 404


async def test_argo_cd_crds_exist_at_start(api: httpx.AsyncClient) -> None:
    names = [c["metadata"]["name"] for c in
             (await api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")).json()["items"]]
    assert {"applications.argoproj.io", "appprojects.argoproj.io"} <= set(names)


async def test_protobuf_bodies_from_helm(api: httpx.AsyncClient) -> None:
    body = (PROTOBUF / "helm-release-secret.pb").read_bytes()
    created = await api.post("/api/v1/namespaces/default/secrets", content=body,
                             headers={"content-type": "application/vnd.kubernetes.protobuf"})
    assert created.status_code == 201
    assert created.json()["metadata"]["name"] == "sh.helm.release.v1.demo.v1"


async def test_access_review_without_authentication_allows(api: httpx.AsyncClient) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}}
    answered = await api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review)
    assert answered.status_code == 201 and answered.json()["status"]["allowed"] is True
