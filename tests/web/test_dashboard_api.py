"""Every page and API route in-process (httpx ASGI transport) over a real delivery.

Runs before the browser tests (file order), which roll back and approve for real."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.testing import asgi_client
from shiplane.web import API_OPERATIONS, COOKIE
from shiplane.web.auth import csrf_token

SERVICE = "payment-service"
TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _tokens(tokens):
    TOKENS.update(tokens)


@pytest.fixture(scope="module")
def client(delivered):
    with asgi_client(delivered.app()) as http:
        yield http


@pytest.fixture
def browser_of(delivered):
    """A client holding ``user``'s sign-in cookie, as a browser would after /login."""
    opened = []

    def make(user: str | None):
        http = asgi_client(delivered.app())
        if user:
            http.cookies.set(COOKIE, TOKENS[user])
        opened.append(http)
        return http
    yield make
    for http in opened:
        http.close()


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[user]}"}


def test_overview_shows_both_models_in_the_matrix(client, delivered):
    data = client.get("/api/overview").json()
    assert data["environments"] == ["dev", "staging", "prod"]
    row = next(r for r in data["services"] if r["name"] == SERVICE)
    model1 = next(e for e in row["cells"]["dev"] if e["model"] == 1)
    v1 = delivered.runs[0]
    assert model1["image"] == v1.image_reference
    assert model1["digest"] == v1.image_digest and model1["tag"] in v1.image_tags
    assert (model1["sync"], model1["health"], model1["revision"]) == ("Synced", "Healthy", 2)
    assert model1["deployed_by"] == "shiplane deploy to dev"  # revision 2: no pipeline run
    model2 = next(e for e in row["cells"]["dev"] if e["model"] == 2)
    assert (model2["sync"], model2["health"], model2["tag"]) == ("Synced", "Healthy",
                                                                 delivered.tag)
    assert model2["deployed_by"].startswith("automated sync")
    prod = row["cells"]["prod"]
    assert [e["model"] for e in prod] == [2]  # prod is synced by a person: not yet
    assert (prod[0]["sync"], prod[0]["deployed_by"]) == ("Unknown", "never synced")

    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert '<main id="main"' in html and '<nav aria-label="Main">' in html
    assert f'href="/services/{SERVICE}"' in html and "Model 1" in html and "Model 2" in html
    assert v1.image_digest.split(":")[1][:12] in html


def test_service_page_lists_runs_releases_and_the_pending_promotion(client, delivered,
                                                                     browser_of):
    data = client.get(f"/api/services/{SERVICE}").json()
    assert [r["id"] for r in data["runs"]] == [r.id for r in delivered.runs]
    history = data["releases"]["dev"]["history"]
    assert [(h["revision"], h["status"]) for h in history] == [(2, "deployed"),
                                                                 (1, "superseded")]
    assert data["applications"]["dev"]["application"] == f"{SERVICE}-dev"
    (pending,) = data["promotions"]
    assert (pending["branch"], pending["author"], pending["target"]) == (
        delivered.branch, "alice", "prod")
    gates = {g["name"]: g for g in pending["gates"]}
    assert gates["source-synced"]["passed"] and gates["pipeline-passed"]["passed"]
    assert not gates["approval"]["passed"] and "someone other than alice" in \
        gates["approval"]["detail"]

    html = client.get(f"/services/{SERVICE}").text
    assert "FAIL</strong> approval" in html and "PASS</strong> source-synced" in html
    assert "Sign in</a> to approve" in html and "Roll back to" not in html  # read-only
    signed_in = browser_of("bob").get(f"/services/{SERVICE}").text
    assert "Roll back to 1" in signed_in and "Approve " in signed_in
    assert csrf_token(b"test-secret", TOKENS["bob"]) in signed_in


def test_run_page_and_its_htmx_fragment_show_steps_and_logs(client, delivered):
    run = delivered.runs[0]
    data = client.get(f"/api/runs/{run.id}").json()
    assert data["release_revision"] == 1
    assert [s["name"] for s in data["steps"]] == ["test", "build", "tag", "push", "deploy"]
    assert all(s["status"] == "succeeded" and s["seconds"] is not None for s in data["steps"])
    assert any("passed" in s["log"] for s in data["steps"] if s["name"] == "test")
    full = client.get(f"/runs/{run.id}").text
    fragment = client.get(f"/runs/{run.id}", headers={"HX-Request": "true"}).text
    assert "<html" in full and "<html" not in fragment
    assert "Log of test" in fragment and "<caption>Steps of run" in fragment
    assert client.get("/api/runs/999999").status_code == 404
    assert client.get("/runs/999999").status_code == 404
    listed = client.get("/api/runs", params={"service": SERVICE, "limit": 1}).json()
    assert [r["id"] for r in listed["runs"]] == [delivered.runs[0].id]
    assert client.get("/api/runs", params={"limit": "many"}).status_code == 400


def test_rollout_snapshot_shows_replicasets_pods_and_endpoints(client):
    data = client.get(f"/api/services/{SERVICE}/environments/dev/rollout").json()
    assert data["found"] and data["status"]["done"]
    roles = sorted(rs["role"] for rs in data["replicasets"])
    assert roles == ["new", "old"]
    new = next(rs for rs in data["replicasets"] if rs["role"] == "new")
    assert new["ready"] == new["desired"] >= 1
    assert data["endpoints"]["ready"] == new["desired"]
    for pod in data["pods"]:
        assert [s["stage"] for s in pod["path"]][:6] == ["pending", "scheduled", "image",
                                                         "started", "probes", "ready"]
        assert all(s["state"] == "done" for s in pod["path"][:6]), pod
    assert any(e["reason"] == "ScalingReplicaSet" for e in data["events"])
    html = client.get(f"/services/{SERVICE}/rollouts/dev").text
    assert 'sse-connect="/services/payment-service/rollouts/dev/events"' in html
    assert "Rollout complete" in html
    assert client.get(f"/api/services/{SERVICE}/environments/nowhere/rollout").status_code \
        == 404


def test_cluster_page_shows_nodes_pods_images_and_the_registry(client):
    data = client.get("/api/cluster").json()
    (cluster,) = data["clusters"]
    assert cluster["environments"] == ["dev", "staging", "prod"]
    nodes = cluster["nodes"]
    assert len(nodes) == 3 and all(n["ready"] for n in nodes)
    placed = [p for n in nodes for p in n["pods"] if p["name"].startswith(SERVICE)]
    assert placed and all(p["namespace"] == "dev" for p in placed)
    assert any(n["images"] for n in nodes)
    repos = {r["name"]: r for r in data["registry"]["repositories"]}
    assert SERVICE in repos and all(t["size"] > 0 for t in repos[SERVICE]["tags"])
    assert client.get("/api/registry").json()["repositories"] == data["registry"][
        "repositories"]
    html = client.get("/cluster").text
    assert "<meter" in html and SERVICE in html


def test_audit_lists_deploys_and_promotions_and_filters(client, delivered):
    data = client.get("/api/audit").json()
    actions = {e["action"] for e in data["entries"]}
    assert {"deploy", "set-image"} <= actions
    only = client.get("/api/audit", params={"action": "deploy", "env": "dev"}).json()
    assert only["entries"] and all(e["action"] == "deploy" and e["env"] == "dev"
                                   for e in only["entries"])
    assert client.get("/api/audit", params={"by": "nobody-at-all"}).json()["entries"] == []
    html = client.get("/audit", params={"action": "deploy"}).text
    assert '<label for="f-by">By</label>' in html and 'data-action="set-image"' not in html


def test_actions_need_a_known_token_and_the_right_user(client, delivered):
    rollback = f"/api/services/{SERVICE}/environments/dev/rollback"
    anonymous = client.post(rollback, json={"revision": 1})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    wrong = client.post(rollback, json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    viewer = client.post(rollback, json={}, headers=bearer("viewer"))
    assert viewer.status_code == 403 and "viewer may not rollback" in viewer.json()["error"]
    author = client.post("/api/promotions/approve", json={"branch": delivered.branch},
                         headers=bearer("alice"))
    assert author.status_code == 403 and "cannot approve it too" in author.json()["error"]
    assert client.post("/api/promotions/approve", json={"branch": "promote/x/y/z"},
                       headers=bearer("bob")).status_code == 404
    assert client.post("/api/promotions/reject", json={},
                       headers=bearer("bob")).status_code == 400
    bad = client.post(rollback, json={"revision": 0}, headers=bearer("bob"))
    assert bad.status_code == 400
    unknown = client.post(f"/api/applications/{SERVICE}-nowhere/sync", headers=bearer("bob"))
    assert unknown.status_code == 409 and "no Application" in unknown.json()["error"]
    assert client.get("/api/whoami", headers=bearer("bob")).json() == {
        "user": "bob", "actions": ["approve", "reject", "rollback", "sync"]}
    assert client.get("/api/whoami").json() == {"user": None, "actions": []}
    # nothing changed: the promotion still waits
    assert [p["branch"] for p in client.get("/api/promotions").json()["pending"]] == [
        delivered.branch]


def test_sync_and_reject_through_the_api_are_recorded_with_the_user(client, delivered):
    synced = client.post(f"/api/applications/{SERVICE}-dev/sync", headers=bearer("bob"))
    assert synced.status_code == 200, synced.text
    assert (synced.json()["phase"], synced.json()["sync"]) == ("Succeeded", "Synced")
    cell = client.get(f"/api/services/{SERVICE}").json()["applications"]["dev"]
    assert cell["deployed_by"].startswith("sync by bob")
    branch = delivered.propose("staging")
    pending = {p["branch"]: p for p in client.get("/api/promotions").json()["pending"]}
    assert set(pending) == {delivered.branch, branch}
    assert all(g["passed"] for g in pending[branch]["gates"]), pending[branch]["gates"]
    rejected = client.post("/api/promotions/reject", json={"branch": branch},
                           headers=bearer("bob"))
    assert rejected.json() == {"branch": branch, "rejected_by": "bob"}
    assert [p["branch"] for p in client.get("/api/promotions").json()["pending"]] == [
        delivered.branch]
    trail = client.get("/api/audit", params={"by": "bob"}).json()["entries"]
    assert [(e["action"], e["env"]) for e in trail][:2] == [("reject", "staging"),
                                                            ("sync", "dev")]


def test_forms_are_csrf_safe_and_sign_in_sets_an_httponly_cookie(client, delivered,
                                                                   browser_of):
    form = {"branch": delivered.branch, "csrf": csrf_token(b"test-secret", TOKENS["bob"])}
    bob = browser_of("bob")
    foreign = bob.post("/promotions/approve", data=form,
                       headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "another origin" in foreign.text
    no_origin = bob.post("/promotions/approve", data=form)
    assert no_origin.status_code == 403
    no_token = bob.post("/promotions/approve", data={"branch": delivered.branch},
                        headers={"Origin": "http://testserver"})
    assert no_token.status_code == 403 and "CSRF token" in no_token.text
    signed_out = browser_of(None).post("/promotions/approve", data=form,
                                       headers={"Origin": "http://testserver"})
    assert signed_out.status_code == 401
    alice = browser_of("alice")
    own = alice.post("/promotions/approve", headers={"Origin": "http://testserver"}, data={
        "branch": delivered.branch, "csrf": csrf_token(b"test-secret", TOKENS["alice"])})
    assert own.status_code == 403 and "cannot approve it too" in own.text
    login = browser_of(None).post("/login", data={"token": TOKENS["bob"], "next": "//evil.example"},
                        headers={"Origin": "http://testserver"})
    assert login.status_code == 303 and login.headers["location"] == "/"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    failed = browser_of(None).post("/login", data={"token": "wrong"},
                         headers={"Origin": "http://testserver"})
    assert failed.status_code == 401 and "not known" in failed.text
    assert "Sign in" in client.get("/login").text
    assert [p["branch"] for p in client.get("/api/promotions").json()["pending"]] == [
        delivered.branch]


def test_unknown_pages_and_the_static_files(client):
    missing = client.get("/services/no-such-service")
    assert missing.status_code == 404 and 'role="alert"' in missing.text
    assert client.get("/api/services/no-such-service").status_code == 404
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:200]
    assert "Zero-Clause BSD" in client.get("/static/LICENSES.txt").text


def test_openapi_spec_is_valid_and_lists_every_api_route(client):
    spec = client.get("/api/openapi.json").json()
    validate(spec)
    listed = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert listed == {(op.method, op.path) for op in API_OPERATIONS}
    routes = {(m, r.path) for r in client._transport._inner.app.routes  # type: ignore[attr-defined]
              if hasattr(r, "methods") and r.path.startswith("/api/") for m in r.methods
              if m != "HEAD"}
    normalised = {(m, re.sub(r":int}", "}", p)) for m, p in routes}
    assert normalised - {("GET", "/api/openapi.json")} == listed


def test_model2_rollback_shows_history_refuses_under_auto_sync_and_is_audited(
        client, delivered, browser_of):
    app_name = f"{SERVICE}-dev"
    rollback = f"/api/applications/{app_name}/rollback"
    cell = client.get(f"/api/services/{SERVICE}").json()["applications"]["dev"]
    assert cell["history"] and not cell["manual_sync"]  # dev syncs automatically
    oldest = cell["history"][-1]
    assert oldest["initiated_by"] == "automated sync" and oldest["deployed_at"]
    assert len(oldest["revision"]) == 7
    assert client.post(rollback, json={"id": oldest["id"]}).status_code == 401
    assert client.post(rollback, json={"id": oldest["id"]},
                       headers=bearer("viewer")).status_code == 403
    assert client.post(rollback, json={}, headers=bearer("bob")).status_code == 400
    assert client.post(rollback, json={"id": 0, "disable_auto_sync": "yes"},
                       headers=bearer("bob")).status_code == 400
    refused = client.post(rollback, json={"id": oldest["id"]}, headers=bearer("bob"))
    assert refused.status_code == 409
    assert "not allowed while automated sync is enabled" in refused.json()["error"]
    unknown = client.post(rollback, json={"id": 999, "disable_auto_sync": True},
                          headers=bearer("bob"))
    assert unknown.status_code == 409 and "no history entry 999" in unknown.json()["error"]
    done = client.post(rollback, json={"id": oldest["id"], "disable_auto_sync": True},
                       headers=bearer("bob"))
    assert done.status_code == 200, done.text
    assert (done.json()["phase"], done.json()["revision"]) == ("Succeeded", oldest["revision"])
    after = client.get(f"/api/services/{SERVICE}").json()["applications"]["dev"]["history"]
    assert (after[0]["initiated_by"], after[0]["revision"]) == ("bob", oldest["revision"])

    # the page: history with the action for a signed-in user only; the form is CSRF-checked
    assert "Roll back to this revision" not in client.get(f"/services/{SERVICE}").text
    bob = browser_of("bob")
    page = bob.get(f"/services/{SERVICE}").text
    assert f'data-application="{app_name}"' in page and "Roll back to this revision" in page
    assert 'name="disable_auto_sync"' in page
    form = {"history_id": str(oldest["id"]), "service": SERVICE}
    origin = {"Origin": "http://testserver"}
    assert bob.post(f"/applications/{app_name}/rollback", data=form,
                    headers=origin).status_code == 403  # no CSRF token
    form["csrf"] = csrf_token(b"test-secret", TOKENS["bob"])
    without = bob.post(f"/applications/{app_name}/rollback", data=form, headers=origin)
    assert without.status_code == 409 and "automated sync" in without.text
    alice = browser_of("alice")
    ticked = alice.post(f"/applications/{app_name}/rollback", headers=origin, data={
        **form, "csrf": csrf_token(b"test-secret", TOKENS["alice"]), "disable_auto_sync": "on"})
    assert ticked.status_code == 303 and ticked.headers["location"] == f"/services/{SERVICE}"
    rows = client.get("/api/audit", params={"action": "rollback", "env": "dev"}).json()
    bob_rows = [e for e in rows["entries"] if e["by"] == "bob" and e["model"] == 2]
    assert bob_rows and oldest["revision"] in bob_rows[0]["detail"]
    assert bob_rows[0]["service"] == SERVICE and bob_rows[0]["when"]
    # a rollback started outside this dashboard (as `shiplane gitops rollback` does) is
    # read from the Application's history: who, which entry, when
    workspace = PlatformWorkspace.open(delivered.platform)
    with ClusterClients(delivered.gitops_kubeconfig) as clusters:
        app = workspace.app(app_name)
        workspace.reconciler_for(app, clusters).rollback(
            app, oldest["id"], initiated_by="carol", disable_auto_sync=True)
    carol = client.get("/api/audit", params={"by": "carol"}).json()["entries"]
    assert [(e["env"], e["model"], e["service"]) for e in carol] == [("dev", 2, SERVICE)]
    assert carol[0]["when"] and f"{app_name} history" in carol[0]["detail"]
    alice_rows = client.get("/api/audit", params={"by": "alice", "env": "dev"}).json()
    assert any(e["model"] == 2 for e in alice_rows["entries"])  # another dashboard's action
