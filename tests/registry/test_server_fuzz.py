"""Fuzzing the server's parsers through HTTP: never a 5xx, refusals store nothing."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiplane.registry import MemoryStorage, build_app
from shiplane.testing.asgi import asgi_client

SPEC_CODES = {"BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
              "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
              "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12)
documents = st.fixed_dictionaries({}, optional={
    "schemaVersion": st.sampled_from([2, 1, "2"]),
    "mediaType": st.sampled_from(["application/vnd.oci.image.manifest.v1+json",
                                  "application/vnd.oci.image.index.v1+json", "text/plain"]),
    "config": json_values, "layers": json_values, "manifests": json_values, "subject": json_values})
path_text = st.text(alphabet="abcAB09._-/%:@ ", min_size=1, max_size=20)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=path_text, reference=path_text,
       body=documents.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=64),
       content_type=st.sampled_from(["application/vnd.oci.image.manifest.v1+json", "application/json", ""]))
def test_manifest_put_never_fails_open(name, reference, body, content_type):
    storage = MemoryStorage()
    client = asgi_client(build_app(storage))
    response = client.put(f"/v2/{name}/manifests/{reference}", content=body,
                          headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code < 500
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        errors = response.json()["errors"]
        assert errors[0]["code"] in SPEC_CODES
    if response.status_code != 201:
        assert storage.list_blobs() == [] and storage.repositories() == []


@settings(max_examples=80, deadline=None)
@given(content_range=st.text(alphabet="0123456789-bytes= ", max_size=12), body=st.binary(max_size=32))
def test_patch_content_range_never_fails_open(content_range, body):
    storage = MemoryStorage()
    client = asgi_client(build_app(storage))
    location = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    response = client.patch(location, content=body, headers={"Content-Range": content_range})
    assert response.status_code in (202, 400, 416)
    if response.status_code != 202:
        assert response.json()["errors"][0]["code"] in SPEC_CODES
    assert storage.list_blobs() == []
