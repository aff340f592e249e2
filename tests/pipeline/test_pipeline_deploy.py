"""test → build → tag → push → deploy: a scaffolded service, built offline, rolled out on the
embedded cluster (controllers + simulated nodes) from shiplane's registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitcli import git
from shiplane.build import Builder, create_base_images
from shiplane.config import parse_workspace
from shiplane.pipeline import MemoryRunStore, PipelineRunner, RunRequest, RunSettings, RunStatus
from shiplane.release import release_revisions

pytestmark = pytest.mark.slow
QUICK_TESTS = ("sh", "-c", "echo 19 passed")


@pytest.fixture(scope="module")
def base_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("deploy-state")
    create_base_images(Builder.at(state), names=("python",))
    return state


def test_a_run_deploys_the_pushed_digest_and_the_deployment_rolls_out(
    service_repo: Path, base_state: Path, tmp_path: Path, embedded_registry, embedded_cluster,
) -> None:
    state = tmp_path / "state"
    shutil.copytree(base_state, state, symlinks=True)
    workspace = parse_workspace(
        "version: 1\nenvironments:\n"
        f"  dev:\n    cluster: {{kubeconfig: {embedded_cluster.kubeconfig}}}\n")
    runner = PipelineRunner(MemoryRunStore(), state_dir=state, workspace=workspace)
    settings = RunSettings(test_command=QUICK_TESTS, registry=embedded_registry.host)

    run = runner.run(RunRequest(source=str(service_repo), service="payment-service", model=1,
                                settings=settings))
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    assert run.release_revision == 1
    assert "@sha256:" in run.image_reference
    deploy_log = run.step("deploy").log
    assert "[ready]" in deploy_log and "[done]" in deploy_log, deploy_log
    with embedded_cluster.client() as kube:
        live = kube.get("apps/v1", "Deployment", "payment-service", "dev")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == run.image_reference
    assert live["status"]["readyReplicas"] == live["spec"]["replicas"]

    # the next commit upgrades the release: revision 2, the new digest live
    (service_repo / "VERSION_NOTE").write_text("v2\n")
    git(service_repo, "add", "VERSION_NOTE")
    git(service_repo, "commit", "-q", "-m", "v2")
    second = runner.run(RunRequest(source=str(service_repo), service="payment-service", model=1,
                                   settings=settings))
    assert second.status is RunStatus.SUCCEEDED, second.to_dict()
    assert second.release_revision == 2
    history = release_revisions("payment-service", "dev", workspace=runner.workspace)
    assert [r.status for r in history] == ["superseded", "deployed"]
    with embedded_cluster.client() as kube:
        live = kube.get("apps/v1", "Deployment", "payment-service", "dev")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == second.image_reference
