"""Every Distribution endpoint (end-1 … end-13) in-process, with the spec's errors."""

import hashlib
import json

import pytest
from shiplane.testing.asgi import asgi_client

from shiplane.registry import DiskStorage, MemoryStorage, ServerSettings, build_app

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def _d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["memory", "disk"])
def storage(request, tmp_path):
    return MemoryStorage() if request.param == "memory" else DiskStorage(tmp_path / "store")


@pytest.fixture
def client(storage):
    return asgi_client(build_app(storage))


def push_blob(client, repo, data):
    r = client.post(f"/v2/{repo}/blobs/uploads/?digest={_d(data)}", content=data)
    assert r.status_code == 201, r.text
    return {"digest": _d(data), "size": len(data)}


def image_manifest(client, repo, *, media_type=OCI_MANIFEST, layers=(b"layer-1", b"layer-2"), **extra):
    config = push_blob(client, repo, b'{"os":"linux"}')
    descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **push_blob(client, repo, l)} for l in layers]
    return json.dumps({"schemaVersion": 2, "mediaType": media_type,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                       "layers": descs, **extra}, indent=1).encode()


def put_manifest(client, repo, ref, data, media_type=OCI_MANIFEST):
    return client.put(f"/v2/{repo}/manifests/{ref}", content=data, headers={"Content-Type": media_type})


def error_code(response):
    body = response.json()
    assert set(body) == {"errors"} and set(body["errors"][0]) == {"code", "message", "detail"}
    return body["errors"][0]["code"]


def test_end1_base(client):
    r = client.get("/v2/")
    assert r.status_code == 200 and r.headers["docker-distribution-api-version"] == "registry/2.0"


def test_end4b_monolithic_and_end2_get_head_range(client):
    data = bytes(range(256)) * 40
    push_blob(client, "a/b", data)
    head = client.head(f"/v2/a/b/blobs/{_d(data)}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert head.headers["docker-content-digest"] == _d(data) and head.content == b""
    assert client.get(f"/v2/a/b/blobs/{_d(data)}").content == data
    part = client.get(f"/v2/a/b/blobs/{_d(data)}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert client.get(f"/v2/a/b/blobs/{_d(data)}", headers={"Range": "bytes=99999-"}).status_code == 416
    # blobs are per repository: another repo does not serve it
    assert error_code(client.get(f"/v2/other/blobs/{_d(data)}")) == "BLOB_UNKNOWN"


def test_end4a_end6_post_then_put(client):
    r = client.post("/v2/a/b/blobs/uploads/")
    assert r.status_code == 202 and r.headers["location"].startswith("/v2/a/b/blobs/uploads/")
    r = client.put(r.headers["location"], params={"digest": _d(b"whole")}, content=b"whole")
    assert r.status_code == 201 and r.headers["docker-content-digest"] == _d(b"whole")
    assert r.headers["location"] == f"/v2/a/b/blobs/{_d(b'whole')}"


def test_end5_chunked_upload_with_ranges_and_416(client):
    data = b"0123456789" * 10
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    r = client.patch(loc, content=data[:40], headers={"Content-Range": "0-39"})
    assert r.status_code == 202 and r.headers["range"] == "0-39"
    loc = r.headers["location"]
    bad = client.patch(loc, content=data[50:60], headers={"Content-Range": "50-59"})
    assert bad.status_code == 416 and error_code(bad) == "BLOB_UPLOAD_INVALID"
    status = client.get(loc)  # end-13
    assert status.status_code == 204 and status.headers["range"] == "0-39"
    r = client.patch(loc, content=data[40:], headers={"Content-Range": "40-99"})
    assert r.headers["range"] == "0-99"
    r = client.put(r.headers["location"], params={"digest": _d(data)})
    assert r.status_code == 201
    assert client.get(f"/v2/a/b/blobs/{_d(data)}").content == data


def test_streamed_patch_without_content_range(client):
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    r = client.patch(loc, content=iter([b"abc", b"def"]))
    assert r.status_code == 202 and r.headers["range"] == "0-5"
    r = client.put(r.headers["location"] + f"?digest={_d(b'abcdefgh')}", content=b"gh")
    assert r.status_code == 201


def test_chunk_min_length_is_advertised(storage):
    client = asgi_client(build_app(storage, settings=ServerSettings(chunk_min_length=5 << 20)))
    assert client.post("/v2/a/b/blobs/uploads/").headers["oci-chunk-min-length"] == str(5 << 20)


def test_upload_cancel_and_unknown_sessions(client, storage):
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    client.patch(loc, content=b"partial")
    assert client.delete(loc).status_code == 204
    assert error_code(client.get(loc)) == "BLOB_UPLOAD_UNKNOWN"
    assert error_code(client.patch(loc, content=b"x")) == "BLOB_UPLOAD_UNKNOWN"
    assert storage.list_uploads() == [] and storage.list_blobs() == []
    other = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    assert error_code(client.get(other.replace("/a/b/", "/a/c/"))) == "BLOB_UPLOAD_UNKNOWN"


def test_wrong_digest_and_truncated_upload_store_nothing(client, storage):
    r = client.post(f"/v2/a/b/blobs/uploads/?digest={_d(b'full content')}", content=b"full cont")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    r = client.put(loc + f"?digest={_d(b'other')}", content=b"mine")
    assert error_code(r) == "DIGEST_INVALID"
    assert error_code(client.put(client.post("/v2/a/b/blobs/uploads/").headers["location"] + "?digest=sha256:xyz")) == "DIGEST_INVALID"
    assert storage.list_blobs() == [] and storage.list_uploads() != []  # only the open, valid session
    assert error_code(client.get(f"/v2/a/b/blobs/{_d(b'mine')}")) == "BLOB_UNKNOWN"


def test_end11_cross_repo_mount(client):
    blob = push_blob(client, "src/repo", b"shared layer")
    r = client.post(f"/v2/dst/repo/blobs/uploads/?mount={blob['digest']}&from=src/repo")
    assert r.status_code == 201 and r.headers["docker-content-digest"] == blob["digest"]
    assert client.head(f"/v2/dst/repo/blobs/{blob['digest']}").status_code == 200
    r = client.post(f"/v2/dst/repo/blobs/uploads/?mount={_d(b'absent')}&from=src/repo")
    assert r.status_code == 202 and "location" in r.headers


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_end3_end7_manifest_exact_bytes(client, media_type):
    data = image_manifest(client, "a/b", media_type=media_type)
    r = put_manifest(client, "a/b", "v1", data, media_type)
    assert r.status_code == 201 and r.headers["docker-content-digest"] == _d(data)
    for ref in ("v1", _d(data)):
        got = client.get(f"/v2/a/b/manifests/{ref}")
        assert got.content == data and got.headers["content-type"] == media_type
        assert got.headers["docker-content-digest"] == _d(data)
        head = client.head(f"/v2/a/b/manifests/{ref}")
        assert head.status_code == 200 and head.headers["content-length"] == str(len(data))


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_indexes(client, media_type):
    child = image_manifest(client, "a/b", media_type=OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_MANIFEST)
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_MANIFEST
    assert put_manifest(client, "a/b", _d(child), child, child_type).status_code == 201
    index = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        {"mediaType": child_type, "digest": _d(child), "size": len(child),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    assert put_manifest(client, "a/b", "multi", index, media_type).status_code == 201
    assert client.get("/v2/a/b/manifests/multi").headers["content-type"] == media_type
    missing = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        {"mediaType": child_type, "digest": _d(b"nope"), "size": 4}]}).encode()
    assert error_code(put_manifest(client, "a/b", "bad", missing, media_type)) == "MANIFEST_BLOB_UNKNOWN"


def test_manifest_refusals_store_nothing(client, storage):
    data = image_manifest(client, "a/b")
    before = set(storage.list_blobs())
    r = put_manifest(client, "a/b", "v1", b'{"schemaVersion": 2, "mediaType": "', OCI_MANIFEST)
    assert error_code(r) == "MANIFEST_INVALID"
    r = put_manifest(client, "a/b", _d(b"other"), data)
    assert error_code(r) == "DIGEST_INVALID"
    r = put_manifest(client, "a/b", "v1", data, OCI_INDEX)
    assert error_code(r) == "MANIFEST_INVALID"
    r = put_manifest(client, "a/b", "-bad-tag", data)
    assert error_code(r) == "MANIFEST_INVALID"
    missing = json.loads(data)
    missing["layers"][0]["digest"] = _d(b"never uploaded")
    r = put_manifest(client, "a/b", "v1", json.dumps(missing).encode())
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    r = put_manifest(client, "a/b", "v1", b"{" + b" " * (4 * 1024 * 1024) + b"}")
    assert r.status_code == 413 and error_code(r) == "SIZE_INVALID"
    assert set(storage.list_blobs()) == before and storage.tags("a/b") == {}


def test_large_manifest_below_limit_is_accepted(client):
    data = image_manifest(client, "a/b", annotations={"pad": "x" * (3 * 1024 * 1024)})
    assert put_manifest(client, "a/b", "big", data).status_code == 201


def test_end9_delete_manifest_by_tag_and_digest(client):
    data = image_manifest(client, "a/b")
    put_manifest(client, "a/b", "v1", data)
    put_manifest(client, "a/b", "v2", data)
    assert client.delete("/v2/a/b/manifests/v1").status_code == 202
    assert error_code(client.get("/v2/a/b/manifests/v1")) == "MANIFEST_UNKNOWN"
    assert client.get("/v2/a/b/manifests/v2").status_code == 200
    assert client.delete(f"/v2/a/b/manifests/{_d(data)}").status_code == 202
    assert error_code(client.get("/v2/a/b/manifests/v2")) == "MANIFEST_UNKNOWN"
    assert error_code(client.delete(f"/v2/a/b/manifests/{_d(data)}")) == "MANIFEST_UNKNOWN"


def test_end10_delete_blob(client):
    blob = push_blob(client, "a/b", b"gone soon")
    assert client.delete(f"/v2/a/b/blobs/{blob['digest']}").status_code == 202
    assert error_code(client.get(f"/v2/a/b/blobs/{blob['digest']}")) == "BLOB_UNKNOWN"


def test_delete_disabled(storage):
    client = asgi_client(build_app(storage, settings=ServerSettings(delete_enabled=False)))
    blob = push_blob(client, "a/b", b"kept")
    r = client.delete(f"/v2/a/b/blobs/{blob['digest']}")
    assert r.status_code == 405 and error_code(r) == "UNSUPPORTED"


def test_end8_tags_sorted_and_paginated(client):
    data = image_manifest(client, "a/b")
    for tag in ["b", "a", "c", "1.0", "Z"]:
        put_manifest(client, "a/b", tag, data)
    assert client.get("/v2/a/b/tags/list").json() == {"name": "a/b", "tags": ["1.0", "Z", "a", "b", "c"]}
    page = client.get("/v2/a/b/tags/list?n=2")
    assert page.json()["tags"] == ["1.0", "Z"]
    assert page.headers["link"] == '</v2/a/b/tags/list?n=2&last=Z>; rel="next"'
    assert client.get("/v2/a/b/tags/list?n=2&last=Z").json()["tags"] == ["a", "b"]
    last = client.get("/v2/a/b/tags/list?n=2&last=b")
    assert last.json()["tags"] == ["c"] and "link" not in last.headers
    assert client.get("/v2/a/b/tags/list?n=0").json()["tags"] == []
    assert error_code(client.get("/v2/nobody/tags/list")) == "NAME_UNKNOWN"


def test_end12_referrers_with_filter_and_subject_header(client):
    subject = image_manifest(client, "a/b")
    put_manifest(client, "a/b", "v1", subject)
    empty = push_blob(client, "a/b", b"{}")
    refs = {}
    for kind in ("application/vnd.example.sbom", "application/vnd.example.sig"):
        doc = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
                          "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
                          "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": _d(subject), "size": len(subject)},
                          "annotations": {"kind": kind}}).encode()
        r = put_manifest(client, "a/b", _d(doc), doc)
        assert r.status_code == 201 and r.headers["oci-subject"] == _d(subject)
        refs[kind] = _d(doc)
    r = client.get(f"/v2/a/b/referrers/{_d(subject)}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(OCI_INDEX)
    body = r.json()
    assert body["mediaType"] == OCI_INDEX and body["schemaVersion"] == 2
    assert {m["digest"] for m in body["manifests"]} == set(refs.values())
    filtered = client.get(f"/v2/a/b/referrers/{_d(subject)}", params={"artifactType": "application/vnd.example.sig"})
    assert filtered.headers["oci-filters-applied"] == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [refs["application/vnd.example.sig"]]
    assert filtered.json()["manifests"][0]["annotations"] == {"kind": "application/vnd.example.sig"}
    # unknown subject: empty index, never 404; a subject that does not exist yet is accepted
    assert client.get(f"/v2/a/b/referrers/{_d(b'none')}").json()["manifests"] == []
    assert error_code(client.get("/v2/a/b/referrers/sha256:bad")) == "DIGEST_INVALID"


@pytest.mark.parametrize("path", ["/v2/UPPER/tags/list", "/v2/a/../b/tags/list", "/v2/a/%2e%2e/b/tags/list",
                                  "/v2/a_/manifests/v1", "/v2/-x/blobs/uploads/"])
def test_invalid_names(client, path):
    method = client.post if path.endswith("uploads/") else client.get
    r = method(path)
    assert r.status_code in (400, 404)
    if r.status_code == 400:
        assert error_code(r) == "NAME_INVALID"


def test_traversal_never_reaches_the_disk(tmp_path):
    client = asgi_client(build_app(DiskStorage(tmp_path / "store")))
    r = client.post("/v2/a/%2e%2e/%2e%2e/%2e%2e/escape/blobs/uploads/")
    assert r.status_code == 400 and error_code(r) == "NAME_INVALID"
    assert not (tmp_path / "escape").exists()


def test_immutable_tags(storage):
    client = asgi_client(build_app(storage, settings=ServerSettings(tag_immutable=lambda repo: repo.startswith("prod/"))))
    first = image_manifest(client, "prod/api", layers=(b"one",))
    second = image_manifest(client, "prod/api", layers=(b"two",))
    assert put_manifest(client, "prod/api", "1.0", first).status_code == 201
    assert put_manifest(client, "prod/api", "1.0", first).status_code == 201  # same image again: fine
    r = put_manifest(client, "prod/api", "1.0", second)
    assert r.status_code == 403 and error_code(r) == "DENIED" and "immutable" in r.json()["errors"][0]["message"]
    assert client.get("/v2/prod/api/manifests/1.0").content == first
    assert put_manifest(client, "prod/api", "1.1", second).status_code == 201


def test_oversized_blob_is_refused_and_nothing_kept(storage):
    client = asgi_client(build_app(storage, settings=ServerSettings(max_blob_bytes=1000)))
    data = b"x" * 1500
    r = client.post(f"/v2/a/b/blobs/uploads/?digest={_d(data)}", content=data)
    assert r.status_code == 413 and error_code(r) == "SIZE_INVALID"
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    assert client.patch(loc, content=data).status_code == 413
    assert storage.list_blobs() == [] and storage.list_uploads() == []


def test_single_post_with_wrong_digest_leaves_no_session(client, storage):
    r = client.post(f"/v2/a/b/blobs/uploads/?digest={_d(b'expected')}", content=b"actual")
    assert error_code(r) == "DIGEST_INVALID"
    assert storage.list_uploads() == [] and storage.list_blobs() == []
