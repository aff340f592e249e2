"""End to end: deploy / history / rollback / diff / stuck-release recovery with Helm's SDK
against the embedded API server (server-side apply), in two clusters via kubeconfig contexts.

No controllers run here, so nothing becomes Ready: deploys use ``wait=False`` except where
a wait that cannot succeed is the point (killed and interrupted deploys). Ready waits and
automatic rollback are in ``test_deploy_rollout`` (with the controllers).
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
        chart = root / SERVICE / "helm"
        (chart / "values-qa.yaml").write_text((chart / "values-dev.yaml").read_text())
        (root / "shiplane.yaml").write_text(
            "version: 1\nenvironments:\n"
            f"  dev:\n    cluster: {{kubeconfig: {kubeconfig}, context: one}}\n"
            f"  prod:\n    cluster: {{kubeconfig: {kubeconfig}, context: one}}\n"
            f"  qa:\n    cluster: {{kubeconfig: {kubeconfig}, context: one}}\n"
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


def _start_deploy(root: Path, env: str, tag: str) -> subprocess.Popen:
    """``shiplane deploy`` in a subprocess, waiting on a rollout that never completes here."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    return subprocess.Popen(
        [sys.executable, "-m", "shiplane", "deploy", str(root / SERVICE), "--env", env,
         "--tag", tag, "--timeout", "120", "--output", "json"],
        cwd=root, env={**os.environ, "PYTHONPATH": src},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _wait_pending(process: subprocess.Popen, kubeconfig: Path, namespace: str) -> None:
    deadline = time.monotonic() + 30
    while not _pending(kubeconfig, namespace):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the deploy never reached a pending revision"
        time.sleep(0.2)


def _pending(kubeconfig: Path, namespace: str) -> list[str]:
    with client(kubeconfig, "one") as kube:
        secrets = kube.list("v1", "Secret", namespace, label_selector=f"owner=helm,name={SERVICE}")
    return [s["metadata"]["labels"]["status"] for s in secrets
            if s["metadata"]["labels"]["status"].startswith("pending")]


def test_killed_deploy_then_deploy_recovers(clusters, workspace) -> None:
    root, kubeconfig = clusters
    repo = root / SERVICE
    deploy(repo, "prod", image_tag="p1", wait=False, workspace=workspace)
    killed = _start_deploy(root, "prod", "p2")  # killed mid-wait below
    try:
        _wait_pending(killed, kubeconfig, "prod")
        # While its writer runs, the pending revision is another deploy in progress.
        with pytest.raises(ReleaseBusyError, match="revision 2 is pending-upgrade"):
            deploy(repo, "prod", image_tag="p3", wait=False, workspace=workspace)
    finally:
        if killed.poll() is None:
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


def test_killed_first_install_then_deploy_recovers(clusters, workspace) -> None:
    root, kubeconfig = clusters
    killed = _start_deploy(root, "qa", "q1")
    try:
        _wait_pending(killed, kubeconfig, "qa")
    finally:
        if killed.poll() is None:
            os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    assert _pending(kubeconfig, "qa") == ["pending-install"]
    result = deploy(root / SERVICE, "qa", image_tag="q2", wait=False, workspace=workspace)
    assert "revision 1 was left pending-install" in (result.recovered or "")
    assert (result.revision, result.status) == (2, "deployed")
    history = release_revisions(SERVICE, "qa", workspace=workspace)
    # Helm's upgrade of a release with no deployed revision supersedes the failed one.
    assert [(r.number, r.status) for r in history] == [(1, "superseded"), (2, "deployed")]
    assert "marked failed by shiplane" in history[0].description


def test_interrupted_deploy_cancels_through_helms_context(clusters, workspace) -> None:
    """Ctrl-C (SIGINT) cancels Helm's wait: Helm itself records the revision as failed."""
    root, kubeconfig = clusters
    deploy(root / SERVICE, "prod", image_tag="i1", wait=False, workspace=workspace)
    interrupted = _start_deploy(root, "prod", "i2")
    _wait_pending(interrupted, kubeconfig, "prod")
    time.sleep(0.5)  # into Helm's wait
    interrupted.send_signal(signal.SIGINT)
    assert interrupted.wait(timeout=30) != 0
    assert _pending(kubeconfig, "prod") == []
    history = release_revisions(SERVICE, "prod", workspace=workspace)
    assert history[-1].status == "failed", history[-1]
    result = deploy(root / SERVICE, "prod", image_tag="i3", wait=False, workspace=workspace)
    assert result.recovered is None and result.status == "deployed"
