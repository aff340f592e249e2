"""CRD object validation (apiextensions validation_test.go TestValidateCustomResourceDefinition
cases), structural-schema rules, establishment and discovery."""

import copy

import pytest

from shiplane.cluster.crd import (
    CRDInvalid,
    aggregated_resources,
    api_resources,
    default_crd,
    establish_status,
    names_conflicts,
    parse_crd,
    storage_version_hash,
    structural_errors,
    validate_crd,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}, "size": {"type": "string"}}},
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}


def crd(**overrides):
    base = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": copy.deepcopy(SCHEMA)}}],
        },
    }
    for path, value in overrides.items():
        target = base
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return base


_DELETE = object()


def errors_of(obj):
    return [str(e) for e in validate_crd(default_crd(obj))]


def test_valid_crd_defaults_names():
    info = parse_crd(crd())
    assert (info.singular, info.list_kind) == ("widget", "WidgetList")
    assert info.namespaced and info.storage_version.name == "v1"
    assert default_crd(crd())["spec"]["conversion"] == {"strategy": "None"}


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"metadata__name": "wrong.example.com"},
         'metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group'),
        ({"spec__group": "example", "metadata__name": "widgets.example"},
         'spec.group: Invalid value: "example": should be a domain with at least one dot'),
        ({"spec__group": "", "metadata__name": "widgets."}, "spec.group: Required value"),
        ({"spec__names__plural": "Widgets", "metadata__name": "Widgets.example.com"},
         'spec.names.plural: Invalid value: "Widgets": a lowercase RFC 1123 label must consist of'),
        ({"spec__names__kind": ""}, "spec.names.kind: Required value"),
        ({"spec__names__kind": "Wid get"}, 'spec.names.kind: Invalid value: "Wid get": may have mixed case'),
        ({"spec__names__listKind": "Widget"},
         'spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same'),
        ({"spec__names__shortNames": ["W"]}, 'spec.names.shortNames[0]: Invalid value: "W"'),
        ({"spec__scope": "Global"},
         'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
        ({"spec__versions": []},
         "spec.versions: Required value: must have exactly one version marked as storage version"),
        ({"spec__versions__0__storage": False},
         'spec.versions: Invalid value: ["v1"]: must have exactly one version marked as storage version'),
        ({"spec__versions__0__name": "V1"}, 'spec.versions[0].name: Invalid value: "V1": a DNS-1035 label'),
        ({"spec__versions__0__schema": {}},
         "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"),
        ({"spec__conversion": {"strategy": "Webhook"}},
         'spec.conversion.strategy: Unsupported value: "Webhook": supported values: "None"'),
        ({"spec__versions__0__subresources": {"scale": {"specReplicasPath": ".replicas",
                                                        "statusReplicasPath": ".status.replicas"}}},
         'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".replicas": should be a json path under .spec'),
        ({"spec__versions__0__additionalPrinterColumns": [{"name": "Size", "type": "text", "jsonPath": ".spec.size"}]},
         'spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "text": supported values: '
         '"boolean", "date", "integer", "number", "string"'),
        ({"spec__versions__0__additionalPrinterColumns": [{"name": "Size", "type": "string"}]},
         "spec.versions[0].additionalPrinterColumns[0].jsonPath: Required value"),
    ],
)
def test_invalid_crds(overrides, expected):
    found = errors_of(crd(**overrides))
    assert any(e.startswith(expected) for e in found), found


def test_duplicate_version_names():
    obj = crd()
    obj["spec"]["versions"].append({**obj["spec"]["versions"][0], "storage": False})
    assert 'spec.versions[1].name: Invalid value: "v1": must be unique' in errors_of(obj)


def test_parse_raises_with_every_problem():
    with pytest.raises(CRDInvalid) as info:
        parse_crd(crd(spec__scope="Global", spec__names__kind=""))
    message = info.value.message
    assert message.startswith('CustomResourceDefinition.apiextensions.k8s.io "widgets.example.com" is invalid: [')
    assert "spec.names.kind: Required value" in message and 'spec.scope: Unsupported value: "Global"' in message
    assert info.value.status()["details"]["group"] == "apiextensions.k8s.io"


P = "s"


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"properties": {}}, "s.type: Required value: must not be empty at the root"),
        ({"type": "array", "items": {"type": "string"}}, 's.type: Invalid value: "array": must be object at the root'),
        ({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}},
         "s.properties[spec].type: Required value: must not be empty for specified object fields"),
        ({"type": "object", "properties": {"a": {"description": "x"}}},
         "s.properties[a].type: Required value: must not be empty for specified fields"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "s.properties[a].items: Required value: must be specified"),
        ({"type": "object", "properties": {"a": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}}},
         "s.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"),
        ({"type": "object", "properties": {"a": {"$ref": "#/x"}}}, "s.properties[a].$ref: Forbidden: $ref is not supported"),
        ({"type": "object", "properties": {"a": {"type": "object", "x-kubernetes-preserve-unknown-fields": False}}},
         "s.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"),
        ({"type": "object", "properties": {"a": {"type": "string", "x-kubernetes-int-or-string": True}}},
         "s.properties[a].type: Forbidden: must be empty if x-kubernetes-int-or-string is true"),
        ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map"}}},
         "s.properties[a].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"),
        ({"type": "object", "properties": {"a": {"type": "date"}}},
         's.properties[a].type: Unsupported value: "date": supported values: "array", "boolean"'),
        ({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}},
         "s.properties[metadata]: Forbidden: must not specify anything other than name and generateName"),
        ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}},
         "s.properties[a].uniqueItems: Forbidden"),
    ],
)
def test_structural_rules(schema, expected):
    found = [str(e) for e in structural_errors(schema, P)]
    assert any(e.startswith(expected) for e in found), found


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"n": {"x-kubernetes-int-or-string": True,
                                                "anyOf": [{"type": "integer"}, {"type": "string"}]}}},
        {"type": "object", "properties": {"any": {"x-kubernetes-preserve-unknown-fields": True}}},
        {"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}},
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    ],
)
def test_structural_schemas_accepted(schema):
    assert structural_errors(schema, P) == []


def test_establish_and_conflicts():
    obj = default_crd(crd())
    status = establish_status(obj, "2026-01-01T00:00:00Z")
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("NamesAccepted", "True", "NoConflicts"), ("Established", "True", "InitialNamesAccepted")]
    assert status["acceptedNames"]["listKind"] == "WidgetList" and status["storedVersions"] == ["v1"]
    info = parse_crd(obj)
    clash = names_conflicts(info, {"plurals": {("example.com", "widgets")}})
    assert clash.detail == '"widgets" is already in use'
    refused = establish_status(obj, "2026-01-01T00:00:00Z", clash)
    assert refused["conditions"][0]["reason"] == "PluralConflict"
    assert refused["conditions"][1]["status"] == "False"
    assert names_conflicts(info, {"plurals": set(), "kinds": set()}) is None


def test_discovery_entries():
    obj = crd(spec__versions__0__subresources={"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                                        "statusReplicasPath": ".status.replicas"}},
              spec__names__categories=["all"])
    info = parse_crd(obj)
    entries = api_resources(info, "v1")
    assert [e["name"] for e in entries] == ["widgets", "widgets/status", "widgets/scale"]
    assert entries[0]["storageVersionHash"] == storage_version_hash("example.com", "v1", "Widget")
    assert entries[2]["kind"] == "Scale" and entries[2]["group"] == "autoscaling"
    assert api_resources(info, "v2") == []
    (aggregated,) = aggregated_resources(info, "v1")
    assert aggregated["scope"] == "Namespaced" and aggregated["categories"] == ["all"]
    assert [s["subresource"] for s in aggregated["subresources"]] == ["status", "scale"]
    assert len(storage_version_hash("example.com", "v1", "Widget")) == 12
