from shiplane.gitops import Health, HealthStatus, compare, mark
from shiplane.gitops.status import (
    FileStatusStore,
    MemoryStatusStore,
    OperationState,
    append_history,
    application_status,
)


def _op(revs=("abc",), by="automated", phase="Succeeded"):
    return OperationState(phase, "ok", "t0", "t1", revs, by)


def test_history_ids_grow_and_are_capped_at_the_limit():
    history = []
    for n in range(12):
        history = append_history(history, _op((f"r{n}",)), [{"repoURL": "x"}], limit=10)
    assert [h["id"] for h in history] == list(range(2, 12))
    assert history[-1]["revision"] == "r11" and history[-1]["deployedAt"] == "t1"
    manual = append_history([], _op(by="alice"), [])
    assert manual[0]["initiatedBy"] == {"username": "alice"} and manual[0]["id"] == 0


def test_status_document_shape():
    desired = mark({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "dev",
                                 "annotations": {"argocd.argoproj.io/sync-wave": "2"}}}, "a")
    orphan = mark({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "old", "namespace": "dev"}}, "a")
    comparison = compare([desired], [orphan], app_name="a")
    status = application_status(comparison, Health(HealthStatus.MISSING), revisions=["r1", "r2"],
                                reconciled_at="now", operation=_op(("r1", "r2"), "bob", "Failed"))
    assert status["sync"] == {"status": "OutOfSync", "revisions": ["r1", "r2"], "revision": "r1"}
    assert status["health"] == {"status": "Missing"}
    web, old = status["resources"]
    assert web == {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "dev",
                   "name": "web", "status": "OutOfSync", "syncWave": 2,
                   "health": {"status": "Missing"}}
    assert old["requiresPruning"] and "health" not in old
    op = status["operationState"]
    assert op["phase"] == "Failed" and op["operation"]["initiatedBy"] == {"username": "bob"}
    error = application_status(compare([], [], app_name="a", error="boom"),
                               Health(HealthStatus.UNKNOWN), revisions=[], reconciled_at="now")
    assert error["sync"]["status"] == "Unknown"
    assert error["conditions"] == [{"type": "ComparisonError", "message": "boom"}]


def test_memory_and_file_stores_round_trip(tmp_path):
    for store in (MemoryStatusStore(), FileStatusStore(tmp_path / "s")):
        assert store.load("a") == {}
        store.save("a", {"sync": {"status": "Synced"}})
        assert store.load("a") == {"sync": {"status": "Synced"}}
