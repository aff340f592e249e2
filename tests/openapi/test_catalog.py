"""The pinned upstream schemas as a catalog of types (list/map semantics for SSA)."""

import pytest

from shiplane.cluster.openapi import (
    KUBERNETES_VERSION,
    GroupVersionKind,
    OpenAPIError,
    SchemaCatalog,
    custom_definition_name,
)
from shiplane.cluster.openapi.definitions import builtin_definitions, definitions_path


@pytest.fixture(scope="module")
def catalog():
    return SchemaCatalog()


def test_the_data_is_the_pinned_release():
    assert KUBERNETES_VERSION in str(definitions_path())
    with pytest.raises(OpenAPIError, match="no Kubernetes v0.1.0 schema data"):
        definitions_path("v0.1.0")


def test_json_schema_artifacts_are_undone():
    defs = builtin_definitions()
    spec = defs["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["type"] == "object"
    assert spec["properties"]["replicas"]["type"] == "integer"
    assert spec["properties"]["template"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}
    ]
    assert "enum" not in defs["io.k8s.api.apps.v1.Deployment"]["properties"]["apiVersion"]
    assert defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    port = defs["io.k8s.api.core.v1.ContainerPort"]["properties"]["protocol"]
    assert port["default"] == "TCP"


@pytest.mark.parametrize(
    "api_version, kind, walk, expected",
    [
        # (k8s.io/api +listType/+listMapKey/+patchStrategy markers, carried in the data)
        ("apps/v1", "Deployment", ["spec", "template", "spec", "containers"], ("list", "map", ("name",))),
        ("v1", "Pod", ["spec", "containers", "*", "ports"], ("list", "map", ("containerPort", "protocol"))),
        ("v1", "Pod", ["spec", "containers", "*", "args"], ("list", "atomic", ())),
        ("v1", "Pod", ["metadata", "finalizers"], ("list", "set", ())),
        ("v1", "Pod", ["metadata", "ownerReferences"], ("list", "map", ("uid",))),
        ("v1", "Service", ["spec", "ports"], ("list", "map", ("port", "protocol"))),
        ("v1", "Pod", ["spec", "tolerations"], ("list", "atomic", ())),
        ("v1", "Pod", ["spec", "volumes"], ("list", "map", ("name",))),
    ],
)
def test_list_semantics(catalog, api_version, kind, walk, expected):
    node = catalog.type_for(api_version, kind)
    for step in walk:
        node = node.element() if step == "*" else node.field(step)
    assert (node.kind, node.list_type, node.list_keys) == expected


def test_map_semantics(catalog):
    deploy = catalog.type_for("apps/v1", "Deployment")
    assert deploy.field("metadata").field("labels").kind == "map"
    assert not deploy.field("metadata").field("labels").map_atomic
    assert deploy.field("spec").field("selector").map_atomic  # LabelSelector: atomic
    assert deploy.field("spec").field("nope") is None
    raw = catalog.type_for("apps/v1", "ControllerRevision").field("data")
    assert raw.kind == "untyped" and raw.field("anything").kind == "untyped"


def test_patch_merge_key_without_list_type_is_associative():
    from shiplane.cluster.openapi import TypeNode

    node = TypeNode.of(
        {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}},
         "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "n"},
        {},
    )
    assert (node.list_type, node.list_keys) == ("map", ("n",))
    assert TypeNode.of({"type": "array", "x-kubernetes-patch-strategy": "merge"}, {}).list_type == "set"
    assert TypeNode.of({"type": "array"}, {}).list_type == "atomic"


def test_custom_schemas_are_added_and_removed(catalog):
    gvk = GroupVersionKind("argoproj.io", "v1alpha1", "Widget")
    name = catalog.add_custom(gvk, {"type": "object", "properties": {"spec": {"type": "object",
                              "properties": {"size": {"type": "integer"}}}}})
    try:
        assert name == "io.argoproj.v1alpha1.Widget" == custom_definition_name(gvk)
        node = catalog.type_for("argoproj.io/v1alpha1", "Widget")
        assert node.field("spec").field("size").kind == "scalar"
        assert node.field("metadata").field("labels").kind == "map"  # ObjectMeta filled in
        assert catalog.type_for("argoproj.io/v1alpha1", "WidgetList").field("items").kind == "list"
    finally:
        catalog.remove_custom(gvk)
    assert catalog.type_for("argoproj.io/v1alpha1", "Widget") is None


def test_every_kind_resolves(catalog):
    gvks = catalog.known_gvks()
    assert len(gvks) > 150
    assert GroupVersionKind("apps", "v1", "Deployment") in gvks
    assert catalog.definition_name(GroupVersionKind("", "v1", "Pod")) == "io.k8s.api.core.v1.Pod"
