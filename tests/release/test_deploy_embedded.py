"""End to end: deploy / history / rollback / diff / stuck-release recovery with Helm's SDK
against the embedded API server (server-side apply), in two clusters via kubeconfig contexts.

No controllers run here, so nothing becomes Ready: deploys use ``wait=False`` except where
a wait that cannot succeed is the point (the killed deploy, the failed wait + rollback).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shiplane.charts import ClusterAccess, release_history
from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.config import parse_workspace
from shiplane.kube import KubeClient
from shiplane.release import (
    DeployFailedError,
    ReleaseBusyError,
    deploy,
    release_diff,
    release_revisions,
    rollback,
)
from shiplane.scaffold import init_service

pytestmark = pytest.mark.slow
SERVICE = "payment-service"


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Two embedded API servers; one kubeconfig with a context for each; a service repo."""
    root = tmp_path_factory.mktemp("release")
    with ApiServerRunner(name="one") as one, ApiServerRunner(name="two") as two:
        docs = [yaml.safe_load(s.write_kubeconfig(root / f"{s.name}.kubeconfig").read_text())
                for s in (one, two)]
        merged = {"apiVersion": "v1", "kind": "Config", "current-context": "one",
                  "clusters": [c for d in docs for c in d["clusters"]],
                  "users": [u for d in docs for u in d["users"]],
                  "contexts": [c for d in docs for c in d["contexts"]]}
        kubeconfig = root / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(merged))
        init_service(SERVICE, directory=root)
        (root / "shiplane.yaml").write_text(
            "version: 1\nenvironments:\n"
            f"  dev:\n    cluster: {{kubeconfig: {kubeconfig}, context: one}}\n"
            f"  prod:\n    cluster: {{kubeconfig: {kubeconfig}, context: one}}\n"
            f"  staging:\n    cluster: {{kubeconfig: {kubeconfig}, context: two}}\n"
        )
        yield root, kubeconfig


@pytest.fixture
def workspace(clusters: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch):
    root, _ = clusters
    monkeypatch.chdir(root)
    return parse_workspace((root / "shiplane.yaml").read_text())


def client(kubeconfig: Path, context: str) -> KubeClient:
    return KubeClient.from_kubeconfig(kubeconfig, context)


def image_of(kubeconfig: Path, context: str, namespace: str) -> str:
    with client(kubeconfig, context) as kube:
        deployment = kube.get("apps/v1", "Deployment", SERVICE, namespace)
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_install_upgrade_history_rollback(clusters, workspace) -> None:
    root, kubeconfig = clusters
    repo = root / SERVICE
    first = deploy(repo, "dev", image_tag="0123456", wait=False, workspace=workspace)
    assert (first.installed, first.revision, first.status) == (True, 1, "deployed")
    assert [s.step for s in first.steps][:2] == ["namespace", "helm"]
    # An all-digit short SHA stays a string: the image is repo:0123456, not repo:123456.
    assert image_of(kubeconfig, "one", "dev").endswith(f"/{SERVICE}:0123456")

    second = deploy(repo, "dev", image_tag="v2", set=["replicaCount=3"], wait=False,
                    workspace=workspace)
    assert (second.installed, second.revision) == (False, 2)
    with client(kubeconfig, "one") as kube:
        deployment = kube.get("apps/v1", "Deployment", SERVICE, "dev")
    assert deployment["spec"]["replicas"] == 3  # --set beats values-dev.yaml's replicaCount: 1

    history = release_revisions(SERVICE, "dev", workspace=workspace)
    assert [(r.number, r.status) for r in history] == [(1, "superseded"), (2, "deployed")]
    # Helm's own history (SDK) reads the same release.
    helm_view = release_history(ClusterAccess(kubeconfig, "dev", "one"), SERVICE)
    assert [(h["revision"], h["status"]) for h in helm_view] == [(1, "superseded"),
                                                                 (2, "deployed")]

    new = rollback(SERVICE, "dev", wait=False, workspace=workspace)
    assert (new.number, new.status) == (3, "deployed")
    assert "Rollback to 1" in new.description
    assert image_of(kubeconfig, "one", "dev").endswith(":0123456")
    statuses = [(r.number, r.status) for r in release_revisions(SERVICE, "dev",
                                                                 workspace=workspace)]
    assert statuses == [(1, "superseded"), (2, "superseded"), (3, "deployed")]


def test_diff_against_live_objects(clusters, workspace) -> None:
    root, _ = clusters
    repo = root / SERVICE
    deploy(repo, "dev", image_tag="d1", wait=False, workspace=workspace)
    # Same values: the live objects (with server defaults and status) are not a change.
    assert release_diff(repo, "dev", image_tag="d1", workspace=workspace) == []
    changes = release_diff(repo, "dev", image_tag="d2", workspace=workspace)
    assert [(c.key, c.change) for c in changes] == [
        (f"Deployment/dev/{SERVICE}", "modify")
    ]
    assert f"-        image: 123456789012.dkr.ecr.ap-south-1.amazonaws.com/{SERVICE}:d1" \
        in changes[0].diff
    assert f"+        image: 123456789012.dkr.ecr.ap-south-1.amazonaws.com/{SERVICE}:d2" \
        in changes[0].diff


def test_second_cluster_via_another_context(clusters, workspace) -> None:
    root, kubeconfig = clusters
    result = deploy(root / SERVICE, "staging", image_tag="s1", wait=False, workspace=workspace)
    assert (result.namespace, result.revision) == ("staging", 1)
    assert image_of(kubeconfig, "two", "staging").endswith(":s1")
    with client(kubeconfig, "one") as kube:
        assert kube.list("v1", "Secret", "staging", label_selector="owner=helm") == []


def _pending(kubeconfig: Path, namespace: str) -> list[str]:
    with client(kubeconfig, "one") as kube:
        secrets = kube.list("v1", "Secret", namespace, label_selector=f"owner=helm,name={SERVICE}")
    return [s["metadata"]["labels"]["status"] for s in secrets
            if s["metadata"]["labels"]["status"].startswith("pending")]


def test_killed_deploy_then_deploy_recovers(clusters, workspace) -> None:
    root, kubeconfig = clusters
    repo = root / SERVICE
    deploy(repo, "prod", image_tag="p1", wait=False, workspace=workspace)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    # This deploy waits for a rollout that never completes here; it is killed mid-wait.
    killed = subprocess.Popen(
        [sys.executable, "-m", "shiplane", "deploy", str(repo), "--env", "prod",
         "--tag", "p2", "--timeout", "120", "--output", "json"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not _pending(kubeconfig, "prod"):
            assert killed.poll() is None, killed.stderr.read().decode()
            assert time.monotonic() < deadline, "the deploy never started upgrading"
            time.sleep(0.2)
        # While its writer runs, the pending revision is another deploy in progress.
        with pytest.raises(ReleaseBusyError, match="revision 2 is pending-upgrade"):
            deploy(repo, "prod", image_tag="p3", wait=False, workspace=workspace)
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    assert _pending(kubeconfig, "prod") == ["pending-upgrade"]  # left behind by the kill

    result = deploy(repo, "prod", image_tag="p3", wait=False, workspace=workspace)
    assert result.recovered is not None
    assert "revision 2 was left pending-upgrade" in result.recovered
    assert "no longer runs" in result.recovered
    assert result.revision == 3 and result.status == "deployed"
    history = release_revisions(SERVICE, "prod", workspace=workspace)
    assert [(r.number, r.status) for r in history] == [
        (1, "superseded"), (2, "failed"), (3, "deployed")]
    assert "marked failed by shiplane" in history[1].description
    assert image_of(kubeconfig, "one", "prod").endswith(":p3")


def test_failed_wait_rolls_back_to_the_last_deployed_revision(clusters, workspace) -> None:
    root, kubeconfig = clusters
    repo = root / SERVICE
    namespace = "prod"
    before = release_revisions(SERVICE, namespace, workspace=workspace)
    if not before:
        deploy(repo, "prod", image_tag="p3", wait=False, workspace=workspace)
        before = release_revisions(SERVICE, namespace, workspace=workspace)
    good = [r for r in before if r.status == "deployed"][-1].number
    with pytest.raises(DeployFailedError) as failure:
        # prod: rollback_on_failure defaults on. Nothing becomes Ready without controllers.
        deploy(repo, "prod", image_tag="never-ready", timeout=2, workspace=workspace)
    assert failure.value.rolled_back_to == good
    assert f"rolled back to revision {good}" in failure.value.message
    history = release_revisions(SERVICE, namespace, workspace=workspace)
    failed_upgrade, rolled_back = history[-2], history[-1]
    assert failed_upgrade.status == "failed"
    assert "not ready" in failed_upgrade.description
    assert rolled_back.number == failed_upgrade.number + 1
    # The previous manifest is applied again (the rollback is a new Helm revision)...
    assert image_of(kubeconfig, "one", namespace).endswith(":p3")
    # ...but without controllers its pods never become Ready either, and that is reported.
    assert "the rollback did not become ready either" in failure.value.message
    assert "no failing pod found (the wait timed out)" in failure.value.message
