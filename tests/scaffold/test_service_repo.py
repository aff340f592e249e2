"""`shiplane init service`: the guide's Model 1 tree, in working form."""

from __future__ import annotations

import os
import signal
import socket
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from dockerfile_parse import DockerfileParser

# Every path of the guide's "Typical Repository Structure" (Model 1).
GUIDE_TREE = [
    "src/main.py", "src/config", "src/modules", "tests/unit", "tests/integration",
    "Dockerfile", ".dockerignore", "helm/Chart.yaml", "helm/values.yaml",
    "helm/values-dev.yaml", "helm/values-staging.yaml", "helm/values-prod.yaml",
    "helm/.helmignore", "helm/templates/_helpers.tpl", "helm/templates/deployment.yaml",
    "helm/templates/service.yaml", "helm/templates/ingress.yaml",
    "helm/templates/serviceaccount.yaml", "helm/templates/hpa.yaml",
    "helm/templates/configmap.yaml", "helm/templates/secret.yaml",
    "helm/templates/poddisruptionbudget.yaml", "helm/templates/networkpolicy.yaml",
    "helm/templates/NOTES.txt", "helm/charts", "scripts/deploy.sh", "README.md",
    ".gitignore", ".github/workflows/ci-cd.yaml",
]


@pytest.mark.parametrize("path", GUIDE_TREE)
def test_guide_tree_is_complete(model1_repo, path):
    assert (model1_repo.path / path).exists(), path


def test_model2_has_the_same_tree(model1_repo, model2_repo):
    assert model1_repo.files == model2_repo.files


def test_git_repo_has_exactly_one_clean_commit_on_main(model1_repo, git):
    repo = model1_repo.path
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(repo, "rev-parse", "HEAD").strip() == model1_repo.commit
    assert git(repo, "status", "--porcelain") == ""
    tracked = set(git(repo, "ls-files").split())
    assert set(model1_repo.files) == tracked
    assert git(repo, "ls-files", "-s", "scripts/deploy.sh").startswith("100755")


def test_chart_says_its_delivery_model(model2_repo):
    chart = yaml.safe_load((model2_repo.path / "helm/Chart.yaml").read_text())
    assert chart["annotations"] == {"shiplane.io/delivery-model": "2"}


def test_chart_metadata_is_the_guides(model1_repo):
    chart = yaml.safe_load((model1_repo.path / "helm/Chart.yaml").read_text())
    assert chart == {"apiVersion": "v2", "name": "payment-service",
                     "description": "Helm chart for Payment Service", "type": "application",
                     "version": "1.2.0", "appVersion": "1.2.0",
                     "annotations": {"shiplane.io/delivery-model": "1"}}
    values = yaml.safe_load((model1_repo.path / "helm/values.yaml").read_text())
    assert values["replicaCount"] == 2
    assert values["image"]["repository"].endswith("/payment-service")
    assert (values["image"]["tag"], values["image"]["pullPolicy"]) == ("latest", "IfNotPresent")
    assert values["service"] == {"type": "ClusterIP", "port": 80}
    assert values["secret"]["enabled"] is False


def test_helm_template_syntax_survives_substitution(model1_repo):
    helpers = (model1_repo.path / "helm/templates/_helpers.tpl").read_text()
    assert '{{- define "payment-service.fullname" -}}' in helpers
    assert "trunc 63" in helpers and "@@" not in helpers
    for name in ("name", "fullname", "chart", "labels", "selectorLabels", "serviceAccountName"):
        assert f'define "payment-service.{name}"' in helpers
    workflow = (model1_repo.path / ".github/workflows/ci-cd.yaml").read_text()
    assert "${{ needs.build.outputs.tag }}" in workflow


def test_dockerfile_is_non_root_with_expose_and_cmd_and_no_healthcheck(model1_repo):
    parser = DockerfileParser(path=str(model1_repo.path / "Dockerfile"))
    instructions = [i["instruction"] for i in parser.structure]
    assert "HEALTHCHECK" not in instructions
    assert "EXPOSE" in instructions and "CMD" in instructions
    user = [i["value"] for i in parser.structure if i["instruction"] == "USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    code = [i for i in parser.structure if i["instruction"] != "COMMENT"]
    assert code[0]["instruction"] == "ARG" and code[0]["value"].startswith("BASE_IMAGE=")
    assert parser.baseimage == "python:3.11-slim"  # the ARG default, resolved
    assert [i["value"] for i in code if i["instruction"] == "FROM"] == ["${BASE_IMAGE}"]
    assert "tests" in (model1_repo.path / ".dockerignore").read_text().split()


def test_generated_tests_pass_inside_the_repo(model1_repo):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=model1_repo.path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_service_serves_health_and_payments_then_stops_on_sigterm(model1_repo):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "APP_ENV": "dev"}
    process = subprocess.Popen([sys.executable, "src/main.py"], cwd=model1_repo.path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                health = httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.05)
        assert health.json() == {"status": "ok", "service": "payment-service"}
        assert httpx.get(base + "/readyz").json() == {"status": "ready", "environment": "dev"}
        created = httpx.post(base + "/payments", json={"amount": 1250, "currency": "EUR"})
        assert created.status_code == 201
        payment = created.json()
        assert (payment["amount"], payment["currency"], payment["status"]) == (
            1250, "EUR", "created")
        fetched = httpx.get(f"{base}/payments/{payment['id']}")
        assert fetched.status_code == 200 and fetched.json() == payment
        assert httpx.post(base + "/payments", json={"amount": -1}).status_code == 422
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_invalid_port_setting_exits_2_with_a_message(model1_repo):
    result = subprocess.run([sys.executable, "src/main.py"], cwd=model1_repo.path,
                            env={**os.environ, "PORT": "http"}, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2 and "PORT must be a number" in result.stderr


def test_deploy_script_refuses_an_unknown_environment(model1_repo):
    result = subprocess.run(["bash", "scripts/deploy.sh", "qa"], cwd=model1_repo.path,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "values-qa.yaml" in result.stderr
    script = (model1_repo.path / "scripts/deploy.sh").read_text()
    assert "upgrade --install" in script and '--set-string "image.tag=$TAG"' in script


@pytest.mark.parametrize("fixture", ["model1_repo", "model2_repo"])
def test_workflow_is_valid_github_actions(fixture, request):
    repo = request.getfixturevalue(fixture)
    workflow = repo.path / ".github/workflows/ci-cd.yaml"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.github-workflows", str(workflow)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _steps(workflow: dict, job: str) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", ""))
                     for step in workflow["jobs"][job]["steps"])


def test_model1_workflow_tests_builds_pushes_and_deploys_each_env(model1_repo):
    workflow = yaml.safe_load((model1_repo.path / ".github/workflows/ci-cd.yaml").read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads `on` as True
    assert list(workflow["jobs"]) == ["test", "build", "deploy-dev", "deploy-staging",
                                      "deploy-prod"]
    assert "pytest tests/unit tests/integration" in _steps(workflow, "test")
    build = _steps(workflow, "build")
    for needle in ("sha-${GITHUB_SHA::7}", "amazon-ecr-login", "shiplane build", "--push"):
        assert needle in build
    for env in ("dev", "staging", "prod"):
        deploy = _steps(workflow, f"deploy-{env}")
        # scripts/deploy.sh is the guide's helm upgrade --install -f helm/values-<env>.yaml
        assert f'scripts/deploy.sh {env} "${{{{ needs.build.outputs.tag }}}}"' in deploy
    assert workflow["jobs"]["deploy-prod"]["needs"] == ["build", "deploy-staging"]
    assert workflow["jobs"]["deploy-prod"]["environment"] == "prod"


def _shiplane_commands(workflow_text: str) -> list[list[str]]:
    """Every `shiplane ...` command line of the workflow's run scripts, split like a shell."""
    workflow = yaml.safe_load(workflow_text)
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            script = str(step.get("run", "")).replace("\\\n", " ")
            for line in script.splitlines():
                words = shlex.split(line.strip())
                if words[:1] == ["shiplane"]:
                    commands.append(words[1:])
    return commands


@pytest.mark.parametrize("fixture", ["model1_repo", "model2_repo"])
def test_workflow_calls_only_commands_and_options_that_exist(fixture, request):
    import typer.main

    from shiplane.cli.app import build_app

    text = (request.getfixturevalue(fixture).path / ".github/workflows/ci-cd.yaml").read_text()
    commands = _shiplane_commands(text)
    assert len(commands) >= 2
    root = typer.main.get_command(build_app())
    for words in commands:
        command, rest = root, list(words)
        while hasattr(command, "commands") and rest and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        assert command is not root, f"shiplane {' '.join(words)}: no such command"
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for word in rest:
            if word.startswith("-"):
                assert word.split("=")[0] in known, f"shiplane {' '.join(words)}: {word}?"


def test_model2_workflow_stops_after_push_and_commits_the_tag(model2_repo):
    workflow = yaml.safe_load((model2_repo.path / ".github/workflows/ci-cd.yaml").read_text())
    assert list(workflow["jobs"]) == ["test", "build", "update-platform"]
    text = (model2_repo.path / ".github/workflows/ci-cd.yaml").read_text()
    assert "shiplane deploy" not in text and "helm upgrade" not in text
    update = _steps(workflow, "update-platform")
    assert "shiplane platform set-image" in update and "--env dev" in update
    assert "git push" in update
