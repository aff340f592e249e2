"""FieldsV1 encoding (structured-merge-diff fieldpath/serialize_test.go cases) and round trips."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiplane.cluster.fieldmanager import (
    InvalidFieldsV1,
    decode_fields_v1,
    encode_fields_v1,
    path_string,
)
from shiplane.cluster.fieldmanager.fieldpath import canonical_json

UPSTREAM_STYLE = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}},
                },
            }
        },
    },
    "f:metadata.x": {},
}


def test_decode_upstream_shaped_document():
    fields = decode_fields_v1(UPSTREAM_STYLE)
    assert (("f", "metadata"), ("f", "labels")) in fields
    assert (("f", "metadata"), ("f", "labels"), ("f", "app")) in fields
    assert (("f", "metadata"),) not in fields  # no "." → not itself a member
    item = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"), ("k", '{"name":"nginx"}'))
    assert item in fields and item + (("f", "image"),) in fields
    assert encode_fields_v1(fields) == UPSTREAM_STYLE


@pytest.mark.parametrize(
    "path, text",
    [
        ((("f", "spec"), ("f", "replicas")), ".spec.replicas"),
        ((("f", "spec"), ("f", "containers"), ("k", '{"name":"c"}'), ("f", "image")), '.spec.containers[name="c"].image'),
        ((("f", "ports"), ("k", '{"port":80,"protocol":"TCP"}')), '.ports[port=80,protocol="TCP"]'),
        ((("f", "metadata"), ("f", "finalizers"), ("v", '"a/b"')), '.metadata.finalizers[="a/b"]'),
        ((("f", "args"), ("i", 2)), ".args[2]"),
    ],
)
def test_path_strings_follow_upstream_element_string(path, text):
    assert path_string(path) == text


def test_key_payloads_are_canonical_whatever_the_input_order():
    a = decode_fields_v1({'k:{"protocol":"TCP","port":80}': {}})
    b = decode_fields_v1({'k:{"port":80,"protocol":"TCP"}': {}})
    assert a == b


def test_values_and_indexes_decode():
    fields = decode_fields_v1({"f:finalizers": {'v:"x"': {}}, "f:args": {"i:0": {}}})
    assert (("f", "finalizers"), ("v", '"x"')) in fields
    assert (("f", "args"), ("i", 0)) in fields


@pytest.mark.parametrize(
    "doc, problem",
    [
        ({"x:foo": {}}, "invalid FieldsV1 key"),
        ({"foo": {}}, "invalid FieldsV1 key"),
        ({".": {}}, "at the root"),
        ({"f:a": {".": {"f:b": {}}}}, '"." must map to {}'),
        ({"f:a": []}, "must map to an object"),
        ({"k:[1]": {}}, "k: takes a JSON object"),
        ({"v:{bad": {}}, "invalid FieldsV1 JSON"),
        ({"i:x": {}}, "invalid FieldsV1 index"),
        ([], "must be a JSON object"),
    ],
)
def test_malformed_fields_v1_is_refused(doc, problem):
    with pytest.raises(InvalidFieldsV1, match=problem.replace(".", r"\.").replace("(", r"\(")):
        decode_fields_v1(doc)


names = st.text(alphabet="abcxyz.-/_:", min_size=1, max_size=6)
scalars = st.one_of(st.integers(-5, 500), st.text(alphabet="abz-", max_size=4), st.booleans())
elements = st.one_of(
    st.tuples(st.just("f"), names),
    st.builds(lambda d: ("k", canonical_json(d)), st.dictionaries(names, scalars, min_size=1, max_size=2)),
    st.builds(lambda v: ("v", canonical_json(v)), scalars),
    st.tuples(st.just("i"), st.integers(0, 20)),
)
paths = st.lists(elements, min_size=1, max_size=4).map(tuple)


@settings(max_examples=300, deadline=None)
@given(st.frozensets(paths, max_size=12))
def test_fields_v1_round_trip(fields):
    encoded = encode_fields_v1(fields)
    assert decode_fields_v1(json.loads(json.dumps(encoded))) == fields
    assert encode_fields_v1(decode_fields_v1(encoded)) == encoded
