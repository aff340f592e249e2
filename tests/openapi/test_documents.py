"""/openapi/v2 and /openapi/v3 documents: shapes kubectl reads (query_param_verifier_v3.go,
pkg/explain/v2) and kube-openapi's handler3 root."""

import pytest

from shiplane.cluster.openapi import GroupVersionKind, SchemaCatalog
from shiplane.cluster.openapi.documents import (
    ResourceEntry,
    document_hash,
    group_version_key,
    v2_document,
    v3_group_version_document,
    v3_root,
)

RESOURCES = [
    ResourceEntry("apps", "v1", "Deployment", "deployments", True, ("status", "scale")),
    ResourceEntry("", "v1", "Namespace", "namespaces", False, ("status",)),
    ResourceEntry("", "v1", "ConfigMap", "configmaps", True),
]


@pytest.fixture(scope="module")
def catalog():
    return SchemaCatalog()


def supports_field_validation(doc, gvk, params_key="parameters"):
    """kubectl's supportsQueryParamV3, restated: the PATCH operation for the GVK has a
    `fieldValidation` query parameter."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if not op or op.get("x-kubernetes-group-version-kind") != gvk:
            continue
        return any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op[params_key])
    return False


def test_root_points_at_group_version_documents_with_hashes(catalog):
    docs = {
        group_version_key("apps", "v1"): v3_group_version_document(catalog, RESOURCES, "apps", "v1"),
        group_version_key("", "v1"): v3_group_version_document(catalog, RESOURCES, "", "v1"),
    }
    root = v3_root(docs)
    assert set(root["paths"]) == {"apis/apps/v1", "api/v1"}
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == "/openapi/v3/apis/apps/v1?hash=" + document_hash(docs["apis/apps/v1"])
    assert len(url.rsplit("=", 1)[1]) == 128


def test_group_version_document_enables_server_side_validation(catalog):
    doc = v3_group_version_document(catalog, RESOURCES, "apps", "v1")
    assert doc["openapi"] == "3.0.0"
    assert supports_field_validation(doc, {"group": "apps", "version": "v1", "kind": "Deployment"})
    core = v3_group_version_document(catalog, RESOURCES, "", "v1")
    # kubectl checks CRDs against the Namespace PATCH operation
    assert supports_field_validation(core, {"group": "", "version": "v1", "kind": "Namespace"})
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert set(item) >= {"get", "put", "patch", "delete", "parameters"}
    assert set(item["patch"]["requestBody"]["content"]) == {
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json",
    }
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale" in doc["paths"]
    assert "/apis/apps/v1/deployments" in doc["paths"]


def test_components_are_closed_under_refs(catalog):
    doc = v3_group_version_document(catalog, RESOURCES, "apps", "v1")
    schemas = doc["components"]["schemas"]
    assert "io.k8s.api.apps.v1.Deployment" in schemas
    assert "io.k8s.api.core.v1.Container" in schemas
    assert "io.k8s.api.core.v1.ConfigMap" not in schemas

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]


def test_v2_document_is_swagger_2(catalog):
    doc = v2_document(catalog, RESOURCES)
    assert doc["swagger"] == "2.0"
    assert "components" not in doc
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    names = {p["name"]: p for p in patch["parameters"]}
    assert names["fieldValidation"]["in"] == "query" and names["fieldValidation"]["type"] == "string"
    assert names["body"]["schema"] == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}
    template = doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"]
    assert template["$ref"] == "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
    assert "allOf" not in template
    assert '"#/components/' not in str(doc)


def test_custom_resources_get_documents(catalog):
    gvk = GroupVersionKind("example.com", "v1", "Gizmo")
    catalog.add_custom(gvk, {"type": "object", "properties": {"spec": {"type": "object"}}})
    try:
        resources = [ResourceEntry("example.com", "v1", "Gizmo", "gizmos", True, ("status",))]
        doc = v3_group_version_document(catalog, resources, "example.com", "v1")
        assert "com.example.v1.Gizmo" in doc["components"]["schemas"]
        assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
        assert supports_field_validation(doc, {"group": "example.com", "version": "v1", "kind": "Gizmo"})
    finally:
        catalog.remove_custom(gvk)


def test_hash_changes_with_content(catalog):
    a = v3_group_version_document(catalog, RESOURCES, "apps", "v1")
    b = v3_group_version_document(catalog, RESOURCES[:1], "apps", "v1")
    assert document_hash(a) == document_hash(b)
    c = v3_group_version_document(catalog, RESOURCES[:1] + [
        ResourceEntry("apps", "v1", "StatefulSet", "statefulsets", True)], "apps", "v1")
    assert document_hash(a) != document_hash(c)


def test_service_caches_and_refreshes_on_change(catalog):
    import json

    from shiplane.cluster.openapi import OpenAPIService, v2_acceptable

    served = list(RESOURCES)
    service = OpenAPIService(catalog, lambda: served)
    root = json.loads(service.v3_root())
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = service.v3_document("apis/apps/v1")
    assert url.endswith("?hash=" + doc.etag)
    assert json.loads(doc.body)["openapi"] == "3.0.0"
    assert service.v3_document("apis/nope/v1") is None
    assert service.v3_document("apis/apps/v1") is doc  # cached
    served.append(ResourceEntry("batch", "v1", "Job", "jobs", True, ("status",)))
    assert "apis/batch/v1" in json.loads(service.v3_root())["paths"]
    assert json.loads(service.v2().body)["swagger"] == "2.0"
    gvk = GroupVersionKind("apps", "v1", "Deployment")
    before = service.v3_document("apis/apps/v1").etag
    catalog.add_custom(GroupVersionKind("example.com", "v1", "X"), {"type": "object"})
    catalog.remove_custom(GroupVersionKind("example.com", "v1", "X"))
    assert service.v3_document("apis/apps/v1").etag == before  # same content, same hash
    assert gvk in catalog.known_gvks()
    assert v2_acceptable("application/json") and v2_acceptable("")
    assert not v2_acceptable("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")


def test_v2_keeps_schema_properties_named_paths(catalog):
    resources = [ResourceEntry("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("status",))]
    doc = v2_document(catalog, resources)
    rule = doc["definitions"]["io.k8s.api.networking.v1.HTTPIngressRuleValue"]
    assert rule["properties"]["paths"]["items"] == {"$ref": "#/definitions/io.k8s.api.networking.v1.HTTPIngressPath"}
    assert "/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}" in doc["paths"]
