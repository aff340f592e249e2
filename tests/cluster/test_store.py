"""The object store contract, run against both implementations, and metadata rules."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shiplane.cluster.store import (
    NAME_ALPHABET,
    AlreadyExists,
    Conflict,
    Gone,
    MemoryObjectStore,
    NotFound,
    ObjectKey,
    ObjectStore,
    SqliteObjectStore,
    Write,
    generate_name,
    plan_deletion,
    prepare_create,
    prepare_update,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "memory":
        return MemoryObjectStore(watch_window=8)
    return SqliteObjectStore(tmp_path / "store.db", watch_window=8)


def cm(name: str, data: str = "v", namespace: str = "default") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"k": data},
    }


def key(name: str, namespace: str = "default") -> ObjectKey:
    return ObjectKey("configmaps", namespace, name)


def test_implementations_satisfy_the_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)


def test_resource_versions_are_global_and_monotonic(store: ObjectStore) -> None:
    [a] = store.commit([Write("create", key("a"), cm("a"))])
    [b] = store.commit([Write("create", ObjectKey("secrets", "default", "b"), cm("b"))])
    [a2] = store.commit([Write("update", key("a"), cm("a", "w"), a.rv)])
    assert a.rv < b.rv < a2.rv == store.resource_version
    assert a2.obj["metadata"]["resourceVersion"] == str(a2.rv)


def test_create_refuses_existing_and_update_refuses_missing(store: ObjectStore) -> None:
    store.commit([Write("create", key("a"), cm("a"))])
    with pytest.raises(AlreadyExists, match='configmaps "a" already exists'):
        store.commit([Write("create", key("a"), cm("a"))])
    with pytest.raises(NotFound, match='configmaps "zz" not found'):
        store.commit([Write("update", key("zz"), cm("zz"))])


def test_stale_resource_version_is_a_conflict(store: ObjectStore) -> None:
    [first] = store.commit([Write("create", key("a"), cm("a"))])
    store.commit([Write("update", key("a"), cm("a", "2"), first.rv)])
    with pytest.raises(Conflict, match="the object has been modified"):
        store.commit([Write("update", key("a"), cm("a", "3"), first.rv)])
    assert store.get(key("a")).obj["data"] == {"k": "2"}


def test_a_failed_batch_changes_nothing(store: ObjectStore) -> None:
    store.commit([Write("create", key("a"), cm("a"))])
    before = store.resource_version
    with pytest.raises(AlreadyExists):
        store.commit([Write("create", key("b"), cm("b")), Write("create", key("a"), cm("a"))])
    assert store.get(key("b")) is None
    assert store.resource_version == before
    assert [e.key.name for e in store.events_since(0)] == ["a"]


def test_list_is_sorted_and_scoped(store: ObjectStore) -> None:
    for ns, name in [("b", "x"), ("a", "y"), ("a", "c")]:
        store.commit([Write("create", key(name, ns), cm(name, namespace=ns))])
    assert [s.obj["metadata"]["name"] for s in store.list("configmaps")] == ["c", "y", "x"]
    assert [s.obj["metadata"]["name"] for s in store.list("configmaps", "b")] == ["x"]
    assert store.list("secrets") == []


def test_dry_run_commits_nothing(store: ObjectStore) -> None:
    [result] = store.commit([Write("create", key("a"), cm("a"))], dry_run=True)
    assert result.obj["metadata"]["name"] == "a"
    assert store.get(key("a")) is None and store.resource_version == 0


def test_watch_log_window_expires_old_versions(store: ObjectStore) -> None:
    for i in range(20):
        store.commit([Write("create", key(f"o{i}"), cm(f"o{i}"))])
    assert store.oldest_resource_version > 0
    with pytest.raises(Gone, match=r"too old resource version: 1 \("):
        store.events_since(1)
    recent = store.events_since(store.resource_version - 2)
    assert [e.rv for e in recent] == [store.resource_version - 1, store.resource_version]


def test_events_carry_type_and_previous_state(store: ObjectStore) -> None:
    [a] = store.commit([Write("create", key("a"), cm("a"))])
    store.commit([Write("update", key("a"), cm("a", "2"), a.rv)])
    store.commit([Write("delete", key("a"))])
    events = store.events_since(0)
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1].previous["data"] == {"k": "v"}
    assert b'"type":"DELETED"' in events[2].line()


def test_listeners_see_each_commit_in_order(store: ObjectStore) -> None:
    seen: list[int] = []
    unsubscribe = store.subscribe(lambda events: seen.extend(e.rv for e in events))
    store.commit([Write("create", key("a"), cm("a")), Write("create", key("b"), cm("b"))])
    unsubscribe()
    store.commit([Write("create", key("c"), cm("c"))])
    assert seen == [1, 2]


def test_sqlite_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SqliteObjectStore(path)
    [a] = first.commit([Write("create", key("a"), cm("a"))])
    first.commit([Write("update", key("a"), cm("a", "2"), a.rv)])
    first.commit([Write("create", key("b"), cm("b")), Write("delete", key("a"))])
    first.close()
    again = SqliteObjectStore(path)
    assert again.resource_version == 4
    assert again.get(key("a")) is None
    assert again.get(key("b")).obj["data"] == {"k": "v"}
    assert [e.type for e in again.events_since(1)] == ["MODIFIED", "ADDED", "DELETED"]
    [c] = again.commit([Write("create", key("c"), cm("c"))])
    assert c.rv == 5


def test_generate_name_uses_the_upstream_alphabet() -> None:
    rng = random.Random(7)
    names = {generate_name("web-", rng) for _ in range(50)}
    for name in names:
        assert name.startswith("web-") and len(name) == 9
        assert set(name[4:]) <= set(NAME_ALPHABET)
    assert len(names) > 45
    assert len(generate_name("x" * 80)) == 63


def test_generation_moves_only_with_the_spec() -> None:
    old = prepare_create({"metadata": {"name": "a"}, "spec": {"replicas": 1}}, now=NOW)
    assert old["metadata"]["generation"] == 1 and old["metadata"]["uid"]
    assert old["metadata"]["creationTimestamp"] == "2026-01-02T03:04:05Z"
    labelled = prepare_update(
        old,
        {
            "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {"replicas": 1},
            "status": {"ready": 1},
        },
    )
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["uid"] == old["metadata"]["uid"]
    scaled = prepare_update(
        old, {"metadata": {"name": "a", "uid": "forged"}, "spec": {"replicas": 2}}
    )
    assert scaled["metadata"]["generation"] == 2
    assert scaled["metadata"]["uid"] == old["metadata"]["uid"]


def test_deletion_plans() -> None:
    plain = plan_deletion({"metadata": {}}, now=NOW, propagation=None, grace_period=None)
    assert plain.remove
    fg = plan_deletion(
        {"metadata": {"generation": 3}}, now=NOW, propagation="Foreground", grace_period=None
    )
    assert not fg.remove and fg.obj["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert fg.obj["metadata"]["deletionTimestamp"] == "2026-01-02T03:04:05Z"
    assert fg.obj["metadata"]["generation"] == 4
    orphan = plan_deletion({"metadata": {}}, now=NOW, propagation="Orphan", grace_period=None)
    assert orphan.obj["metadata"]["finalizers"] == ["orphan"]
    kept = plan_deletion(
        {"metadata": {"finalizers": ["x/y"]}}, now=NOW, propagation=None, grace_period=None
    )
    assert not kept.remove and kept.obj["metadata"]["finalizers"] == ["x/y"]
    graceful = plan_deletion(
        {"metadata": {}}, now=NOW, propagation=None, grace_period=30, graceful=True
    )
    assert not graceful.remove
    assert graceful.obj["metadata"]["deletionTimestamp"] == "2026-01-02T03:04:35Z"
    assert graceful.obj["metadata"]["deletionGracePeriodSeconds"] == 30
    finish = plan_deletion(graceful.obj, now=NOW, propagation=None, grace_period=0, graceful=True)
    assert finish.remove


def test_sqlite_compaction_keeps_current_objects(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SqliteObjectStore(path, watch_window=4)
    [a] = first.commit([Write("create", key("a"), cm("a"))])
    for i in range(12):
        first.commit([Write("create", key(f"o{i}"), cm(f"o{i}"))])
    first.commit([Write("update", key("o0"), cm("o0", "new"))])
    oldest = first.oldest_resource_version
    assert oldest > a.rv
    first.close()
    again = SqliteObjectStore(path, watch_window=4)
    assert len(again.list("configmaps")) == 13
    assert again.get(key("a")).rv == a.rv and again.get(key("o0")).obj["data"] == {"k": "new"}
    assert again.oldest_resource_version >= oldest
    with pytest.raises(Gone):
        again.events_since(a.rv)
