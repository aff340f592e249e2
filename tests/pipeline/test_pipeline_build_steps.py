"""build → tag → push (and Model 2's bump) with the real builder and shiplane's registry."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from gitcli import git
from shiplane.build import Builder, create_base_images
from shiplane.pipeline import (
    MemoryRunStore,
    PipelineRunner,
    RunRequest,
    RunSettings,
    RunStatus,
    StepStatus,
)
from shiplane.scaffold import init_platform, init_service

QUICK_TESTS = ("sh", "-c", "echo 19 passed")


@pytest.fixture
def registry(embedded_registry) -> str:
    """``127.0.0.1:<port>`` of shiplane's own OCI registry (open, in memory)."""
    return embedded_registry.host


@pytest.fixture(scope="module")
def base_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A builder state with the offline python base image (``python:3.11-slim``)."""
    state = tmp_path_factory.mktemp("base-state")
    create_base_images(Builder.at(state), names=("python",))
    return state


@pytest.fixture
def state(base_state: Path, tmp_path: Path) -> Path:
    target = tmp_path / "state"
    shutil.copytree(base_state, target, symlinks=True)
    return target


def _inspect(reference: str) -> dict:
    proc = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{reference}"],
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(proc.stdout)


def _run(repo: Path, state: Path, **changes) -> object:
    runner = PipelineRunner(MemoryRunStore(), state_dir=state)
    settings = changes.pop("settings", RunSettings(test_command=QUICK_TESTS))
    return runner.run(RunRequest(source=str(repo), service=repo.name, model=changes.pop("model", 1),
                                 settings=settings, **changes))


def test_model1_builds_tags_and_pushes_the_commit(service_repo, state, registry):
    before = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    run = _run(service_repo, state, until="push",
               settings=RunSettings(test_command=QUICK_TESTS, registry=registry))
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    sha7 = git(service_repo, "rev-parse", "--short=7", "HEAD")
    semver, sha_tag, build_tag, stamp = run.image_tags
    assert (semver, sha_tag, build_tag) == ("1.2.0", f"sha-{sha7}", f"build-{run.id}")
    assert stamp >= before
    assert run.image_reference == f"{registry}/payment-service:sha-{sha7}@{run.image_digest}"
    pushed = _inspect(f"{registry}/payment-service:sha-{sha7}")
    assert pushed["Digest"] == run.image_digest
    assert set(run.image_tags) <= set(pushed["RepoTags"])
    assert pushed["Labels"]["org.opencontainers.image.revision"] == \
        git(service_repo, "rev-parse", "HEAD")
    assert run.step("build").summary.startswith(run.image_digest[:19])
    assert "COPY src/ /app/src/" in run.step("build").log
    assert run.step("deploy").status is StepStatus.SKIPPED


def test_a_broken_dockerfile_stops_the_run_at_build(service_repo, state):
    dockerfile = service_repo / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY src/ /app/src/",
                                                         "COPY no-such-dir/ /app/src/"))
    run = _run(service_repo, state)
    assert run.status is RunStatus.FAILED
    build = run.step("build")
    assert build.status is StepStatus.FAILED and "no-such-dir" in build.summary
    assert [run.step(n).status for n in ("tag", "push", "deploy")] == [StepStatus.SKIPPED] * 3
    assert run.image_digest is None


def test_the_embedded_registry_needs_an_address(service_repo, state):
    run = _run(service_repo, state, until="push")
    push = run.step("push")
    assert push.status is StepStatus.FAILED
    assert "pushes to the embedded registry" in push.summary and "--registry" in push.log
    assert run.step("tag").status is StepStatus.SUCCEEDED  # tagged locally all the same


def test_model2_pushes_and_bumps_the_platform_repo(tmp_path, state, registry):
    repo = init_service("payment-service", directory=tmp_path, model=2).path
    platform = init_platform("k8s-platform-config", environments=["dev", "staging", "prod"],
                             services=["payment-service"], directory=tmp_path).path
    run = _run(repo, state, model=2,
               settings=RunSettings(test_command=QUICK_TESTS, registry=registry,
                                    platform_repo=platform))
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    sha7 = git(repo, "rev-parse", "--short=7", "HEAD")
    values = yaml.safe_load((platform / "dev/payment-service/values.yaml").read_text())
    assert values["image"]["repository"] == f"{registry}/payment-service"
    assert values["image"]["tag"] == f"sha-{sha7}"
    assert _inspect(f"{registry}/payment-service:sha-{sha7}")["Digest"] == run.image_digest
    assert git(platform, "log", "-1", "--format=%s").startswith(
        f"payment-service: dev -> sha-{sha7} (pipeline run {run.id}")


def test_git_push_runs_test_build_tag_push(service_repo, state, registry):
    from shiplane.pipeline import PipelineServer, Trigger

    settings = RunSettings(test_command=QUICK_TESTS, registry=registry)
    with PipelineServer(state, store=MemoryRunStore(), until="push", settings=settings) as ci:
        git(service_repo, "push", "-q", ci.clone_url("payment-service"), "main")
        assert ci.wait_idle(120)
        [run] = ci.store.list()
    head = git(service_repo, "rev-parse", "HEAD")
    assert (run.trigger, run.commit, run.status) == (Trigger.PUSH, head, RunStatus.SUCCEEDED)
    assert [s.status for s in run.steps] == [StepStatus.SUCCEEDED] * 5 + [StepStatus.SKIPPED]
    pushed = _inspect(f"{registry}/payment-service:sha-{head[:7]}")
    assert pushed["Digest"] == run.image_digest
    assert pushed["Labels"]["org.opencontainers.image.revision"] == head
