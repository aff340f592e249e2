"""The Application's top-level ``operation`` requests a sync, as in Argo CD (argo-cd
``controller/appcontroller.go`` ``processRequestedAppOperation`` / ``setOperationState``;
``util/argo/argo.go`` ``SetAppOperation``), on the embedded API server: someone patches
``operation`` with kubectl, the controller runs it (revisions, prune, dryRun, resources as
requested), records it in ``status.operationState.operation`` and removes the field. And a
manual sync from another process is refused while an operation is in progress
("another operation is already in progress", ``ErrAnotherOperationInProgress``).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from shiplane.gitops import SyncRefused
from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.controller import GitOpsController
from shiplane.gitops.appwatch import wants_operation
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient
from shiplane.kube.errors import ApiError
from shiplane.scaffold import set_image
from shiplane.testing.cli import run_cli

API = "argoproj.io/v1alpha1"
PROD = "payment-service-prod"  # no automated sync: it only syncs when asked


@pytest.fixture(autouse=True)
def _fresh_applications(kube_apiserver):
    """Each test starts without Application objects (the API server is per module)."""
    yield
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        for app in client.list(API, "Application", "argocd"):
            client.patch(API, "Application", app["metadata"]["name"],
                         {"metadata": {"finalizers": None}}, namespace="argocd")
            client.delete(API, "Application", app["metadata"]["name"], "argocd")
        for kind in ("Deployment", "Service", "ConfigMap"):
            api = "apps/v1" if kind == "Deployment" else "v1"
            for obj in client.list(api, kind, "prod"):
                if kind == "ConfigMap" and obj["metadata"]["name"] == "kube-root-ca.crt":
                    continue
                client.delete(api, kind, obj["metadata"]["name"], "prod")


@pytest.fixture
def kubectl(kube_apiserver):
    def run(*args: str) -> str:
        done = subprocess.run(["kubectl", "--kubeconfig", str(kube_apiserver.kubeconfig),
                               *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout
    return run


@pytest.fixture
def client(kube_apiserver):
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as c:
        yield c


def _request(kubectl, operation: dict) -> None:
    kubectl("-n", "argocd", "patch", "application", PROD, "--type", "merge", "-p",
            json.dumps({"operation": operation}))


def _application(client: KubeClient) -> dict:
    return client.get(API, "Application", PROD, "argocd")


def _exists(client: KubeClient, api: str, kind: str, name: str) -> bool:
    try:
        client.get(api, kind, name, "prod")
    except ApiError as error:
        if error.code == 404:
            return False
        raise
    return True


def _head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def _controller(clusters, platform_root) -> GitOpsController:
    controller = GitOpsController(platform_root, clusters, interval=3600, workers=1)
    controller.full_pass()  # the Applications are created on the cluster, prod not synced
    return controller


def test_a_requested_sync_runs_at_the_requested_revision_with_prune_and_is_cleared(
        kube_apiserver, platform_root, kubectl, client):
    pinned = _head(platform_root)  # prod's values at this commit: the scaffold's tag
    set_image("payment-service", environment="prod", tag="9.9.9", directory=platform_root)
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        controller = _controller(clusters, platform_root)
        status = _application(client)["status"]
        assert status["sync"]["status"] == "OutOfSync" and "operationState" not in status
        # a leftover the app tracks: only a sync with prune deletes it
        try:
            client.create({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": "prod"}})
        except ApiError as error:
            assert error.code == 409
        client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "stale", "namespace": "prod", "annotations": {
                "argocd.argoproj.io/tracking-id": f"{PROD}:/ConfigMap:prod/stale"}}})
        _request(kubectl, {
            # no garbage collector on this API server: foreground deletion (the default)
            # would wait for one; the operation's syncOptions replace the app's
            "sync": {"revisions": ["", pinned], "prune": True,
                     "syncOptions": ["CreateNamespace=true", "PrunePropagationPolicy=background"]},
            "initiatedBy": {"username": "alice"},
            "info": [{"name": "reason", "value": "hotfix"}]})
        controller.refresh([PROD])
        assert controller.drain() == [PROD]
    app = _application(client)
    assert "operation" not in app or app["operation"] is None  # removed once completed
    op = app["status"]["operationState"]
    assert op["phase"] == "Succeeded", op
    assert op["operation"]["initiatedBy"] == {"username": "alice"}
    assert op["operation"]["info"] == [{"name": "reason", "value": "hotfix"}]
    assert op["operation"]["sync"]["prune"] is True
    assert op["syncResult"]["revisions"][1] == pinned
    assert ("Pruned", "stale") in [(r["status"], r["name"])
                                   for r in op["syncResult"]["resources"]]
    assert not _exists(client, "v1", "ConfigMap", "stale")
    image = client.get("apps/v1", "Deployment", "payment-service", "prod")[
        "spec"]["template"]["spec"]["containers"][0]["image"]
    # the pinned revision, not the 9.9.9 commit after it
    assert not image.endswith(":9.9.9") and image.rpartition(":")[2] in subprocess.run(
        ["git", "-C", str(platform_root), "show", f"{pinned}:prod/payment-service/values.yaml"],
        capture_output=True, text=True, check=True).stdout
    history = app["status"]["history"]
    assert len(history) == 1 and history[0]["initiatedBy"] == {"username": "alice"}
    assert history[0]["revisions"][1] == pinned
    # the next pass does nothing more: no operation is requested, prune is not automated
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        GitOpsController(platform_root, clusters, interval=3600, workers=1).full_pass()
    assert len(_application(client)["status"]["history"]) == 1


def test_dry_run_and_partial_requests_leave_no_history(kube_apiserver, platform_root, kubectl,
                                                       client):
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        controller = _controller(clusters, platform_root)
        _request(kubectl, {"sync": {"dryRun": True}, "initiatedBy": {"username": "bob"}})
        controller.refresh([PROD])
        controller.drain()
        app = _application(client)
        op = app["status"]["operationState"]
        assert op["phase"] == "Succeeded" and op["operation"]["sync"]["dryRun"] is True
        assert all(r["message"].endswith("(dry run)") for r in op["syncResult"]["resources"])
        assert not _exists(client, "apps/v1", "Deployment", "payment-service")
        assert not app.get("operation") and not app["status"].get("history")

        # sync.go WithResourcesFilter: only the listed resource; no hooks, no history
        _request(kubectl, {"sync": {"resources": [{"kind": "Service",
                                                   "name": "payment-service"}]},
                           "initiatedBy": {"username": "bob"}})
        controller.refresh([PROD])
        controller.drain()
        app = _application(client)
        op = app["status"]["operationState"]
        assert op["phase"] == "Succeeded", op
        assert [(r["kind"], r["name"]) for r in op["syncResult"]["resources"]] == \
            [("Service", "payment-service")]
        assert _exists(client, "v1", "Service", "payment-service")
        assert not _exists(client, "apps/v1", "Deployment", "payment-service")
        assert not app.get("operation") and not app["status"].get("history")


def test_an_invalid_request_ends_in_error_and_is_cleared(kube_apiserver, platform_root,
                                                        kubectl, client):
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        controller = _controller(clusters, platform_root)
        _request(kubectl, {"initiatedBy": {"username": "carol"}})  # no sync
        controller.refresh([PROD])
        controller.drain()
    app = _application(client)
    op = app["status"]["operationState"]
    assert (op["phase"], op["message"]) == \
        ("Error", "Invalid operation request: no operation specified")
    assert op["operation"]["initiatedBy"] == {"username": "carol"}
    assert not app.get("operation")


def test_a_manual_sync_is_refused_while_another_process_operation_runs(
        kube_apiserver, platform_root, kubectl, client):
    base = ["--dir", str(platform_root), "--kubeconfig", str(kube_apiserver.kubeconfig)]
    done = run_cli(["gitops", "sync", PROD, "--user", "alice", *base])
    assert done.exit_code == 0, done.output
    # another process (a controller) is in the middle of an operation: it saved Running
    running = {**_application(client)["status"]["operationState"], "phase": "Running",
               "message": "one or more tasks are running", "startedAt": "2026-01-01T00:00:00Z"}
    running.pop("finishedAt")
    client.patch(API, "Application", PROD, {"status": {"operationState": running}},
                 namespace="argocd", subresource="status")

    refused = run_cli(["gitops", "sync", PROD, "--user", "bob", *base])
    assert refused.exit_code == 1
    assert f"cannot sync {PROD}: another operation is already in progress (phase Running, " \
           "started 2026-01-01T00:00:00Z by alice)" in refused.output
    rollback = run_cli(["gitops", "rollback", PROD, "0", "--user", "bob", *base])
    assert rollback.exit_code == 1 and "another operation is already in progress" in \
        rollback.output
    workspace = PlatformWorkspace.open(platform_root)
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:  # the library path, too
        with pytest.raises(SyncRefused, match="another operation is already in progress"):
            workspace.reconciler_for(workspace.app(PROD), clusters).sync(
                workspace.app(PROD), initiated_by="bob")
    assert _application(client)["status"]["operationState"]["phase"] == "Running"

    # the controller carries the operation on (resume); then a manual sync may start
    assert run_cli(["gitops", "reconcile", *base]).exit_code == 0
    op = _application(client)["status"]["operationState"]
    assert (op["phase"], op["operation"]["initiatedBy"]) == ("Succeeded", {"username": "alice"})
    again = run_cli(["gitops", "sync", PROD, "--user", "bob", *base])
    assert again.exit_code == 0, again.output

    # a requested operation the controller has not picked up yet blocks a manual sync too
    _request(kubectl, {"sync": {}, "initiatedBy": {"username": "carol"}})
    blocked = run_cli(["gitops", "sync", PROD, "--user", "bob", *base])
    assert blocked.exit_code == 1
    assert "another operation is already in progress (operation requested)" in blocked.output


def test_terminate_op_ends_an_operation_left_running(kube_apiserver, platform_root, client):
    base = ["--dir", str(platform_root), "--kubeconfig", str(kube_apiserver.kubeconfig)]
    assert run_cli(["gitops", "sync", PROD, "--user", "alice", *base]).exit_code == 0
    nothing = run_cli(["gitops", "terminate-op", PROD, *base])
    assert nothing.exit_code == 1 and "No operation is in progress" in nothing.output
    left = {**_application(client)["status"]["operationState"], "phase": "Running"}
    left.pop("finishedAt")
    client.patch(API, "Application", PROD, {"status": {"operationState": left}},
                 namespace="argocd", subresource="status")
    done = run_cli(["gitops", "terminate-op", PROD, *base])
    assert done.exit_code == 0 and f"{PROD}: operation terminating" in done.stdout
    assert _application(client)["status"]["operationState"]["phase"] == "Terminating"
    assert run_cli(["gitops", "sync", PROD, *base]).exit_code == 1  # still in progress
    assert run_cli(["gitops", "reconcile", *base]).exit_code == 0  # a controller ends it
    status = _application(client)["status"]
    assert (status["operationState"]["phase"], status["operationState"]["message"]) == \
        ("Failed", "Operation terminated")
    assert len(status["history"]) == 1  # alice's sync only


def test_wants_operation():
    assert wants_operation({"operation": {"sync": {}}})
    assert wants_operation({"status": {"operationState": {"phase": "Terminating"}}})
    assert not wants_operation({"status": {"operationState": {"phase": "Running"}}})
    assert not wants_operation({"operation": None, "status": {}})


def test_a_running_controller_starts_a_requested_sync_at_once(kube_apiserver, platform_root,
                                                              kubectl, client):
    """No pass and no webhook in between: the controller's watch on the Applications
    queues the app (Argo CD's informer → appOperationQueue)."""
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        controller = GitOpsController(platform_root, clusters, interval=3600, workers=1,
                                      watch=True)
        worker = threading.Thread(target=controller.run, daemon=True)
        worker.start()
        try:
            deadline = time.monotonic() + 120
            while controller.passes < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert controller.passes == 1
            _request(kubectl, {"sync": {}, "initiatedBy": {"username": "dave"}})
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                app = _application(client)
                op = app["status"].get("operationState") or {}
                if op.get("phase") == "Succeeded" and not app.get("operation"):
                    break
                time.sleep(0.1)
            assert op.get("phase") == "Succeeded", op
            assert op["operation"]["initiatedBy"] == {"username": "dave"}
            assert controller.passes == 1  # not the next (hourly) pass
        finally:
            controller.stop()
            worker.join(timeout=60)
    assert not worker.is_alive()
