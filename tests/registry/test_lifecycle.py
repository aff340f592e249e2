"""Lifecycle rules: pure planning with in-use protection, then the executor."""

import json

from shiplane.testing.asgi import asgi_client

from shiplane.registry import MemoryStorage, build_app
from shiplane.registry.lifecycle import (
    DAY,
    ExpireUntagged,
    ImageRecord,
    KeepLastN,
    Reason,
    RepositoryRules,
    apply_lifecycle,
    image_records,
    plan_lifecycle,
)

NOW = 1_800_000_000.0


def _img(n, tags=(), age_days=0.0, children=(), subject=None):
    return ImageRecord(f"sha256:{n:064x}", tuple(tags), NOW - age_days * DAY, tuple(children), subject)


def test_keep_last_n_by_prefix():
    images = [_img(i, [f"release-{i}"], age_days=10 - i) for i in range(5)] + [_img(9, ["dev-1"], age_days=50)]
    plan = plan_lifecycle(images, [KeepLastN("release-", 2)], now=NOW)
    assert plan.digests == [_img(i).digest for i in (0, 1, 2)]
    assert {d.reason for d in plan.deletions} == {Reason.BEYOND_KEEP_LAST}


def test_expire_untagged_after_days():
    images = [_img(1, age_days=40), _img(2, age_days=5), _img(3, ["v1"], age_days=400)]
    plan = plan_lifecycle(images, [ExpireUntagged(30)], now=NOW)
    assert plan.digests == [_img(1).digest]
    assert plan.deletions[0].reason is Reason.UNTAGGED_EXPIRED


def test_in_use_children_and_referrers_are_protected():
    child = _img(1, age_days=90)
    index = _img(2, ["v1"], age_days=90, children=[child.digest])
    signature = _img(3, age_days=90, subject=index.digest)
    deployed = _img(4, age_days=90)
    orphan_sig = _img(5, age_days=90, subject=_img(77).digest)
    plan = plan_lifecycle([child, index, signature, deployed, orphan_sig], [ExpireUntagged(30)],
                          now=NOW, in_use=[deployed.digest])
    assert plan.digests == [orphan_sig.digest]
    assert plan.protected[child.digest].startswith("child of kept index")
    assert plan.protected[signature.digest].startswith("referrer of kept image")
    assert plan.protected[deployed.digest] == "in use"


def test_rules_match_repositories():
    rules = RepositoryRules(immutable=("prod/*",), lifecycle=(("team/*", (ExpireUntagged(7),)),))
    assert rules.is_immutable("prod/api") and not rules.is_immutable("team/api")
    assert rules.lifecycle_for("team/api") == (ExpireUntagged(7),) and rules.lifecycle_for("x") == ()


def test_apply_lifecycle_against_storage():
    storage = MemoryStorage(clock=lambda: NOW)
    client = asgi_client(build_app(storage))
    cfg = b"{}"
    client.post("/v2/a/b/blobs/uploads/?digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", content=cfg)
    digests = []
    for i in range(4):
        doc = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                     "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
                          "layers": [], "annotations": {"n": str(i)}}).encode()
        storage.clock = (lambda t: (lambda: t))(NOW + i)
        r = client.put(f"/v2/a/b/manifests/release-{i}", content=doc,
                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        digests.append(r.headers["docker-content-digest"])
    plan = plan_lifecycle(image_records(storage, "a/b"), [KeepLastN("release-", 2)], now=NOW + 10)
    assert sorted(plan.digests) == sorted(digests[:2])
    assert sorted(apply_lifecycle(storage, "a/b", plan)) == sorted(digests[:2])
    assert sorted(storage.tags("a/b")) == ["release-2", "release-3"]
