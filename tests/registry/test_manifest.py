"""Manifest parsing: the four accepted kinds, refusals with reasons, fuzzing."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiplane.registry import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    ManifestParseError,
    parse_manifest,
)

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


def _image(media_type=OCI_MANIFEST, **extra):
    return json.dumps({"schemaVersion": 2, "mediaType": media_type,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 7},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 9}],
                       **extra}).encode()


def test_oci_image_manifest_lists_its_blobs():
    manifest = parse_manifest(_image(), OCI_MANIFEST)
    assert [d.digest for d in manifest.blobs] == [D1, D2]
    assert not manifest.is_index
    assert manifest.effective_artifact_type == "application/vnd.oci.image.config.v1+json"


def test_docker_schema2_manifest():
    assert parse_manifest(_image(DOCKER_MANIFEST), DOCKER_MANIFEST).media_type == DOCKER_MANIFEST


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_MANIFEST_LIST])
def test_indexes_list_children(media_type):
    data = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": D3, "size": 100, "platform": {"os": "linux", "architecture": "arm64"}}]}).encode()
    manifest = parse_manifest(data, media_type)
    assert manifest.is_index and [c.digest for c in manifest.manifests] == [D3]
    assert manifest.blobs == ()


def test_subject_and_artifact_type():
    data = _image(artifactType="application/vnd.example.sbom",
                  subject={"mediaType": OCI_MANIFEST, "digest": D3, "size": 5})
    manifest = parse_manifest(data)
    assert manifest.subject.digest == D3
    assert manifest.effective_artifact_type == "application/vnd.example.sbom"


def test_media_type_from_content_type_when_field_absent():
    doc = json.loads(_image())
    del doc["mediaType"]
    assert parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST).media_type == OCI_MANIFEST


@pytest.mark.parametrize("data, content_type, message", [
    (b"{not json", None, "not valid JSON"),
    (b"[]", None, "JSON object"),
    (json.dumps({"schemaVersion": 1}).encode(), None, "schemaVersion"),
    (_image(), OCI_INDEX, "does not match"),
    (_image("application/x-unknown"), None, "unsupported"),
    (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode(), None, "config"),
    (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": "x", "digest": "sha256:zz", "size": 1}, "layers": []}).encode(), None, "digest"),
    (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": "x", "digest": D1, "size": -1}, "layers": []}).encode(), None, "size"),
    (json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}}).encode(), None, "manifests array"),
    (b"\xff\xfe", None, "not valid JSON"),
])
def test_refusals_name_the_problem(data, content_type, message):
    with pytest.raises(ManifestParseError, match=message):
        parse_manifest(data, content_type)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_parser_only_raises_manifest_parse_error(data):
    try:
        parse_manifest(data)
    except ManifestParseError:
        pass


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.sampled_from(["schemaVersion", "mediaType", "config", "layers", "manifests",
                                        "subject", "artifactType", "annotations"]),
                       json_values, max_size=8))
def test_fuzz_manifest_shaped_documents(doc):
    try:
        manifest = parse_manifest(json.dumps(doc).encode())
    except ManifestParseError:
        return
    for descriptor in manifest.blobs + manifest.manifests:
        assert descriptor.digest.startswith(("sha256:", "sha512:")) and descriptor.size >= 0
