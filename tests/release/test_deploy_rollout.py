"""End to end with the embedded cluster's controllers and simulated kubelets: Ready waits with
live steps, and automatic rollback of a bad image and of a failing readiness probe."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.config import parse_workspace
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.release import DeployFailedError, JsonLinesSink, deploy, release_revisions
from shiplane.scaffold import init_service
from shiplane.testing.cli import run_cli
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

pytestmark = pytest.mark.slow
SERVICE = "payment-service"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, EmbeddedRegistry,
                                                                       EmbeddedCluster]]:
    root = tmp_path_factory.mktemp("rollout")
    with EmbeddedRegistry(MemoryStorage()) as registry, \
            EmbeddedCluster(nodes=2, time_scale=30) as cluster:
        push_test_image(registry.host, SERVICE, "v1")
        push_test_image(registry.host, SERVICE, "v2", layer_sizes=(8192, 4096))
        init_service(SERVICE, directory=root)
        (root / "shiplane.yaml").write_text(
            "version: 1\nenvironments:\n"
            f"  dev:\n    cluster: {{kubeconfig: {cluster.kubeconfig}}}\n"
            f"  prod:\n    cluster: {{kubeconfig: {cluster.kubeconfig}}}\n")
        yield root, registry, cluster


@pytest.fixture
def workspace(stack, monkeypatch: pytest.MonkeyPatch):
    root = stack[0]
    monkeypatch.chdir(root)
    return parse_workspace((root / "shiplane.yaml").read_text())


def deployment(cluster: EmbeddedCluster, namespace: str) -> dict:
    with cluster.client() as kube:
        return kube.get("apps/v1", "Deployment", SERVICE, namespace)


def test_deploy_waits_for_ready_and_reports_the_guides_steps(stack, workspace) -> None:
    root, registry, cluster = stack
    out = io.StringIO()
    result = deploy(root / SERVICE, "dev", image_ref=f"{registry.host}/{SERVICE}:v1",
                    timeout=60, on_step=JsonLinesSink(out), workspace=workspace)
    assert (result.revision, result.status) == (1, "deployed")
    assert deployment(cluster, "dev")["status"]["readyReplicas"] == 1
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    order = [r["step"] for r in records]
    for step in ("replicaset", "pod", "scheduled", "pulling", "pulled", "started", "ready"):
        assert step in order, (step, order)
    # Steps come in the API's write order, which need not be the kubelet's narrative order.
    assert order.index("helm") < order.index("replicaset") < order.index("pod")
    assert order[-1] == "done" and records[-1]["revision"] == 1
    pulled = next(r for r in records if r["step"] == "pulled")
    assert pulled["image"] == f"{registry.host}/{SERVICE}:v1" and pulled["size_bytes"] > 0

    upgrade = deploy(root / SERVICE, "dev", image_ref=f"{registry.host}/{SERVICE}:v2",
                     timeout=60, workspace=workspace)
    assert upgrade.revision == 2
    steps = [s.step for s in upgrade.steps]
    for step in ("replicaset", "pod", "scheduled", "pulled", "ready", "terminating", "done"):
        assert step in steps, (step, steps)
    new_rs = next(s for s in upgrade.steps if s.step == "replicaset")
    assert new_rs.data["hash"] and new_rs.data["deployment"] == SERVICE
    assert deployment(cluster, "dev")["spec"]["template"]["spec"]["containers"][0]["image"] \
        .endswith(":v2")


def test_bad_image_rolls_back_and_the_old_version_keeps_serving(stack, workspace) -> None:
    root, registry, cluster = stack
    good = deploy(root / SERVICE, "prod", image_ref=f"{registry.host}/{SERVICE}:v1",
                  timeout=60, workspace=workspace)
    with pytest.raises(DeployFailedError) as failure:
        deploy(root / SERVICE, "prod", image_ref=f"{registry.host}/{SERVICE}:missing",
               timeout=5, workspace=workspace)  # prod: rollback on failure by default
    error = failure.value
    assert error.rolled_back_to == good.revision
    reasons = {r for p in error.diagnosis.problems for r in p.reasons}
    assert reasons & {"ErrImagePull", "ImagePullBackOff"}, error.message
    assert "rolled back to revision" in error.message
    history = release_revisions(SERVICE, "prod", workspace=workspace)
    assert [r.status for r in history][-3:] == ["superseded", "failed", "deployed"]
    assert history[-1].description == f"Rollback to {good.revision}"
    live = deployment(cluster, "prod")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1")
    assert live["status"].get("readyReplicas") == live["spec"]["replicas"]


def test_failing_readiness_probe_rolls_back_reported_as_json(stack, workspace) -> None:
    root, registry, _cluster = stack
    result = run_cli([
        "deploy", SERVICE, "--env", "prod", "--image", f"{registry.host}/{SERVICE}:v2",
        "--set-string", "podAnnotations.sim\\.shiplane\\.dev/readiness-fail-for=always",
        "--timeout", "5", "--output", "json",
    ], cwd=root / SERVICE)
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert "probe" in [r["step"] for r in records]
    final = records[-1]
    assert final["step"] == "failed-deploy" and final["rolled_back_to"] is not None
    assert any("Unhealthy" in pod["reasons"] for pod in final["pods"]), final
    assert "Readiness probe failed" in final["message"]
    assert "rolled back to revision" in result.stderr
