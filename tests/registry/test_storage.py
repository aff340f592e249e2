"""Storage protocol: the same behaviour from the memory and the disk store."""

import hashlib
import json
import os
import threading

import pytest

from shiplane.registry import DigestMismatch, DiskStorage, MemoryStorage, ReferenceInvalid


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["memory", "disk"])
def storage(request, tmp_path):
    return MemoryStorage() if request.param == "memory" else DiskStorage(tmp_path / "store")


def test_blob_is_visible_only_after_verified_commit(storage):
    data = b"layer bytes" * 1000
    upload = storage.start_upload("team/app")
    storage.append_upload(upload.id, data[:500])
    assert storage.upload_info(upload.id).size == 500
    storage.append_upload(upload.id, data[500:])
    assert storage.blob_stat(_digest(data)) is None
    assert storage.commit_upload(upload.id, _digest(data)) == len(data)
    assert storage.blob_stat(_digest(data)).size == len(data)
    assert storage.open_blob(_digest(data)).read() == data
    assert storage.upload_info(upload.id) is None


def test_wrong_digest_exposes_nothing(storage):
    upload = storage.start_upload("team/app")
    storage.append_upload(upload.id, b"truncated")
    wanted = _digest(b"truncated and more")
    with pytest.raises(DigestMismatch):
        storage.commit_upload(upload.id, wanted)
    assert storage.blob_stat(wanted) is None
    assert storage.list_blobs() == []


def test_concurrent_uploads_of_the_same_blob(storage):
    data = os.urandom(256 * 1024)
    errors = []

    def push():
        try:
            upload = storage.start_upload("a/b")
            for i in range(0, len(data), 4096):
                storage.append_upload(upload.id, data[i:i + 4096])
            storage.commit_upload(upload.id, _digest(data))
        except Exception as error:  # noqa: BLE001
            errors.append(error)
    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert storage.read_blob(_digest(data)) == data
    assert storage.list_blobs() == [_digest(data)]
    assert storage.list_uploads() == []


def test_manifests_tags_referrers(storage):
    data = b'{"schemaVersion":2}'
    digest = _digest(data)
    storage.put_manifest("a/b", digest, "application/vnd.oci.image.manifest.v1+json", data)
    storage.set_tag("a/b", "v1", digest)
    storage.add_referrer("a/b", "sha256:" + "1" * 64, digest)
    assert storage.tag("a/b", "v1") == digest
    assert storage.manifest("a/b", digest).media_type.endswith("manifest.v1+json")
    assert storage.manifest("other", digest) is None
    assert storage.referrers("a/b", "sha256:" + "1" * 64) == [digest]
    assert storage.repositories() == ["a/b"]
    storage.delete_manifest("a/b", digest)
    assert storage.tags("a/b") == {} and storage.referrers("a/b", "sha256:" + "1" * 64) == []


def test_put_blob_verifies(storage):
    with pytest.raises(DigestMismatch):
        storage.put_blob(b"abc", _digest(b"abd"))
    assert storage.list_blobs() == []


def test_disk_store_is_an_oci_layout(tmp_path):
    store = DiskStorage(tmp_path)
    data = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
    storage_digest = _digest(data)
    store.put_manifest("team/app", storage_digest, "application/vnd.oci.image.manifest.v1+json", data)
    store.set_tag("team/app", "1.0", storage_digest)
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["manifests"][0]["digest"] == storage_digest
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "team/app:1.0"
    assert (tmp_path / "blobs" / "sha256" / storage_digest.split(":")[1]).read_bytes() == data
    # a fresh instance over the same folder sees the same state (restart)
    again = DiskStorage(tmp_path)
    assert again.tag("team/app", "1.0") == storage_digest
    assert again.repositories() == ["team/app"]


def test_disk_upload_survives_restart(tmp_path):
    first = DiskStorage(tmp_path)
    upload = first.start_upload("a/b")
    head = os.urandom(64 * 1024)  # larger than the file buffer: written through at once
    first.append_upload(upload.id, head)
    second = DiskStorage(tmp_path)  # a restarted server: no in-memory hash state
    assert second.upload_info(upload.id).size == len(head)
    second.append_upload(upload.id, b"world")
    assert second.commit_upload(upload.id, _digest(head + b"world")) == len(head) + 5


def test_disk_store_refuses_traversal(tmp_path):
    store = DiskStorage(tmp_path / "s")
    for bad in ["../escape", "a/../../b", "/abs"]:
        with pytest.raises(ReferenceInvalid):
            store.link_blob(bad, _digest(b"x"))
    with pytest.raises(KeyError):
        store.append_upload("../../etc", b"x")
    assert not (tmp_path / "escape").exists()
