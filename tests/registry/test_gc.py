"""Online GC: marks through tags, indexes and referrers; never races a push."""

import hashlib
import json
import threading

import pytest
from shiplane.testing.asgi import asgi_client

from shiplane.registry import DiskStorage, MemoryStorage, build_app
from shiplane.registry.gc import GarbageCollector, collect_garbage, mark, plan_sweep
from shiplane.registry.storage import BlobStat

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GRACE = 3600.0


def _d(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["memory", "disk"])
def env(request, tmp_path):
    clock = Clock()
    storage = MemoryStorage(clock=clock) if request.param == "memory" else DiskStorage(tmp_path / "s", clock=clock)
    return storage, asgi_client(build_app(storage)), clock


def blob(client, repo, data):
    assert client.post(f"/v2/{repo}/blobs/uploads/?digest={_d(data)}", content=data).status_code == 201
    return {"digest": _d(data), "size": len(data)}


def manifest_doc(config, layers, **extra):
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **l} for l in layers],
                       **extra}).encode()


def put(client, repo, ref, data, media_type=OCI_MANIFEST):
    return client.put(f"/v2/{repo}/manifests/{ref}", content=data, headers={"Content-Type": media_type})


def test_plan_sweep_is_pure():
    stats = {"sha256:a": BlobStat(1, 0.0), "sha256:b": BlobStat(1, 90.0), "sha256:c": BlobStat(1, 0.0)}
    assert plan_sweep(stats, {"sha256:c"}, now=100.0, grace_seconds=50) == ["sha256:a"]
    assert plan_sweep(stats, set(), now=100.0, grace_seconds=0) == ["sha256:a", "sha256:b", "sha256:c"]


def test_marks_tags_untagged_indexes_and_referrers_and_sweeps_the_rest(env):
    storage, client, clock = env
    cfg = blob(client, "a/b", b"{}")
    l1, l2, l3 = (blob(client, "a/b", x) for x in (b"l1", b"l2", b"l3"))
    child = manifest_doc(cfg, [l1])
    assert put(client, "a/b", _d(child), child).status_code == 201  # untagged, child of index
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": _d(child), "size": len(child)}]}).encode()
    assert put(client, "a/b", "multi", index, OCI_INDEX).status_code == 201
    sbom = manifest_doc(cfg, [l2], artifactType="application/spdx+json",
                        subject={"mediaType": OCI_MANIFEST, "digest": _d(child), "size": len(child)})
    assert put(client, "a/b", _d(sbom), sbom).status_code == 201
    orphan = blob(client, "a/b", b"orphan")
    clock.now += GRACE + 1
    marked = mark(storage)
    assert {cfg["digest"], l1["digest"], l2["digest"], _d(child), _d(index), _d(sbom)} <= marked
    report = collect_garbage(storage, grace_seconds=GRACE)
    assert set(report.deleted) == {l3["digest"], orphan["digest"]}
    assert client.get(f"/v2/a/b/manifests/multi").content == index
    assert client.get(f"/v2/a/b/blobs/{l2['digest']}").content == b"l2"
    assert client.get(f"/v2/a/b/blobs/{l3['digest']}").status_code == 404


def test_push_in_progress_survives_gc(env):
    """Blobs uploaded, manifest not yet PUT: GC within the grace delay keeps them."""
    storage, client, clock = env
    cfg, layer = blob(client, "a/b", b"{}"), blob(client, "a/b", b"fresh layer")
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    client.patch(loc, content=b"half of a layer")  # an upload session still open
    clock.now += GRACE - 1
    assert collect_garbage(storage, grace_seconds=GRACE).deleted == ()
    assert put(client, "a/b", "v1", manifest_doc(cfg, [layer])).status_code == 201
    assert client.get(loc).status_code == 204  # the session was not touched either
    clock.now += 10 * GRACE
    assert collect_garbage(storage, grace_seconds=GRACE, upload_max_age=100 * GRACE).deleted == ()


def test_head_existence_check_protects_an_old_blob(env):
    """A client HEADs an old unreferenced blob, skips the upload, then PUTs its manifest."""
    storage, client, clock = env
    cfg, layer = blob(client, "a/b", b"{}"), blob(client, "a/b", b"old layer")
    clock.now += 5 * GRACE
    assert client.head(f"/v2/a/b/blobs/{layer['digest']}").status_code == 200
    assert client.head(f"/v2/a/b/blobs/{cfg['digest']}").status_code == 200
    clock.now += GRACE / 2
    assert collect_garbage(storage, grace_seconds=GRACE).deleted == ()
    assert put(client, "a/b", "v1", manifest_doc(cfg, [layer])).status_code == 201


def test_expired_upload_sessions_are_removed(env):
    storage, client, clock = env
    loc = client.post("/v2/a/b/blobs/uploads/").headers["location"]
    client.patch(loc, content=b"abandoned")
    clock.now += 2 * 86400
    report = collect_garbage(storage, grace_seconds=GRACE)
    assert len(report.expired_uploads) == 1 and client.get(loc).status_code == 404


def test_concurrent_pushes_and_gc_never_lose_a_referenced_blob(tmp_path):
    """Real threads: pushers race a GC loop (real clock, short grace); every image stays whole."""
    storage = DiskStorage(tmp_path / "s")
    app = build_app(storage)
    stop = threading.Event()
    failures, pushed = [], []

    def pusher(n):
        client = asgi_client(app)
        for i in range(8):
            cfg = blob(client, "race/app", json.dumps({"n": n, "i": i}).encode())
            layers = [blob(client, "race/app", f"{n}-{i}-{k}".encode() * 100) for k in range(3)]
            data = manifest_doc(cfg, layers)
            r = put(client, "race/app", f"t{n}-{i}", data)
            if r.status_code != 201:
                failures.append(r.text)
            pushed.append((data, [cfg] + layers))

    def gc_loop():
        while not stop.is_set():
            collect_garbage(storage, grace_seconds=3.0)

    gc_thread = threading.Thread(target=gc_loop)
    gc_thread.start()
    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    gc_thread.join()
    collect_garbage(storage, grace_seconds=0.0)  # even with no grace now, referenced blobs stay
    assert failures == []
    for data, blobs in pushed:
        for b in blobs:
            assert storage.blob_stat(b["digest"]) is not None
        assert storage.read_blob(_d(data)) == data


def test_background_collector(tmp_path):
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    client = asgi_client(build_app(storage))
    stale = blob(client, "a/b", b"stale")
    clock.now += 10
    collector = GarbageCollector(storage, interval=0.01, grace_seconds=5).start()
    try:
        for _ in range(500):
            if collector.last_report is not None:
                break
            threading.Event().wait(0.01)
    finally:
        collector.stop()
    assert storage.blob_stat(stale["digest"]) is None
