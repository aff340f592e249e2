"""Model 2's bump step against a real platform repository."""

from __future__ import annotations

import pytest
import yaml

from gitcli import git
from shiplane.config import Environment
from shiplane.pipeline import (
    RunRecord,
    RunSettings,
    StepContext,
    StepFailed,
    StepLog,
    Trigger,
    bump_step,
    deploy_tag,
    image_repository,
)
from shiplane.scaffold import init_platform

DIGEST = "sha256:" + "c" * 64


@pytest.mark.parametrize("reference,repository", [
    (f"127.0.0.1:5000/payment-service:sha-1a2b3c4@{DIGEST}", "127.0.0.1:5000/payment-service"),
    ("registry.example.com/team/api:1.2.0", "registry.example.com/team/api"),
    (f"localhost:5000/api@{DIGEST}", "localhost:5000/api"),
    ("api", "api"),
])
def test_image_repository(reference, repository):
    assert image_repository(reference) == repository


def test_deploy_tag_prefers_the_commit_tag():
    assert deploy_tag(["1.2.0", "sha-1a2b3c4", "build-7"]) == "sha-1a2b3c4"
    assert deploy_tag(["1.2.0", "sha-1a2b3c4-dirty"]) == "1.2.0"
    assert deploy_tag([]) is None


def _context(tmp_path, platform, **run_fields) -> StepContext:
    run = RunRecord(service="payment-service", env="dev", model=2, trigger=Trigger.PUSH,
                    source="x", commit="1a2b3c4d" + "0" * 32, id=12, **run_fields)
    return StepContext(run=run, workdir=tmp_path, state_dir=tmp_path, environment=Environment(),
                       settings=RunSettings(platform_repo=platform), log=StepLog())


@pytest.fixture
def platform(tmp_path):
    return init_platform("k8s-platform-config", environments=["dev", "staging", "prod"],
                         services=["payment-service"], directory=tmp_path).path


def test_bump_commits_the_pushed_tag_to_the_platform_repo(tmp_path, platform):
    context = _context(tmp_path, platform,
                       image_reference=f"127.0.0.1:5000/payment-service:0012@{DIGEST}",
                       image_tags=["1.2.0", "sha-0012345", "build-12"])
    outputs = bump_step(context)
    values = yaml.safe_load((platform / "dev/payment-service/values.yaml").read_text())
    assert values["image"] == {**values["image"], "repository": "127.0.0.1:5000/payment-service",
                               "tag": "sha-0012345"}
    assert git(platform, "log", "-1", "--format=%s") == \
        "payment-service: dev -> sha-0012345 (pipeline run 12, commit 1a2b3c4)"
    assert outputs.summary.startswith("platform commit ") and outputs.summary.endswith(
        "dev -> sha-0012345")
    assert git(platform, "status", "--porcelain") == ""


def test_bump_needs_a_platform_repo_and_a_pushed_image(tmp_path, platform):
    with pytest.raises(StepFailed, match="needs the platform repo"):
        bump_step(_context(tmp_path, None, image_reference="r/x:1", image_tags=["1"]))
    with pytest.raises(StepFailed, match="no image was pushed"):
        bump_step(_context(tmp_path, platform))
    lone = _context(tmp_path, platform, image_reference="r/x:1", image_tags=["1"])
    lone.run.service = "orders"
    with pytest.raises(StepFailed, match="platform set-image failed: orders is not deployed"):
        bump_step(lone)
