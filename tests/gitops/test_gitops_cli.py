"""The gitops / promote / policy commands end to end on the embedded API server.

No deployment controller runs on main's embedded API server yet (branch
controllers), so a test that needs a Healthy source app writes the Deployment's
status itself, as that controller would.
"""

import pytest

from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient
from shiplane.testing.cli import run_cli


@pytest.fixture(autouse=True)
def _fresh_applications(kube_apiserver):
    """Each test starts without Application objects (the API server is per module)."""
    yield
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        for app in client.list("argoproj.io/v1alpha1", "Application", "argocd"):
            # no Argo CD here to honour resources-finalizer: drop it, then delete
            client.patch("argoproj.io/v1alpha1", "Application", app["metadata"]["name"],
                         {"metadata": {"finalizers": None}}, namespace="argocd")
            client.delete("argoproj.io/v1alpha1", "Application", app["metadata"]["name"],
                          "argocd")


@pytest.fixture
def cli(kube_apiserver, platform_root):
    base = ["--dir", str(platform_root), "--kubeconfig", str(kube_apiserver.kubeconfig)]

    def run(group, command, *args, cluster=True):
        extra = base if cluster else ["--dir", str(platform_root)]
        return run_cli([group, command, *args, *extra])
    return run


def _mark_available(kube_apiserver, namespace):
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        dep = client.get("apps/v1", "Deployment", "payment-service", namespace)
        replicas = dep["spec"].get("replicas", 1)
        client.patch("apps/v1", "Deployment", "payment-service", {"status": {
            "observedGeneration": dep["metadata"]["generation"], "replicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas,
            "readyReplicas": replicas}}, namespace=namespace, subresource="status")


def test_reconcile_status_diff_history_and_rollback_refusal(cli, platform_root, kube_apiserver):
    result = cli("gitops", "reconcile")
    assert result.exit_code == 0, result.output
    # dev and staging are automated; prod waits for someone to press sync
    assert "payment-service-dev: Synced Progressing" in result.stdout
    # the default policy refuses the mutable tag "staging" in staging: nothing applied
    assert "payment-service-staging: OutOfSync Missing (sync Failed: [immutable-tags] " \
           "Deployment/payment-service spec.template.spec.containers[0].image" in result.stdout
    assert "payment-service-prod: OutOfSync Missing" in result.stdout
    status = cli("gitops", "status")
    assert status.exit_code == 0
    assert any(line.split()[:2] == ["payment-service-prod", "OutOfSync"]
               for line in status.stdout.splitlines())
    diff = cli("gitops", "diff", "payment-service-prod")
    assert diff.exit_code == 1 and "Deployment/payment-service" in diff.stdout
    assert "missing in live" in diff.stdout
    assert cli("gitops", "diff", "payment-service-dev").exit_code == 0
    sync = cli("gitops", "sync", "payment-service-prod", "--user", "alice",
               )
    assert sync.exit_code == 0, sync.output
    assert "Succeeded" in sync.stdout
    history = cli("gitops", "history", "payment-service-prod")
    assert "alice" in history.stdout
    # status lives on the Application object, where kubectl (and Argo CD's UI) read it
    import subprocess
    shown = subprocess.run(
        ["kubectl", "--kubeconfig", str(kube_apiserver.kubeconfig), "-n", "argocd", "get",
         "application", "payment-service-prod", "-o",
         "jsonpath={.status.sync.status} {.status.operationState.phase} "
         "{.status.history[0].initiatedBy.username}"], capture_output=True, text=True)
    assert shown.stdout == "Synced Succeeded alice", shown.stderr
    refused = cli("gitops", "rollback", "payment-service-dev", "0")
    assert refused.exit_code == 1 and "automated sync is enabled" in refused.output


def test_policy_violation_blocks_sync(cli, platform_root):
    (platform_root / "policies.yaml").write_text(
        "kind: PlatformPolicy\nenvironments:\n  prod:\n    allowed-registries:\n"
        "      registries: [registry.internal]\n")
    result = cli("gitops", "sync", "payment-service-prod")
    assert result.exit_code == 1
    assert "[allowed-registries] Deployment/payment-service " \
           "spec.template.spec.containers[0].image" in result.stdout


def test_promote_through_gates_on_a_branch_then_approve(cli, platform_root, kube_apiserver):
    from shiplane.scaffold import set_image
    set_image("payment-service", environment="dev", tag="1.4.0", directory=platform_root)
    assert cli("gitops", "reconcile").exit_code == 0
    refused = cli("promote", "payment-service", "--from", "dev", "--to", "prod", "--user",
                  "alice", "--state-dir", str(platform_root.parent / "state"))
    assert "pipeline: no finished pipeline run built 1.4.0" in refused.output
    assert refused.exit_code == 1
    assert "FAIL source-synced: source application is Synced/Progressing" in refused.output
    assert "FAIL pipeline-passed: no pipeline result for tag 1.4.0" in refused.output
    assert "FAIL approval" in refused.output

    namespace = PlatformWorkspace.open(platform_root).app(
        "payment-service-dev").destination.namespace
    _mark_available(kube_apiserver, namespace)
    assert cli("gitops", "reconcile").exit_code == 0
    proposed = cli("promote", "payment-service", "--from", "dev", "--to", "prod", "--pr",
                   "--pipeline-passed", "--user", "alice")
    assert proposed.exit_code == 0, proposed.output
    assert "PASS source-synced: Synced/Healthy at 1.4.0" in proposed.stdout
    assert "on branch promote/payment-service/prod/1.4.0" in proposed.stdout
    listed = cli("promote", "list", cluster=False)
    assert "promote/payment-service/prod/1.4.0" in listed.stdout
    assert cli("promote", "approve", "promote/payment-service/prod/1.4.0", "--user", "alice",
               cluster=False).exit_code == 1
    approved = cli("promote", "approve", "promote/payment-service/prod/1.4.0", "--user", "bob",
                   cluster=False)
    assert approved.exit_code == 0, approved.output
    assert 'tag: "1.4.0"' in (platform_root / "prod/payment-service/values.yaml").read_text()
    audit = cli("promote", "audit", "payment-service")
    row = next(line for line in audit.stdout.splitlines() if " prod " in line)
    assert "1.4.0" in row and "alice" in row and "bob" in row and "dev" in row


def test_policy_check_command(tmp_path):
    from shiplane.scaffold import init_service
    repo = init_service("payment-service", directory=tmp_path, model=2)
    ok = run_cli(["policy", "check", "--env", "dev", "--chart", str(repo.path / "helm")])
    assert ok.exit_code == 0 and "0 error(s)" in ok.stdout
    bad = run_cli(["policy", "check", "--env", "staging", "--chart", str(repo.path / "helm")])
    assert bad.exit_code == 1
    assert "[immutable-tags] Deployment/payment-service spec.template.spec.containers[0].image" \
        in bad.stdout
    assert run_cli(["policy", "check", "--env", "dev"]).exit_code == 2


def test_app_project_refusal_blocks_sync(cli, platform_root):
    path = platform_root / "argocd-apps" / "appproject.yaml"
    path.write_text(path.read_text().replace("  sourceRepos:\n", "  sourceRepos:\n  - '!*service*'\n"))
    result = cli("gitops", "sync", "payment-service-prod")
    assert result.exit_code == 1
    assert "source repo https://github.com/example-org/payment-service.git is not permitted " \
           "in project plat" in result.stdout


def test_controller_loop_picks_up_new_commits_between_passes(kube_apiserver, platform_root):
    from shiplane.gitops.controller import GitOpsController
    from shiplane.scaffold import set_image

    seen = []
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        client = clusters.control
        def report(name, state):
            seen.append((name, state.comparison.status.value))

        controller = GitOpsController(platform_root, clusters, interval=0.05, report=report)
        assert controller.run(passes=1) == 1
        set_image("payment-service", environment="dev", tag="2.0.0", directory=platform_root)
        assert controller.run(passes=2) == 2
        dev_ns = next(a for a in PlatformWorkspace.open(platform_root).apps.values()
                      if a.name == "payment-service-dev").destination.namespace
        image = client.get("apps/v1", "Deployment", "payment-service", dev_ns)[
            "spec"]["template"]["spec"]["containers"][0]["image"]
    assert seen.count(("payment-service-dev", "Synced")) == 2
    assert image.endswith(":2.0.0")
    audit = run_cli(["audit", "payment-service", "--dir", str(platform_root), "--offline"])
    assert audit.exit_code == 0 and "2.0.0" in audit.stdout


def _edit_project(platform_root, **spec):
    import yaml
    path = platform_root / "argocd-apps" / "appproject.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"].update(spec)
    path.write_text(yaml.safe_dump(doc))


def test_sync_windows_and_roles_gate_syncs(cli, platform_root, kube_apiserver):
    # an always-open deny window on dev: automated sync waits, a manual one too ...
    _edit_project(platform_root, syncWindows=[
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h",
         "applications": ["*-dev"]}])
    result = cli("gitops", "reconcile")
    assert "payment-service-dev: OutOfSync " in result.stdout, result.stdout
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        status = client.get("argoproj.io/v1alpha1", "Application", "payment-service-dev",
                            "argocd")["status"]
    assert status["conditions"] == [{"type": "SyncError", "message":
                                     "auto-sync blocked by sync window: deny '* * * * *' "
                                     "for 1h"}]
    refused = cli("gitops", "sync", "payment-service-dev")
    assert refused.exit_code == 1
    assert "cannot sync payment-service-dev: blocked by sync window" in refused.output
    # ... unless the window allows manual syncs
    _edit_project(platform_root, syncWindows=[
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h",
         "applications": ["*-dev"], "manualSync": True}])
    assert cli("gitops", "sync", "payment-service-dev").exit_code == 0

    # roles: only the release team may sync prod (admin may do everything)
    _edit_project(platform_root, syncWindows=[], roles=[
        {"name": "deployer", "groups": ["release-team"],
         "policies": ["p, proj:plat:deployer, applications, sync, plat/*-prod, allow"]}])
    denied = cli("gitops", "sync", "payment-service-prod", "--user", "mallory")
    assert denied.exit_code == 1
    assert "permission denied: mallory may not sync applications plat/payment-service-prod" \
        in denied.output
    allowed = cli("gitops", "sync", "payment-service-prod", "--user", "bob", "--group",
                  "release-team")
    assert allowed.exit_code == 0, allowed.output
    rollback = cli("gitops", "rollback", "payment-service-prod", "0", "--user", "mallory")
    assert rollback.exit_code == 1 and "permission denied" in rollback.output


def test_run_with_leader_election_takes_the_lease_and_syncs(cli, kube_apiserver):
    result = cli("gitops", "run", "--passes", "1", "--leader-elect", "--lease",
                 "argocd/cli-election", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "payment-service-dev: Synced" in result.stdout
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        lease = client.get("coordination.k8s.io/v1", "Lease", "cli-election", "argocd")
    # released on the way out, as client-go's ReleaseOnCancel
    assert lease["spec"]["holderIdentity"] == "" and lease["spec"]["leaseTransitions"] == 0
    bad = cli("gitops", "run", "--passes", "1", "--leader-elect", "--lease", "nope")
    assert bad.exit_code == 2 and "expected NAMESPACE/NAME" in bad.output
