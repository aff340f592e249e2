"""`shiplane init platform` and `shiplane platform add-service / set-image`."""

from __future__ import annotations

import shutil

import pytest
import yaml

from shiplane.charts import ValueOverrides, environment_overrides, render_chart
from shiplane.scaffold import (
    NotAPlatformRepoError,
    ServiceExistsError,
    UnknownEnvironmentError,
    add_service,
    application_problems,
    init_platform,
    set_image,
)

ENVIRONMENTS = ["dev", "staging", "prod"]


def applications(repo, service):
    return list(yaml.safe_load_all((repo / "argocd-apps" / f"{service}.yaml").read_text()))


def test_tree_per_service_and_environment(platform_repo, git):
    root = platform_repo.path
    for env in ENVIRONMENTS:
        values = yaml.safe_load((root / env / "payment-service" / "values.yaml").read_text())
        assert values["image"]["repository"].endswith("/payment-service")
    assert (root / "argocd-apps" / "payment-service.yaml").is_file()
    assert (root / "argocd-apps" / "appproject.yaml").is_file()
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(root, "status", "--porcelain") == ""


def test_environment_values_are_the_guides(platform_repo):
    prod = yaml.safe_load((platform_repo.path / "prod/payment-service/values.yaml").read_text())
    assert prod["replicaCount"] == 4 and prod["image"]["tag"] == "1.2.0"
    assert prod["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    dev = yaml.safe_load((platform_repo.path / "dev/payment-service/values.yaml").read_text())
    assert dev["replicaCount"] == 1 and dev["image"]["tag"] == "dev"


def test_one_valid_application_per_environment(platform_repo):
    apps = applications(platform_repo.path, "payment-service")
    assert [a["metadata"]["name"] for a in apps] == [f"payment-service-{e}" for e in ENVIRONMENTS]
    for app, env in zip(apps, ENVIRONMENTS, strict=True):
        assert application_problems(app) == []
        assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
        spec = app["spec"]
        assert spec["project"] == "k8s-platform-config"
        chart_source, values_source = spec["sources"]
        assert chart_source["path"] == "helm"
        assert chart_source["repoURL"].endswith("/payment-service.git")
        value_files = chart_source["helm"]["valueFiles"]
        assert value_files == [f"values-{env}.yaml", f"$values/{env}/payment-service/values.yaml"]
        assert values_source["ref"] == "values"
        assert values_source["repoURL"].endswith("/k8s-platform-config.git")
        assert spec["destination"] == {"server": "https://kubernetes.default.svc",
                                       "namespace": env}
    dev, staging, prod = (a["spec"]["syncPolicy"] for a in apps)
    assert dev["automated"] == {"prune": True, "selfHeal": True}
    assert staging["automated"] == {"prune": True, "selfHeal": True}
    assert "automated" not in prod  # manual sync in production


def test_structural_check_catches_missing_fields(platform_repo):
    app = applications(platform_repo.path, "payment-service")[0]
    broken = {**app, "spec": {**app["spec"], "project": ""}}
    broken["spec"]["destination"] = {"server": "x", "name": "y"}
    broken["spec"]["sources"] = [app["spec"]["sources"][0]]  # $values without its ref
    problems = application_problems(broken)
    assert any("project" in p for p in problems)
    assert any("exactly one of server and name" in p for p in problems)
    assert any("namespace" in p for p in problems)
    assert any("ref values" in p for p in problems)


def test_app_project_restricts_repos_and_destinations(platform_repo):
    project = yaml.safe_load((platform_repo.path / "argocd-apps/appproject.yaml").read_text())
    assert project["kind"] == "AppProject" and project["metadata"]["name"] == "k8s-platform-config"
    assert sorted(project["spec"]["sourceRepos"]) == sorted([
        "https://github.com/example-org/k8s-platform-config.git",
        "https://github.com/example-org/payment-service.git"])
    assert [d["namespace"] for d in project["spec"]["destinations"]] == ENVIRONMENTS
    assert "*" not in project["spec"]["sourceRepos"]


def test_service_chart_with_platform_values_renders_as_argo_would(model1_repo, platform_repo):
    """Argo CD's value files: chart values-<env>.yaml, then $values/<env>/<svc>/values.yaml."""
    chart = model1_repo.path / "helm"
    platform_values = platform_repo.path / "prod/payment-service/values.yaml"
    rendered = render_chart(chart, environment_overrides(
        chart, "prod", ValueOverrides(values_files=(platform_values,))),
        release_name="payment-service", namespace="prod")
    assert rendered.find("Deployment")["spec"]["replicas"] == 4


@pytest.fixture
def fresh_platform(platform_repo, tmp_path):
    copy = tmp_path / "platform"
    shutil.copytree(platform_repo.path, copy)
    return copy


def test_add_service_adds_every_environment_in_one_commit(fresh_platform, git):
    root, commit = add_service("orders-service", directory=fresh_platform / "dev")
    assert root == fresh_platform.resolve()
    assert git(root, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(root, "rev-parse", "HEAD").strip() == commit
    assert git(root, "status", "--porcelain") == ""
    changed = set(git(root, "show", "--name-only", "--format=", "HEAD").split())
    assert changed == {f"{env}/orders-service/values.yaml" for env in ENVIRONMENTS} | {
        "argocd-apps/orders-service.yaml", "argocd-apps/appproject.yaml",
        "shiplane-platform.yaml"}
    apps = applications(root, "orders-service")
    assert len(apps) == 3 and all(application_problems(a) == [] for a in apps)
    project = yaml.safe_load((root / "argocd-apps/appproject.yaml").read_text())
    assert "https://github.com/example-org/orders-service.git" in project["spec"]["sourceRepos"]


def test_add_service_twice_is_refused_and_changes_nothing(fresh_platform, git):
    with pytest.raises(ServiceExistsError, match="payment-service"):
        add_service("payment-service", directory=fresh_platform)
    assert git(fresh_platform, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(fresh_platform, "status", "--porcelain") == ""


def test_platform_commands_outside_a_platform_repo(tmp_path):
    with pytest.raises(NotAPlatformRepoError, match="shiplane-platform.yaml"):
        add_service("orders-service", directory=tmp_path)


def test_set_image_keeps_an_all_digit_sha_a_string_and_keeps_comments(fresh_platform, git):
    root, _ = set_image("payment-service", environment="staging", tag="1234567",
                        directory=fresh_platform)
    text = (root / "staging/payment-service/values.yaml").read_text()
    assert text.startswith("# payment-service in staging")
    assert yaml.safe_load(text)["image"]["tag"] == "1234567"
    assert git(root, "log", "-1", "--format=%s").strip() == "payment-service: staging -> 1234567"
    with pytest.raises(UnknownEnvironmentError):
        set_image("payment-service", environment="qa", tag="1", directory=fresh_platform)


def test_init_platform_without_services_keeps_env_folders(tmp_path, git):
    written = init_platform("platform", environments=["dev", "prod"], directory=tmp_path)
    assert (written.path / "dev/.gitkeep").exists() and (written.path / "prod/.gitkeep").exists()
    assert not (written.path / "staging").exists()
    assert git(written.path, "rev-list", "--count", "HEAD").strip() == "1"
