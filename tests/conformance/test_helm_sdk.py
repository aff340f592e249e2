"""Helm 4's own SDK (helm_python) against the embedded cluster over TLS: install through
server-side apply with fieldValidation=Strict, upgrade, history, rollback, uninstall, and
the release Secrets Helm stores (protobuf bodies)."""

import json
import subprocess

import pytest

helm_python = pytest.importorskip("helm_python")

pytestmark = pytest.mark.slow

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: payment-service\nversion: 0.1.0\nappVersion: \"1.0.0\"\n",
    "values.yaml": "replicaCount: 2\nimage:\n  repository: registry.local/payment-service\n  tag: \"1.0.0\"\n",
    "templates/all.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels: {app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  selector: {app.kubernetes.io/instance: {{ .Release.Name }}}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app.kubernetes.io/instance: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        ports:
        - {name: http, containerPort: 8080}
""",
}


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    root = tmp_path_factory.mktemp("chart") / "payment-service"
    for name, text in CHART.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_install_upgrade_rollback_uninstall(cluster, kubectl, chart):
    server, root = cluster
    helm = helm_python.Config(kubeconfig_path=str(root / "admin.kubeconfig"), namespace="default")
    installed = helm.install(str(chart), "pay", {"replicaCount": 2}, wait="hookOnly", timeout=60)
    assert installed["status"] == "deployed" and installed["revision"] == 1
    deploy = json.loads(kubectl("get", "deploy", "pay", "-o", "json", "--show-managed-fields").stdout)
    assert deploy["spec"]["replicas"] == 2
    appliers = {(m["manager"], m["operation"]) for m in deploy["metadata"]["managedFields"]}
    assert any(op == "Apply" for _, op in appliers), appliers
    helm.upgrade(str(chart), "pay", {"replicaCount": 3, "image": {"tag": "1.1.0"}}, wait="hookOnly", timeout=60)
    assert kubectl("get", "deploy", "pay", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    history = helm.history("pay")
    assert [(r["revision"], r["status"]) for r in history] == [(1, "superseded"), (2, "deployed")]
    helm.rollback("pay", version=1, wait="hookOnly", timeout=60)
    history = helm.history("pay")
    assert [(r["revision"], r["status"]) for r in history] == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert kubectl("get", "deploy", "pay", "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout \
        == "registry.local/payment-service:1.0.0"
    secrets = json.loads(kubectl("get", "secrets", "-l", "owner=helm,name=pay", "-o", "json").stdout)["items"]
    assert sorted(s["metadata"]["name"] for s in secrets) == [
        "sh.helm.release.v1.pay.v1", "sh.helm.release.v1.pay.v2", "sh.helm.release.v1.pay.v3"]
    assert all(s["type"] == "helm.sh/release.v1" for s in secrets)
    assert {s["metadata"]["labels"]["status"] for s in secrets} == {"superseded", "deployed"}
    helm.uninstall("pay")
    assert kubectl("get", "deploy", "pay", check=False).returncode != 0
    assert json.loads(kubectl("get", "secrets", "-l", "owner=helm,name=pay", "-o", "json").stdout)["items"] == []


def test_scaffolded_payment_service_chart(cluster, kubectl, tmp_path):
    """The chart `shiplane init` generates installs and upgrades through Helm's SDK."""
    from shiplane.scaffold import init_service

    repo = init_service("payment-service", directory=tmp_path).path
    server, root = cluster
    kubectl("create", "namespace", "payments")
    helm = helm_python.Config(kubeconfig_path=str(root / "admin.kubeconfig"), namespace="payments")
    installed = helm.install(str(repo / "helm"), "payment-service", None, namespace="payments",
                             wait="hookOnly", timeout=60)
    assert installed["status"] == "deployed"
    kinds = {line.split("/")[0] for line in kubectl(
        "get", "all,configmaps,serviceaccounts", "-n", "payments", "-o", "name").stdout.split()}
    assert {"deployment.apps", "service"} <= kinds
    helm.upgrade(str(repo / "helm"), "payment-service", {"image": {"tag": "sha-1a2b3c4"}},
                 namespace="payments", wait="hookOnly", timeout=60)
    image = kubectl("get", "deploy", "-n", "payments", "-o",
                    "jsonpath={.items[0].spec.template.spec.containers[0].image}").stdout
    assert image.endswith(":sha-1a2b3c4")
    assert [r["status"] for r in helm.history("payment-service")] == ["superseded", "deployed"]


def test_install_from_oci_chart_in_the_embedded_registry(cluster, kubectl, chart, embedded_registry, tmp_path):
    """The guide's note: some teams keep charts in ECR as OCI artifacts. Helm's SDK pushes the
    chart to the embedded registry and installs it from oci:// into the embedded cluster."""
    server, root = cluster
    archive = helm_python.package(chart, destination=tmp_path)
    registry_client = helm_python.RegistryClient(plain_http=True, credentials_file=tmp_path / "creds.json")
    helm_python.push(archive, f"oci://{embedded_registry.host}/charts", client=registry_client, plain_http=True)
    kubectl("create", "namespace", "oci")
    helm = helm_python.Config(kubeconfig_path=str(root / "admin.kubeconfig"), namespace="oci")
    helm.set_registry_client(registry_client)
    installed = helm.install(f"oci://{embedded_registry.host}/charts/payment-service", "from-oci",
                             {"replicaCount": 3}, namespace="oci", chart_version="0.1.0",
                             plain_http=True, wait="hookOnly", timeout=60)
    assert installed["status"] == "deployed"
    assert (installed["chart_name"], installed["chart_version"]) == ("payment-service", "0.1.0")
    assert [r["status"] for r in helm.history("from-oci")] == ["deployed"]
    assert kubectl("get", "deploy", "from-oci", "-n", "oci", "-o", "jsonpath={.spec.replicas}").stdout == "3"
