"""Custom resource validation, defaulting, pruning and Tables (apiextensions-apiserver
pkg/apiserver/validation/validation_test.go, schema/defaulting and pruning tests,
tableconvertor; apimachinery util/duration duration_test.go)."""

from datetime import UTC, datetime

import pytest

from shiplane.cluster.crd import (
    JSONPathError,
    apply_defaults,
    evaluate_jsonpath,
    human_duration,
    parse_crd,
    prune,
    table,
    validate_custom_resource,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "string", "enum": ["small", "large"]},
                "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                "env": {"type": "object", "additionalProperties": {"type": "string"}},
                "note": {"type": "string", "nullable": True},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "strategy": {"type": "object", "default": {"type": "Rolling"},
                             "properties": {"type": {"type": "string"}, "maxSurge": {"type": "integer", "default": 1}}},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "weight": {"type": "integer", "default": 5}}},
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def obj(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": "small", **spec}}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"size": "medium"}, 'spec.size: Unsupported value: "medium": supported values: "small", "large"'),
        ({"name": "Abc"}, "spec.name: Invalid value: \"Abc\": spec.name in body should match '^[a-z]+$'"),
        ({"name": "a"}, 'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long'),
        ({"name": "abcdef"}, "spec.name: Too long: may not be more than 5 bytes"),
        ({"replicas": -1}, "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"),
        ({"replicas": 11}, "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        ({"replicas": "3"}, 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'),
        ({"ratio": 0}, "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
        ({"port": True}, 'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"'),
        ({"tags": []}, "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"),
        ({"tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 items"),
        ({"tags": [1]}, 'spec.tags[0]: Invalid value: "integer": spec.tags[0] in body must be of type string: "integer"'),
        ({"env": {"A": 1}}, 'spec.env.A: Invalid value: "integer": spec.env.A in body must be of type string: "integer"'),
        ({"items": [{"name": "a"}, {"name": "a"}]}, 'spec.items[1]: Duplicate value: {"name":"a"}'),
        ({"strategy": None}, 'spec.strategy: Invalid value: "null": spec.strategy in body must be of type object: "null"'),
    ],
)
def test_value_violations(spec, message):
    errors = [str(e) for e in validate_custom_resource(obj(**spec), SCHEMA)]
    assert errors == [message]


def test_required_fields():
    bad = obj()
    del bad["spec"]["size"]
    assert [str(e) for e in validate_custom_resource(bad, SCHEMA)] == ["spec.size: Required value"]
    root = {"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}
    assert [str(e) for e in validate_custom_resource({"metadata": {}}, root)] == ["spec: Required value"]


def test_valid_values_pass():
    good = obj(name="ab", replicas=0, ratio=0.5, port="http", tags=["x"], env={"A": "b"}, note=None,
               template={"apiVersion": "v1", "kind": "Pod", "anything": 1}, raw={"x": [1, {"y": 2}]})
    assert validate_custom_resource(good, SCHEMA) == []
    assert validate_custom_resource(obj(port=8080, replicas=3.0), SCHEMA) == []


def test_defaults_apply_top_down_into_lists_and_drop_non_nullable_nulls():
    out = apply_defaults(obj(items=[{"name": "a"}, {"name": "b", "weight": 1}], name=None, note=None), SCHEMA)
    spec = out["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Rolling", "maxSurge": 1}  # the default is defaulted further
    assert spec["items"] == [{"name": "a", "weight": 5}, {"name": "b", "weight": 1}]
    assert "name" not in spec and spec["note"] is None
    null_default = apply_defaults(obj(replicas=None), SCHEMA)
    assert null_default["spec"]["replicas"] == 1


def test_pruning_drops_unknown_fields_except_where_preserved():
    raw = obj(unknown=1, raw={"kept": True}, template={"apiVersion": "v1", "kind": "Pod", "metadata": {"x": 1}, "extra": 1},
              items=[{"name": "a", "bogus": 1}])
    raw["status"] = {"ready": True, "phase": "x"}
    raw["toplevel"] = 1
    raw["metadata"]["custom"] = "kept for ObjectMeta handling"
    pruned, dropped = prune(raw, SCHEMA)
    assert dropped == ["spec.unknown", "spec.items[0].bogus", "status.phase", "toplevel"]
    assert pruned["spec"]["raw"] == {"kept": True}
    assert pruned["spec"]["template"]["extra"] == 1
    assert pruned["metadata"]["custom"] == "kept for ObjectMeta handling"
    assert raw["spec"]["unknown"] == 1  # input untouched


@pytest.mark.parametrize(
    "path, expected",
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        (".spec.containers[0].name", ["a"]),
        (".spec.containers[*].name", ["a", "b"]),
        (".spec.containers[-1].name", ["b"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Synced"]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        (".spec.missing", []),
        (".spec.containers[5]", []),
    ],
)
def test_jsonpath_subset(path, expected):
    doc = {
        "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"replicas": 3, "containers": [{"name": "a"}, {"name": "b"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]},
    }
    assert evaluate_jsonpath(doc, path) == expected


def test_jsonpath_refuses_what_it_does_not_know():
    with pytest.raises(JSONPathError):
        evaluate_jsonpath({}, ".a..b")


@pytest.mark.parametrize(
    "seconds, text",
    [(-5, "<invalid>"), (-0.5, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (150, "2m30s"),
     (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 600, "3h10m"), (8 * 3600, "8h"),
     (47 * 3600, "47h"), (48 * 3600, "2d"), (49 * 3600, "2d1h"), (8 * 86400, "8d"), (700 * 86400, "700d"),
     (731 * 86400, "2y1d"), (3000 * 86400, "8y")],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_table_uses_printer_columns_or_age():
    crd = {"metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": SCHEMA},
                                  "additionalPrinterColumns": [
                                      {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                                      {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready", "priority": 1},
                                      {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]},
                                 {"name": "v2", "served": True, "storage": False,
                                  "schema": {"openAPIV3Schema": SCHEMA}}]}}
    info = parse_crd(crd)
    now = datetime(2026, 1, 1, 1, 0, 0, tzinfo=UTC)
    item = {"metadata": {"name": "w1", "creationTimestamp": "2026-01-01T00:55:00Z"}, "spec": {"replicas": 2}}
    out = table([item], info.version("v1"), now)
    assert [c["name"] for c in out["columnDefinitions"]] == ["Name", "Replicas", "Ready", "Age"]
    assert out["columnDefinitions"][2]["priority"] == 1
    assert out["rows"][0]["cells"] == ["w1", 2, None, "5m"]
    assert out["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    default = table([item], info.version("v2"), now, include_object="None")
    assert [c["name"] for c in default["columnDefinitions"]] == ["Name", "Age"]
    assert default["rows"] == [{"cells": ["w1", "5m"]}]
