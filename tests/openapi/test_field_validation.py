"""fieldValidation Strict/Warn/Ignore, after test/integration/apiserver/field_validation_test.go."""

import pytest

from shiplane.cluster.openapi import FieldValidationFailed, OpenAPIError, SchemaCatalog, TypeNode
from shiplane.cluster.openapi.fieldvalidation import (
    check_fields,
    decode_json,
    decode_yaml,
    parse_field_validation,
    unknown_fields,
)


@pytest.fixture(scope="module")
def deployment_type():
    return SchemaCatalog().type_for("apps/v1", "Deployment")


BODY_JSON = """{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "dup", "name": "dup2", "labels": {"custom-label": "x"}},
  "spec": {
    "replicas": 1, "replicas": 2, "paused": false, "unknownField": 1,
    "selector": {"matchLabels": {"a": "b"}},
    "template": {"metadata": {"annotations": {"k": "v"}},
      "spec": {"containers": [{"name": "c", "image": "i", "unknownNested": "x",
                               "ports": [{"containerPort": 80, "protocolo": "TCP"}]}]}}
  }
}"""

BODY_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: dup
  creationTimestamp: 2026-01-01T00:00:00Z
spec:
  replicas: 1
  replicas: 2
  unknownField: 1
  template:
    spec:
      containers:
      - name: c
        image: i
        image: j
"""


def test_json_duplicates_and_unknowns_with_upstream_paths(deployment_type):
    decoded = decode_json(BODY_JSON)
    assert decoded.duplicates == ('duplicate field "metadata.name"', 'duplicate field "spec.replicas"')
    assert decoded.value["spec"]["replicas"] == 2  # last wins
    assert unknown_fields(decoded.value, deployment_type) == [
        'unknown field "spec.unknownField"',
        'unknown field "spec.template.spec.containers[0].unknownNested"',
        'unknown field "spec.template.spec.containers[0].ports[0].protocolo"',
    ]


def test_yaml_duplicates_report_lines(deployment_type):
    decoded = decode_yaml(BODY_YAML)
    assert decoded.duplicates == (
        'line 8: key "replicas" already set in map',
        'line 15: key "image" already set in map',
    )
    assert decoded.value["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert unknown_fields(decoded.value, deployment_type) == ['unknown field "spec.unknownField"']


def test_strict_refuses_with_one_message(deployment_type):
    decoded = decode_json('{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicass":1}}')
    with pytest.raises(FieldValidationFailed) as info:
        check_fields(decoded.value, deployment_type, "Strict", decoded.duplicates)
    assert str(info.value) == 'strict decoding error: unknown field "spec.replicass"'
    assert info.value.problems == ['unknown field "spec.replicass"']


def test_warn_returns_warnings_and_ignore_nothing(deployment_type):
    decoded = decode_json(BODY_JSON)
    warnings = check_fields(decoded.value, deployment_type, "Warn", decoded.duplicates)
    assert len(warnings) == 5 and warnings[0] == 'duplicate field "metadata.name"'
    assert check_fields(decoded.value, deployment_type, "Ignore", decoded.duplicates) == []


def test_clean_objects_pass_strict(deployment_type):
    decoded = decode_json('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a",'
                          '"labels":{"x":"y"}},"spec":{"strategy":{"rollingUpdate":{"maxSurge":"25%"}}}}')
    assert check_fields(decoded.value, deployment_type, "Strict", decoded.duplicates) == []


def test_preserve_unknown_fields_accepts_anything():
    node = TypeNode.of({"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"known": {"type": "string"}}}}}, {})
    assert unknown_fields({"spec": {"known": "a", "other": {"deep": 1}}, "extra": 1}, node) == [
        'unknown field "extra"'
    ]


def test_unknown_kinds_are_not_checked():
    assert unknown_fields({"anything": 1}, None) == []


@pytest.mark.parametrize("value, mode", [(None, "Warn"), ("", "Warn"), ("Strict", "Strict"),
                                         ("Ignore", "Ignore"), ("Warn", "Warn")])
def test_parse_mode(value, mode):
    assert parse_field_validation(value) == mode


def test_bad_mode_is_refused():
    with pytest.raises(OpenAPIError, match='Unsupported value: "strict"'):
        parse_field_validation("strict")


@pytest.mark.parametrize("bad, decoder", [("{", decode_json), ("a: [", decode_yaml)])
def test_malformed_bodies(bad, decoder):
    with pytest.raises(OpenAPIError):
        decoder(bad)


def test_warning_header_format():
    from shiplane.cluster.openapi import warning_header

    assert warning_header('unknown field "spec.foo"') == '299 - "unknown field \\"spec.foo\\""'
    assert warning_header("a\\b") == '299 - "a\\\\b"'


def test_unknown_fields_are_dropped_and_patch_directives_kept(deployment_type):
    from shiplane.cluster.openapi import drop_unknown_fields

    body = {"spec": {"replicass": 1, "replicas": 2, "$retainKeys": ["replicas"],
                     "template": {"spec": {"$setElementOrder/containers": [{"name": "c"}],
                                           "containers": [{"name": "c", "imagee": "x", "$patch": "replace"}]}}}}
    assert unknown_fields(body, deployment_type, directives=True) == [
        'unknown field "spec.replicass"', 'unknown field "spec.template.spec.containers[0].imagee"']
    cleaned = drop_unknown_fields(body, deployment_type, directives=True)
    assert cleaned == {"spec": {"replicas": 2, "$retainKeys": ["replicas"],
                                "template": {"spec": {"$setElementOrder/containers": [{"name": "c"}],
                                                      "containers": [{"name": "c", "$patch": "replace"}]}}}}
    assert "replicass" in body["spec"]  # input untouched
    assert drop_unknown_fields({"x": 1}, None) == {"x": 1}
