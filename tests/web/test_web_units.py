"""The dashboard's pure cores: cells, audit rows, a pod's path, authorisation, the users file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from openapi_spec_validator import validate

from shiplane.release import Revision
from shiplane.testing import run_cli
from shiplane.web import (
    Action,
    FileActionLog,
    NotAllowed,
    NotSignedIn,
    User,
    Users,
    UsersFileInvalid,
    add_user,
    authorise,
    openapi_document,
    pod_path,
    rollout_view,
)
from shiplane.web.action_log import action_record
from shiplane.web.auth import hash_token, same_origin
from shiplane.web.views import (
    audit_rows,
    filter_audit,
    model1_entry,
    model2_entry,
    overview_matrix,
    split_image,
    sync_history_rows,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _deployment(image: str, *, ready: int = 2, generation: int = 3, observed: int = 3,
                revision: str = "2") -> dict:
    return {"metadata": {"name": "web", "generation": generation,
                         "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": image}]}}},
            "status": {"observedGeneration": observed, "replicas": 2, "updatedReplicas": ready,
                       "readyReplicas": ready, "availableReplicas": ready,
                       "conditions": [{"type": "Available", "status": "True"},
                                      {"type": "Progressing", "status": "True",
                                       "reason": "NewReplicaSetAvailable"}]}}


def test_split_image_handles_ports_tags_and_digests():
    assert split_image("127.0.0.1:5000/web:sha-1@sha256:ab") == ("127.0.0.1:5000/web", "sha-1",
                                                                 "sha256:ab")
    assert split_image("127.0.0.1:5000/web@sha256:ab") == ("127.0.0.1:5000/web", "", "sha256:ab")
    assert split_image("web") == ("web", "", "") and split_image(None) == ("", "", "")


def test_model1_entry_names_the_run_that_deployed_the_latest_revision():
    revisions = [Revision(1, "superseded", T0), Revision(2, "deployed", T0, description="up")]
    runs = [{"id": 7, "env": "dev", "release_revision": 2, "trigger": "push",
             "commit": "abcdef123"}, {"id": 6, "env": "dev", "release_revision": 1,
                                      "trigger": "manual", "commit": None}]
    entry = model1_entry(revisions, _deployment("r/web:1.0@sha256:cd"), runs, "dev")
    assert (entry["tag"], entry["digest"], entry["sync"], entry["health"]) == (
        "1.0", "sha256:cd", "Synced", "Healthy")
    assert entry["deployed_by"] == "pipeline run #7 (push, commit abcdef1)"
    assert entry["deployed_at"] == "2026-01-02T03:04:05+00:00" and entry["revision"] == 2
    rolled = model1_entry([*revisions, Revision(3, "pending-rollback", T0,
                                                description="Rollback to 1")],
                          _deployment("r/web:0.9", ready=1), runs, "dev")
    assert (rolled["sync"], rolled["health"], rolled["deployed_by"]) == (
        "OutOfSync", "Progressing", "Rollback to 1")
    assert model1_entry([], None, runs, "dev") is None
    gone = model1_entry(revisions, None, [], "dev")
    assert (gone["health"], gone["deployed_by"]) == ("Missing", "up")


def test_model2_entry_reads_status_and_values():
    status = {"sync": {"status": "OutOfSync", "revision": "0123456789"},
              "health": {"status": "Degraded", "message": "1 of 2 ready"},
              "history": [{"id": 0, "revision": "aaaaaaaaa", "deployedAt": "t0",
                           "initiatedBy": {"automated": True}},
                          {"id": 1, "revision": "bbbbbbbbb", "deployedAt": "t1",
                           "initiatedBy": {"username": "bob"}}]}
    entry = model2_entry("web-prod", status, {"image": {"tag": "1.4.0", "digest": "sha256:x"}})
    assert (entry["sync"], entry["health"], entry["tag"], entry["digest"]) == (
        "OutOfSync", "Degraded", "1.4.0", "sha256:x")
    assert entry["deployed_by"] == "sync by bob at bbbbbbb" and entry["history_id"] == 1
    never = model2_entry("web-prod", {}, None)
    assert (never["sync"], never["health"], never["deployed_by"]) == ("Unknown", "Unknown",
                                                                      "never synced")


def test_overview_matrix_orders_services_and_models():
    matrix = overview_matrix(["dev", "prod"], [("b", "dev", {"model": 2}),
                                               ("b", "dev", {"model": 1}),
                                               ("a", "prod", {"model": 2})])
    assert [s["name"] for s in matrix["services"]] == ["a", "b"]
    assert [e["model"] for e in matrix["services"][1]["cells"]["dev"]] == [1, 2]
    assert matrix["services"][0]["cells"] == {"dev": [], "prod": [{"model": 2}]}


def test_audit_rows_merge_sources_newest_first_and_filter():
    promotion = SimpleNamespace(when=1_700_000_000, service="web", environment="prod",
                                tag="1.4.0", by="alice", source="dev", approved_by="bob",
                                deployed_at="", commit="c0ffee0123")
    runs = [{"id": 3, "status": "succeeded", "image_tags": ["1.4.0"], "service": "web",
             "env": "dev", "model": 1, "trigger": "push", "commit": "abc",
             "release_revision": 2, "ended_at": "2023-11-14T23:00:00+00:00", "runner": "h:1"},
            {"id": 4, "status": "failed", "image_tags": [], "service": "web", "env": "dev",
             "model": 1, "trigger": "push"}]
    actions = [action_record("rollback", "carol", service="web", env="dev", model=1)]
    rows = audit_rows(promotions=[promotion], runs=runs, actions=actions)
    assert [r["action"] for r in rows] == ["rollback", "deploy", "promote"]
    assert rows[2]["detail"] == "from dev, approved by bob" and rows[2]["ref"] == "c0ffee0"
    assert [r["action"] for r in filter_audit(rows, by="BOB")] == []
    assert [r["by"] for r in filter_audit(rows, by="ali")] == ["alice"]
    assert [r["action"] for r in filter_audit(rows, env="dev", service="web")] == [
        "rollback", "deploy"]


def _entry(id_: int, revision: str, by: dict, at: str) -> dict:
    return {"id": id_, "revision": revision, "revisions": [revision], "deployedAt": at,
            "initiatedBy": by}


def test_sync_history_rows_name_people_and_rollbacks_and_skip_the_dashboards_own():
    a, b = "a" * 40, "b" * 40
    history = [_entry(0, a, {"automated": True}, "2026-01-01T00:00:00Z"),
               _entry(1, b, {"automated": True}, "2026-01-02T00:00:00Z"),
               _entry(2, a, {"username": "carol"}, "2026-01-03T00:00:00Z"),  # back to a
               _entry(3, a, {"username": "dave"}, "2026-01-04T00:00:00Z"),   # same again
               _entry(4, b, {"username": "erin"}, "2026-01-05T00:00:00Z")]   # returns to b
    rows = sync_history_rows([("web-dev", "web", "dev", history)])
    assert [(r["by"], r["action"], r["ref"], r["when"]) for r in rows] == [
        ("carol", "rollback", "aaaaaaa", "2026-01-03T00:00:00Z"),
        ("dave", "sync", "aaaaaaa", "2026-01-04T00:00:00Z"),
        ("erin", "rollback", "bbbbbbb", "2026-01-05T00:00:00Z")]
    assert rows[0]["detail"] == "web-dev history 2: aaaaaaa" and rows[0]["model"] == 2
    # carol's rollback came from the dashboard: its action row stands for it, once
    mine = [action_record("rollback", "carol", service="web", env="dev", model=2,
                          ref="aaaaaaa")]
    left = sync_history_rows([("web-dev", "web", "dev", history)], mine)
    assert [r["by"] for r in left] == ["dave", "erin"]
    merged = audit_rows(actions=mine, syncs=left)
    assert [(r["by"], r["action"]) for r in filter_audit(merged, action="rollback")] == [
        ("carol", "rollback"), ("erin", "rollback")]


def _pod(name: str, **status) -> dict:
    return {"metadata": {"name": name, "creationTimestamp": "t",
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "web-new"}]},
            "spec": {"nodeName": status.pop("node", "")}, "status": status}


def _event(reason: str, message: str, pod: str = "web-new-a", at: str = "t1") -> dict:
    return {"reason": reason, "message": message, "lastTimestamp": at,
            "involvedObject": {"kind": "Pod", "name": pod}}


def test_pod_path_walks_pending_to_ready():
    def states(pod, events=()):
        return [(s["stage"], s["state"]) for s in pod_path(pod, list(events))]

    assert states(_pod("a", phase="Pending")) == [
        ("pending", "done"), ("scheduled", "active"), ("image", "waiting"),
        ("started", "waiting"), ("probes", "waiting"), ("ready", "waiting")]
    pulling = pod_path(_pod("a", node="n1"), [_event("Pulling", 'Pulling image "web:2"')])
    assert [s["state"] for s in pulling][:3] == ["done", "done", "active"]
    assert pulling[1]["detail"] == "on n1" and pulling[2]["detail"].startswith("pulling: ")
    cached = pod_path(_pod("a", node="n1", containerStatuses=[{"state": {"running": {}}}]),
                      [_event("Pulled", "Container image already present on machine")])
    assert cached[2] == {"stage": "image", "label": "Image", "state": "done",
                         "detail": "cached on the node"}
    assert cached[4]["state"] == "active"
    probing = pod_path(_pod("a", node="n1", containerStatuses=[{"state": {"running": {}}}]),
                       [_event("Unhealthy", "Readiness probe failed: 503")])
    assert probing[4] == {"stage": "probes", "label": "Probes", "state": "active",
                          "detail": "Readiness probe failed: 503"}
    ready = _pod("a", node="n1", podIP="10.0.0.5", containerStatuses=[{"state": {"running": {}}}],
                 conditions=[{"type": "Ready", "status": "True"}])
    assert all(s["state"] == "done" for s in pod_path(ready, []))
    crashing = _pod("a", node="n1", containerStatuses=[{"state": {"waiting": {
        "reason": "ImagePullBackOff", "message": "not found"}}}])
    assert pod_path(crashing, [])[2]["state"] == "failed"
    assert "ImagePullBackOff" in pod_path(crashing, [])[2]["detail"]


def test_rollout_view_tells_new_from_old_and_counts_endpoints():
    deployment = _deployment("r/web:2", ready=1, revision="2")
    deployment["status"]["updatedReplicas"] = 1
    rs = [{"metadata": {"name": f"web-{role}", "labels": {"pod-template-hash": role},
                        "annotations": {"deployment.kubernetes.io/revision": rev},
                        "ownerReferences": [{"kind": "Deployment", "name": "web"}]},
           "spec": {"replicas": n, "template": {"spec": {"containers": [{"image": "i"}]}}},
           "status": {"replicas": n, "readyReplicas": n}}
          for role, rev, n in (("old", "1", 1), ("new", "2", 1))]
    foreign = {"metadata": {"name": "other", "ownerReferences": [
        {"kind": "Deployment", "name": "other"}]}}
    endpoints = [{"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": "1"}], "notReadyAddresses": [{"ip": "2"}]}]}]
    view = rollout_view(deployment, [*rs, foreign], [_pod("web-new-a", phase="Pending")],
                        [_event("Scheduled", "Successfully assigned dev/web-new-a to n1")],
                        endpoints, service="web", namespace="dev")
    assert [(r["name"], r["role"]) for r in view["replicasets"]] == [("web-new", "new"),
                                                                     ("web-old", "old")]
    assert view["endpoints"] == {"ready": 1, "not_ready": 1}
    assert not view["status"]["done"] and "1 out of 2 new replicas" in view["status"]["message"]
    assert [e["reason"] for e in view["events"]] == ["Scheduled"]
    assert view["pods"][0]["role"] == "new"
    missing = rollout_view(None, [], [], [], [], service="web", namespace="dev")
    assert not missing["found"] and "no Deployment web" in missing["status"]["message"]


def test_authorise_needs_a_user_an_allowed_action_and_not_the_author():
    alice, viewer = User("alice"), User("viewer", frozenset())
    assert authorise(alice, Action.SYNC) is alice
    with pytest.raises(NotSignedIn):
        authorise(None, Action.SYNC)
    with pytest.raises(NotAllowed, match="viewer may not rollback"):
        authorise(viewer, Action.ROLLBACK)
    with pytest.raises(NotAllowed, match="cannot approve it too"):
        authorise(alice, Action.APPROVE, author="alice")
    assert authorise(alice, Action.APPROVE, author="bob") is alice
    assert authorise(alice, Action.REJECT, author="alice") is alice  # withdrawing is fine


def test_users_file_stores_only_hashes_and_refuses_bad_entries(tmp_path):
    path = tmp_path / "web" / "users.yaml"
    token = add_user(path, "alice", ["approve"])
    assert token not in path.read_text() and hash_token(token) in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    users = Users.load(path)
    assert users.identify(token) == User("alice", frozenset({Action.APPROVE}))
    assert users.identify("other") is None and users.identify(None) is None
    assert Users.load(tmp_path / "missing.yaml").by_token_hash == {}
    for data, problem in (({"users": {"x": {}}}, "no token_sha256"),
                          ({"users": {"x": {"token_sha256": "zz"}}}, "not a sha256"),
                          ({"users": {"x": {"token_sha256": "a" * 64, "actions": ["fly"]}}},
                           "actions must be among"),
                          (["users"], "expected a mapping")):
        with pytest.raises(UsersFileInvalid, match=problem):
            Users.parse(data)
    with pytest.raises(UsersFileInvalid, match="user name"):
        add_user(path, "al ice")


def test_same_origin_checks_origin_then_referer():
    assert same_origin({"origin": "http://h:1"}, "h:1")
    assert same_origin({"referer": "http://h:1/services/x"}, "h:1")
    assert not same_origin({"origin": "http://evil:1"}, "h:1")
    assert not same_origin({"origin": "null"}, "h:1") and not same_origin({}, "h:1")


def test_file_action_log_survives_a_torn_line(tmp_path):
    log = FileActionLog(tmp_path / "actions.jsonl")
    log.append(action_record("sync", "bob", service="web"))
    with open(log.path, "a") as handle:
        handle.write('{"torn": ')
    log.append(action_record("approve", "carol"))
    assert [r["by"] for r in log.records()] == ["bob", "carol"]


def test_openapi_document_validates():
    document = openapi_document()
    validate(document)
    assert document["paths"]["/api/promotions/approve"]["post"]["security"] == [{"bearer": []}]


def test_ui_add_user_prints_a_token_once(tmp_path):
    result = run_cli(["ui", "add-user", "dora", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    token = result.stdout.rsplit(": ", 1)[1].strip()
    assert Users.load(tmp_path / "web" / "users.yaml").identify(token).name == "dora"


def test_shiplane_ui_serves_over_a_real_socket_without_a_stack(tmp_path):
    """`shiplane ui` as a real process: pages answer, and what cannot be read is said."""
    import os
    import subprocess
    import sys

    import httpx

    import shiplane

    src = str(Path(shiplane.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src, "SHIPLANE_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen([sys.executable, "-m", "shiplane", "ui", "--port", "0"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        url = line.split()[1]
        overview = httpx.get(url + "/api/overview", timeout=30).json()
        assert overview["services"] == [] and any(
            "not running" in error for error in overview["errors"])
        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200 and "Some data could not be read" in page.text
        assert httpx.get(url + "/api/whoami", timeout=10).json()["user"] is None
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_redirects_after_forms_stay_on_this_site():
    from shiplane.web.app import _local

    assert _local("/services/web") == "/services/web"
    for foreign in ("//evil.example/x", "https://evil.example", "/\\evil.example", "evil"):
        assert _local(foreign) == "/"
