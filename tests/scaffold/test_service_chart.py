"""The generated chart through real Helm: lint, render per env, Kubernetes schemas."""

from __future__ import annotations

import kubernetes_validate
import pytest

from shiplane.charts import (
    ValueOverrides,
    environment_overrides,
    lint_chart,
    render_chart,
    render_environment,
)

ENVIRONMENTS = ["dev", "staging", "prod"]
KUBERNETES_VERSION = "1.33.0"


@pytest.fixture(scope="module")
def chart(model1_repo):
    return model1_repo.path / "helm"


@pytest.fixture(scope="module")
def renders(chart):
    return {env: render_environment(chart, env, release_name="payment-service")
            for env in ENVIRONMENTS}


def container(rendered):
    return rendered.find("Deployment")["spec"]["template"]["spec"]["containers"][0]


def test_lint_has_zero_errors_and_zero_warnings_strict(chart):
    report = lint_chart(chart, strict=True)
    assert report.errors == () and report.warnings == ()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lint_per_environment(chart, env):
    report = lint_chart(chart, environment_overrides(chart, env), strict=True)
    assert report.ok, report.errors


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_document_matches_the_kubernetes_schemas(renders, env):
    rendered = renders[env]
    assert rendered.manifests
    for manifest in rendered.manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_schema_validation_is_not_vacuous(renders):
    broken = {**renders["prod"].find("Deployment")}
    broken["spec"] = {**broken["spec"], "replicas": "4"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_prod_is_the_guides(renders):
    prod = renders["prod"]
    deployment = prod.find("Deployment")
    assert deployment["spec"]["replicas"] == 4
    assert container(prod)["image"].endswith("/payment-service:1.2.0")
    assert container(prod)["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert deployment["metadata"]["name"] == "payment-service"  # release contains chart name
    assert prod.find("Ingress")["spec"]["rules"][0]["host"] == "payment-service.example.com"
    assert prod.find("PodDisruptionBudget")["spec"]["minAvailable"] == 3


def test_dev_is_the_guides(renders):
    dev = renders["dev"]
    assert dev.find("Deployment")["spec"]["replicas"] == 1
    assert container(dev)["image"].endswith("/payment-service:dev")
    assert container(dev)["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert "PodDisruptionBudget" not in dev.kinds()  # one replica cannot keep minAvailable 1


def test_staging_autoscales_so_replicas_are_left_to_the_hpa(renders):
    staging = renders["staging"]
    assert "replicas" not in staging.find("Deployment")["spec"]
    hpa = staging.find("HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)


def test_deployment_follows_the_guide_and_helm_create(renders):
    prod = renders["prod"]
    spec = prod.find("Deployment")["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    main = container(prod)
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    labels = spec["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "payment-service"
    assert labels["helm.sh/chart"] == "payment-service-1.2.0"
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "payment-service",
                                               "app.kubernetes.io/instance": "payment-service"}
    assert prod.find("Service")["spec"]["ports"][0]["targetPort"] == "http"
    assert prod.find("NetworkPolicy")["spec"]["podSelector"] == spec["selector"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pre_stop_sleep_lets_endpoints_propagate_before_sigterm(renders, env):
    assert container(renders[env])["lifecycle"] == {"preStop": {"sleep": {"seconds": 1}}}


def test_pre_stop_sleep_is_a_value(chart):
    rendered = render_chart(chart, ValueOverrides(set=("lifecycle.preStop.sleep.seconds=5",)),
                            release_name="payment-service")
    assert container(rendered)["lifecycle"]["preStop"]["sleep"]["seconds"] == 5
    kubernetes_validate.validate(rendered.find("Deployment"), KUBERNETES_VERSION, strict=True)


def test_config_change_changes_the_pod_template_checksum(chart):
    def checksum(overrides):
        rendered = render_chart(chart, overrides, release_name="payment-service")
        return rendered.find("Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"]

    base = checksum(ValueOverrides())
    assert checksum(ValueOverrides(set=("config.LOG_LEVEL=DEBUG",))) != base
    assert checksum(ValueOverrides(set=("replicaCount=7",))) == base


def test_secret_is_off_by_default_and_wired_when_enabled(chart, renders):
    assert "Secret" not in renders["prod"].kinds()
    rendered = render_chart(chart, ValueOverrides(set=("secret.enabled=true",),
                                                  set_string=("secret.data.API_KEY=123",)),
                            release_name="payment-service")
    assert rendered.find("Secret")["stringData"] == {"API_KEY": "123"}
    env_from = container(rendered)["envFrom"]
    assert {"secretRef": {"name": "payment-service"}} in env_from
    assert "checksum/secret" in rendered.find("Deployment")["spec"]["template"]["metadata"][
        "annotations"]
    for manifest in rendered.manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_fullname_follows_helm_create_and_truncates_to_63(chart):
    other = render_chart(chart, release_name="blue")
    assert other.find("Deployment")["metadata"]["name"] == "blue-payment-service"
    long_release = "r" * 50
    name = render_chart(chart, release_name=long_release).find("Service")["metadata"]["name"]
    assert len(name) == 63 and name == f"{long_release}-payment-service"[:63]


def test_all_digit_sha_tag_reaches_the_image_as_a_string(chart):
    rendered = render_chart(
        chart, environment_overrides(chart, "prod", ValueOverrides(
            set_string=("image.tag=0123456",))), release_name="payment-service")
    assert container(rendered)["image"].endswith(":0123456")
    assert rendered.values["image"]["tag"] == "0123456"
