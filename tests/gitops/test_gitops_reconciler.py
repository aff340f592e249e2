"""The reconciler against the embedded API server (server-side apply, field manager
shiplane-gitops), checked with kubectl. Status goes to a file store here; the CLI tests
use the Application objects.
"""

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from shiplane.gitops import GitSources, HealthStatus, RollbackRefused, SyncStatus, load_documents
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import FileStatusStore
from shiplane.kube import KubeClient, KubeError
from shiplane.scaffold import set_image


@pytest.fixture
def kubectl(kube_apiserver):
    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(["kubectl", "--kubeconfig", str(kube_apiserver.kubeconfig), *args],
                              capture_output=True, text=True, input=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout
    return run


@pytest.fixture
def client(kube_apiserver):
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as c:
        yield c


def _app(root: Path, name: str, namespace: str):
    apps, _ = load_documents((root / "argocd-apps").glob("*.yaml"))
    app = next(a for a in apps if a.name == name)
    # one namespace per test: the API server is shared by the module. No garbage
    # collector runs on it yet, so foreground deletion (Argo CD's default) would
    # leave pruned objects waiting for their foregroundDeletion finalizer.
    policy = dataclasses.replace(app.sync_policy, options={
        **app.sync_policy.options, "PrunePropagationPolicy": "background"})
    return dataclasses.replace(app, sync_policy=policy, destination=dataclasses.replace(
        app.destination, namespace=namespace))


def _image(kubectl, ns):
    return kubectl("-n", ns, "get", "deployment", "payment-service", "-o",
                   "jsonpath={.spec.template.spec.containers[0].image}")


def test_automated_sync_creates_namespace_and_resources_then_is_synced(
        repos, platform_root, client, kubectl, tmp_path):
    app = _app(platform_root, "payment-service-dev", "gitops-a")
    store = FileStatusStore(tmp_path / "status")
    reconciler = Reconciler(client, GitSources(repos), store, apply_mode="server-side")
    state = reconciler.reconcile(app)
    assert state.comparison.status is SyncStatus.SYNCED, state.comparison.out_of_sync
    assert _image(kubectl, "gitops-a").endswith("/payment-service:dev")
    managers = json.loads(kubectl("-n", "gitops-a", "get", "deployment", "payment-service",
                                  "--show-managed-fields", "-o", "json"))["metadata"]["managedFields"]
    assert {"manager": "shiplane-gitops", "operation": "Apply"}.items() <= managers[0].items()
    kinds = kubectl("-n", "gitops-a", "get", "deployment,service,configmap", "-o", "name")
    assert "deployment.apps/payment-service" in kinds and "service/payment-service" in kinds
    status = json.loads((tmp_path / "status" / "payment-service-dev.json").read_text())
    assert status["sync"]["status"] == "Synced"
    assert status["operationState"]["phase"] == "Succeeded"
    assert [h["id"] for h in status["history"]] == [0]
    assert status["history"][0]["initiatedBy"] == {"automated": True}
    deployment = next(r for r in status["resources"] if r["kind"] == "Deployment")
    # no deployment controller on this API server: the rollout never progresses
    assert deployment["health"]["status"] == "Progressing"
    assert state.health.status is HealthStatus.PROGRESSING

    # a second pass with nothing new does not sync again
    again = reconciler.reconcile(app)
    assert again.comparison.status is SyncStatus.SYNCED
    assert len(store.load(app.name)["history"]) == 1


def test_new_commit_synced_drift_self_healed_and_removed_resource_pruned(
        repos, platform_root, client, kubectl, tmp_path):
    app = _app(platform_root, "payment-service-dev", "gitops-b")
    store = FileStatusStore(tmp_path / "status")
    reconciler = Reconciler(client, GitSources(repos), store, apply_mode="server-side")
    reconciler.reconcile(app)

    set_image("payment-service", environment="dev", tag="1.4.0", directory=platform_root)
    state = reconciler.reconcile(app)
    assert state.comparison.status is SyncStatus.SYNCED
    assert _image(kubectl, "gitops-b").endswith(":1.4.0")
    assert len(store.load(app.name)["history"]) == 2

    # drift by kubectl: selfHeal puts git back
    kubectl("-n", "gitops-b", "set", "image", "deployment/payment-service",
            "payment-service=evil:1")
    assert reconciler.observe(app).comparison.status is SyncStatus.OUT_OF_SYNC
    reconciler.reconcile(app)
    assert _image(kubectl, "gitops-b").endswith(":1.4.0")

    # an object with our tracking mark that git does not have is pruned
    # (kubectl create configmap NAME sends protobuf, which the embedded server refuses)
    kubectl("-n", "gitops-b", "create", "--validate=false", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "leftover", "annotations": {
            "argocd.argoproj.io/tracking-id":
                "payment-service-dev:/ConfigMap:gitops-b/leftover"}}}))
    kubectl("-n", "gitops-b", "create", "--validate=false", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-ours"}}))
    state = reconciler.observe(app)
    assert state.comparison.get("ConfigMap", "leftover").requires_pruning
    reconciler.reconcile(app)
    names = kubectl("-n", "gitops-b", "get", "configmap", "-o", "name")
    assert "configmap/leftover" not in names and "configmap/not-ours" in names


def test_admission_refusal_blocks_sync_and_keeps_running_version(
        repos, platform_root, client, kubectl, tmp_path):
    app = _app(platform_root, "payment-service-dev", "gitops-c")
    store = FileStatusStore(tmp_path / "status")
    Reconciler(client, GitSources(repos), store, apply_mode="server-side").reconcile(app)
    set_image("payment-service", environment="dev", tag="latest", directory=platform_root)

    def no_latest(app, manifests):
        return [f"{m['kind']}/{m['metadata']['name']}: tag latest" for m in manifests
                if m["kind"] == "Deployment" and
                m["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":latest")]

    guarded = Reconciler(client, GitSources(repos), store, apply_mode="server-side", admit=no_latest)
    state = guarded.reconcile(app)
    assert state.comparison.status is SyncStatus.OUT_OF_SYNC
    assert _image(kubectl, "gitops-c").endswith(":dev")
    status = store.load(app.name)
    assert status["operationState"]["phase"] == "Failed"
    assert status["operationState"]["message"] == "Deployment/payment-service: tag latest"


def test_manual_sync_rollback_and_refusal_under_automation(
        repos, platform_root, client, kubectl, tmp_path):
    prod = _app(platform_root, "payment-service-prod", "gitops-d")
    store = FileStatusStore(tmp_path / "status")
    reconciler = Reconciler(client, GitSources(repos), store, apply_mode="server-side")
    # prod is manual: reconcile reports OutOfSync, applies nothing
    state = reconciler.reconcile(prod)
    assert state.comparison.status is SyncStatus.OUT_OF_SYNC
    deployed_in = kubectl("get", "deployments", "-A", "-o",
                          "jsonpath={.items[*].metadata.namespace}").split()
    assert "gitops-d" not in deployed_in
    reconciler.sync(prod, initiated_by="alice")
    first = _image(kubectl, "gitops-d")
    set_image("payment-service", environment="prod", tag="1.3.0", directory=platform_root)
    reconciler.sync(prod, initiated_by="bob")
    assert _image(kubectl, "gitops-d").endswith(":1.3.0")
    history = store.load(prod.name)["history"]
    assert [(h["id"], h["initiatedBy"]) for h in history] == [
        (0, {"username": "alice"}), (1, {"username": "bob"})]
    reconciler.rollback(prod, 0, initiated_by="carol")
    assert _image(kubectl, "gitops-d") == first
    assert store.load(prod.name)["history"][-1]["revisions"] == history[0]["revisions"]

    dev = _app(platform_root, "payment-service-dev", "gitops-d")
    with pytest.raises(RollbackRefused, match="automated sync is enabled"):
        reconciler.rollback(dev, 0, initiated_by="carol")


def test_failed_auto_sync_is_retried_after_backoff(repos, platform_root, client, kubectl,
                                                   tmp_path):
    app = _app(platform_root, "payment-service-dev", "gitops-e")
    store = FileStatusStore(tmp_path / "status")
    now = ["2026-11-25T12:00:00Z"]
    refusing = [True]

    def admit(app, manifests):
        return ["registry is down for maintenance"] if refusing[0] else []

    reconciler = Reconciler(client, GitSources(repos), store, apply_mode="server-side", admit=admit,
                            clock=lambda: now[0])
    reconciler.reconcile(app)
    assert store.load(app.name)["operationState"]["phase"] == "Failed"
    refusing[0] = False
    now[0] = "2026-11-25T12:00:04Z"  # the scaffold's retry: 5s, factor 2
    assert reconciler.reconcile(app).comparison.status is SyncStatus.OUT_OF_SYNC
    now[0] = "2026-11-25T12:00:05Z"
    assert reconciler.reconcile(app).comparison.status is SyncStatus.SYNCED
    op = store.load(app.name)["operationState"]
    assert (op["phase"], op["retryCount"]) == ("Succeeded", 1)
    assert _image(kubectl, "gitops-e").endswith(":dev")


def test_hooks_run_in_their_phase_and_generate_name_creates(client, kubectl):
    from shiplane.gitops import compare, mark, plan_sync
    from shiplane.gitops.reconciler import Reconciler
    from shiplane.gitops.status import MemoryStatusStore

    kubectl("create", "namespace", "gitops-f")
    pre = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "generateName": "pre-sync-", "namespace": "gitops-f",
        "annotations": {"argocd.argoproj.io/hook": "PreSync"}}, "data": {"x": "1"}}
    cm = mark({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "app", "namespace": "gitops-f"}}, "hooks")
    tasks = plan_sync(compare([cm], [], app_name="hooks"), hooks=[pre])
    assert [str(t) for t in tasks] == ["PreSync/0 apply ConfigMap/", "Sync/0 apply ConfigMap/app"]
    reconciler = Reconciler(client, None, MemoryStatusStore())
    ok, message, results = reconciler.execute(tasks)
    assert ok, message
    assert [r["status"] for r in results] == ["Synced", "Synced"]
    assert results[0]["name"].startswith("pre-sync-")  # the generated name is reported
    names = kubectl("-n", "gitops-f", "get", "configmaps", "-o", "name")
    assert "configmap/app" in names and f"configmap/{results[0]['name']}" in names


def test_webhook_push_syncs_the_affected_apps_at_once(repos, platform_root, client, kubectl,
                                                      tmp_path):
    from shiplane.gitops.webhook import WEBHOOK_PATH, webhook_app
    from shiplane.pipeline.webhook import sign_body
    from shiplane.scaffold.platform import DEFAULT_GIT_BASE
    from shiplane.testing.asgi import asgi_client

    app = _app(platform_root, "payment-service-dev", "gitops-g")
    other = _app(platform_root, "payment-service-prod", "gitops-g2")
    store = FileStatusStore(tmp_path / "status")
    reconciler = Reconciler(client, GitSources(repos), store)
    reconciler.reconcile(app)
    set_image("payment-service", environment="dev", tag="3.0.0", directory=platform_root)
    by_name = {app.name: app, other.name: other}
    refreshed = []

    def refresh(names):
        refreshed.extend(names)
        for name in names:
            reconciler.reconcile(by_name[name])

    server = webhook_app(lambda: list(by_name.values()), refresh, secret="s3cret")
    body = json.dumps({"ref": "refs/heads/main", "before": "a" * 40, "after": "b" * 40,
                       "repository": {"name": "plat", "full_name": "example-org/plat",
                                      "clone_url": f"{DEFAULT_GIT_BASE}/plat.git"}}).encode()
    with asgi_client(server) as http:
        unsigned = http.post(WEBHOOK_PATH, content=body, headers={"X-GitHub-Event": "push"})
        assert unsigned.status_code == 401
        response = http.post(WEBHOOK_PATH, content=body, headers={
            "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign_body("s3cret", body)})
        assert response.status_code == 200
    # both apps use the platform repo (ref: values); prod is manual, so only dev syncs
    assert response.json() == {"refreshed": ["payment-service-dev", "payment-service-prod"]}
    assert _image(kubectl, "gitops-g").endswith(":3.0.0")
    assert "gitops-g2" not in kubectl("get", "deployments", "-A", "-o",
                                      "jsonpath={.items[*].metadata.namespace}").split()


def test_a_pass_lists_each_kind_once_and_sees_its_own_applies(repos, platform_root, client,
                                                              kubectl, tmp_path):
    dev = _app(platform_root, "payment-service-dev", "gitops-h")
    staging = dataclasses.replace(_app(platform_root, "payment-service-dev", "gitops-h2"),
                                  name="payment-service-dev-copy")
    reconciler = Reconciler(client, GitSources(repos), FileStatusStore(tmp_path / "status"))
    lists = []
    original = client.list

    def counting(api_version, kind, namespace=None, **options):
        lists.append((kind, namespace, options.get("all_namespaces", False)))
        return original(api_version, kind, namespace, **options)

    client.list = counting
    try:
        reconciler.begin_pass()
        for app in (dev, staging):
            assert reconciler.reconcile(app).comparison.status is SyncStatus.SYNCED
        kinds = [kind for kind, _, everywhere in lists if everywhere]
        assert len(kinds) == len(set(kinds)) and all(every for *_, every in lists)
        # someone scales by hand during the pass: seen at the next pass, then healed
        kubectl("-n", "gitops-h", "scale", "deployment/payment-service", "--replicas=5")
        assert reconciler.observe(dev).comparison.status is SyncStatus.SYNCED  # cached
        reconciler.end_pass()
        assert reconciler.observe(dev).comparison.status is SyncStatus.OUT_OF_SYNC
    finally:
        client.list = original


def test_a_refresh_lists_only_the_kinds_the_app_has(repos, platform_root, client, tmp_path):
    app = _app(platform_root, "payment-service-dev", "gitops-i")
    reconciler = Reconciler(client, GitSources(repos), FileStatusStore(tmp_path / "status"))
    reconciler.reconcile(app)  # no status yet: every prunable kind is looked at
    lists = []
    original = client.list
    client.list = lambda api_version, kind, namespace=None, **o: (
        lists.append(kind), original(api_version, kind, namespace, **o))[1]
    try:
        assert reconciler.reconcile(app).comparison.status is SyncStatus.SYNCED
    finally:
        client.list = original
    status_kinds = {r["kind"] for r in reconciler.store.load(app.name)["resources"]}
    assert set(lists) == status_kinds and len(lists) == len(status_kinds) < 14


def test_a_pass_cache_falls_back_to_namespace_lists_under_namespaced_rbac(tmp_path):
    """A controller whose RBAC covers one namespace (a Role, no ClusterRole) gets 403 on
    all-namespaces lists: the pass cache lists that kind per namespace instead (real HTTPS,
    client certificates and RBAC on the embedded API server)."""
    from shiplane.cluster.apiserver.runner import ApiServerRunner
    from shiplane.gitops.reconciler import LiveCache

    with ApiServerRunner(pki_dir=tmp_path / "pki", name="rbac") as server:
        admin = KubeClient.from_kubeconfig(server.write_kubeconfig(tmp_path / "admin"))
        with admin:
            for ns in ("team-a", "team-b"):
                admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
                admin.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "cfg", "namespace": ns}})
            admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                          "metadata": {"name": "gitops", "namespace": "team-a"},
                          "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                     "verbs": ["get", "list", "patch"]}]})
            admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                          "metadata": {"name": "gitops", "namespace": "team-a"},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": "gitops"},
                          "subjects": [{"kind": "User", "name": "gitops-bot",
                                        "apiGroup": "rbac.authorization.k8s.io"}]})
        path = server.write_kubeconfig(tmp_path / "bot", user="gitops-bot")
        with KubeClient.from_kubeconfig(path) as bot:
            cache = LiveCache(bot)
            found = cache.objects("v1", "ConfigMap", "team-a")
            assert [o["metadata"]["name"] for o in found] == ["cfg"]
            with pytest.raises(KubeError):
                cache.objects("v1", "ConfigMap", "team-b")  # 403 there too: not hidden
