"""The shiplane client against the embedded registry AND real distribution: same results."""

import hashlib
import json
import uuid

import pytest

from shiplane.registry import (
    OCI_MANIFEST,
    RegistryApiError,
    RegistryClient,
    pull_to_oci_layout,
    push_oci_layout,
)


def _d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _repo(prefix="client") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(any_registry):
    events = []
    with RegistryClient(any_registry.host, resolve=False, progress=events.append, backoff=0.01) as c:
        c.events = events
        yield c


def test_blob_round_trip_with_existence_check(client, tmp_path):
    repo = _repo()
    data = b"some layer" * 5000
    assert client.blob_exists(repo, _d(data)) is None
    assert client.push_blob(repo, data) == (_d(data), len(data))
    assert client.blob_exists(repo, _d(data)) == len(data)
    client.events.clear()
    client.push_blob(repo, data)  # second push: HEAD says it exists, nothing uploaded
    assert [e.action for e in client.events] == ["exists"]
    assert client.pull_blob(repo, _d(data)) == data
    out = client.pull_blob(repo, _d(data), tmp_path / "blob")
    assert out.read_bytes() == data


def test_chunked_upload_from_file(client, tmp_path):
    repo = _repo()
    path = tmp_path / "big"
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4
    path.write_bytes(data)
    client.chunk_size = 256 * 1024
    client.events.clear()
    digest, size = client.push_blob(repo, path)
    assert (digest, size) == (_d(data), len(data))
    pushes = [e for e in client.events if e.action == "push"]
    assert len(pushes) == 5 and pushes[-1].done == len(data)
    assert client.pull_blob(repo, digest) == data


def test_cross_repo_mount(client):
    source, target = _repo(), _repo()
    data = b"base layer" * 100
    client.push_blob(source, data)
    client.events.clear()
    client.push_blob(target, data, mount_from=source)
    assert [e.action for e in client.events] == ["mount"]
    assert client.blob_exists(target, _d(data)) == len(data)


def test_layout_push_pull_preserves_digests(client, layout_factory, tmp_path):
    layout, root = layout_factory()
    repo = _repo("app")
    image = push_oci_layout(layout, f"{client.host}/{repo}:v1", client=client)
    assert image.digest == root["digest"]
    assert client.list_tags(repo) == ["v1"]
    pulled = pull_to_oci_layout(f"{client.host}/{repo}:v1", tmp_path / "out", client=client)
    assert pulled.digest == root["digest"]
    assert sorted(p.name for p in (tmp_path / "out" / "blobs" / "sha256").iterdir()) == \
        sorted(p.name for p in (layout / "blobs" / "sha256").iterdir())
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1"


def test_manifest_by_digest_and_tags_pagination(client, layout_factory):
    layout, root = layout_factory()
    repo = _repo("app")
    for tag in ["c", "a", "b"]:
        push_oci_layout(layout, f"{client.host}/{repo}:{tag}", client=client, layout_tag="v1")
    assert client.list_tags(repo, page_size=2) == ["a", "b", "c"]
    got = client.get_manifest(repo, root["digest"])
    assert got.digest == root["digest"] and got.media_type == OCI_MANIFEST
    assert client.manifest_exists(repo, "a") == root["digest"]
    assert client.manifest_exists(repo, "zzz") is None


def test_errors_carry_spec_codes(client):
    repo = _repo()
    with pytest.raises(RegistryApiError) as unknown:
        client.get_manifest(repo, "nope")
    assert unknown.value.code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN") and unknown.value.status == 404
    data = b"cfg"
    client.push_blob(repo, data)
    bad = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _d(data), "size": 3},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _d(b"missing"), "size": 7}]}).encode()
    with pytest.raises(RegistryApiError) as missing:
        client.push_manifest(repo, "v1", bad, OCI_MANIFEST)
    assert missing.value.code == "MANIFEST_BLOB_UNKNOWN"


def test_delete_manifest(client, layout_factory):
    layout, root = layout_factory()
    repo = _repo("app")
    push_oci_layout(layout, f"{client.host}/{repo}:v1", client=client)
    client.delete_manifest(repo, root["digest"])
    assert client.manifest_exists(repo, root["digest"]) is None


def test_referrers_same_on_both_registries(client, layout_factory):
    """distribution 2.8 has no referrers API: the client keeps and reads the fallback tag."""
    layout, root = layout_factory()
    repo = _repo("refs")
    push_oci_layout(layout, f"{client.host}/{repo}:v1", client=client)
    empty = client.push_blob(repo, b"{}")
    for kind in ("application/vnd.example.sbom", "application/vnd.example.sig"):
        doc = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
                          "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty[0], "size": 2},
                          "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty[0], "size": 2}],
                          "subject": {"mediaType": OCI_MANIFEST, "digest": root["digest"], "size": root["size"]}}).encode()
        client.push_manifest(repo, _d(doc), doc, OCI_MANIFEST)
    found = client.referrers(repo, root["digest"])
    assert sorted(r["artifactType"] for r in found) == ["application/vnd.example.sbom", "application/vnd.example.sig"]
    sigs = client.referrers(repo, root["digest"], artifact_type="application/vnd.example.sig")
    assert [r["artifactType"] for r in sigs] == ["application/vnd.example.sig"]
    assert client.referrers(repo, _d(b"no such subject")) == []


def test_multi_platform_index_round_trip(client, index_layout, tmp_path):
    layout, root = index_layout
    repo = _repo("multi")
    image = push_oci_layout(layout, f"{client.host}/{repo}:1.0", client=client)
    assert image.digest == root["digest"] and image.media_type.endswith("image.index.v1+json")
    pulled = pull_to_oci_layout(f"{client.host}/{repo}:1.0", tmp_path / "out", client=client)
    assert pulled.digest == root["digest"]
    assert {p.name for p in (tmp_path / "out" / "blobs" / "sha256").iterdir()} == \
        {p.name for p in (layout / "blobs" / "sha256").iterdir()}
