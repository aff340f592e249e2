"""The controller's own Helm chart (deploy/charts/shiplane-gitops): helm lint --strict through
the Helm SDK, installed on the embedded API server with shiplane.charts, checked with kubectl
(objects, arguments, and the ServiceAccount's Lease rights by an access review)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from shiplane.charts import ClusterAccess, ValueOverrides, install_or_upgrade, lint_chart, \
    render_chart

pytestmark = pytest.mark.slow
CHART = Path(__file__).resolve().parents[2] / "deploy" / "charts" / "shiplane-gitops"


def test_chart_passes_helm_lint_strict(tmp_path):
    report = lint_chart(CHART, strict=True)
    assert report.ok, [str(m) for m in report.messages]
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"serviceRepos": [
        {"repoURL": "https://git.example/org/payment-service.git", "branch": "main"}],
        "webhook": {"existingSecret": "hook"}, "leaderElection": {"enabled": False}}))
    report = lint_chart(CHART, ValueOverrides(values_files=(values,)), strict=True)
    assert report.ok, [str(m) for m in report.messages]
    rendered = render_chart(CHART, ValueOverrides(values_files=(values,)),
                            release_name="gitops", namespace="platform")
    deployment = next(m for m in rendered.manifests if m["kind"] == "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    args = containers[0]["args"]
    assert "--repo=https://git.example/org/payment-service.git=/repos/payment-service" in args
    assert "--leader-elect" not in args
    assert [c["name"] for c in containers] == ["controller", "git-sync-0", "git-sync-1"]
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(containers[0])
    assert containers[0]["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "webhook"}


def test_chart_without_git_sync_runs_only_the_shiplane_image(tmp_path):
    """gitSync.enabled=false: the controller clones and fetches the repos itself."""
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({
        "gitSync": {"enabled": False}, "hostNetwork": True,
        "kubeconfig": {"existingSecret": "remote-cluster"},
        "imagePullSecrets": [{"name": "regcred"}],
        "platform": {"repoURL": "https://git.example/org/platform.git", "branch": "prod"},
        "serviceRepos": [{"repoURL": "https://git.example/org/payment-service.git"}]}))
    overrides = ValueOverrides(values_files=(values,))
    report = lint_chart(CHART, overrides, strict=True)
    assert report.ok, [str(m) for m in report.messages]
    rendered = render_chart(CHART, overrides, release_name="gitops", namespace="platform")
    assert "ConfigMap" not in [m["kind"] for m in rendered.manifests]  # the Secret instead
    pod = next(m for m in rendered.manifests
               if m["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["controller"]
    assert pod["hostNetwork"] is True and pod["imagePullSecrets"] == [{"name": "regcred"}]
    args = pod["containers"][0]["args"]
    for arg in ("--dir=/repos/platform", "--platform-url=https://git.example/org/platform.git",
                "--branch=prod",
                "--repo=https://git.example/org/payment-service.git=/repos/payment-service"):
        assert arg in args, args
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["repos"]["readOnly"] is False  # the controller writes its checkouts
    assert {"name": "kubeconfig", "secret": {"secretName": "remote-cluster"}} in pod["volumes"]


def test_chart_installs_on_the_embedded_cluster(kube_apiserver):
    def kubectl(*args):
        done = subprocess.run(["kubectl", "--kubeconfig", str(kube_apiserver.kubeconfig),
                               *args], capture_output=True, text=True)
        return done

    access = ClusterAccess(kube_apiserver.kubeconfig, "shiplane-system")
    release = install_or_upgrade(access, CHART, "gitops", {}, installed=False, wait=False)
    assert (release["revision"], release["status"]) == (1, "deployed")
    deployment = json.loads(kubectl("-n", "shiplane-system", "get", "deployment",
                                    "gitops-shiplane-gitops", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "gitops-shiplane-gitops"
    args = pod["containers"][0]["args"]
    assert "--leader-elect" in args
    assert "--lease=shiplane-system/shiplane-gitops-controller" in args
    assert "--webhook=0.0.0.0:8080" in args
    names = kubectl("-n", "shiplane-system", "get", "serviceaccount,role,rolebinding,service,"
                    "configmap", "-o", "name").stdout.split()
    for name in ("serviceaccount/gitops-shiplane-gitops", "service/gitops-shiplane-gitops",
                 "role.rbac.authorization.k8s.io/gitops-shiplane-gitops",
                 "rolebinding.rbac.authorization.k8s.io/gitops-shiplane-gitops",
                 "configmap/gitops-shiplane-gitops-kubeconfig"):
        assert name in names, names
    assert kubectl("get", "clusterrole", "gitops-shiplane-gitops").returncode == 0
    service = json.loads(kubectl("-n", "shiplane-system", "get", "service",
                                 "gitops-shiplane-gitops", "-o", "json").stdout)
    assert service["spec"]["ports"][0]["targetPort"] == "webhook"
    as_sa = "--as=system:serviceaccount:shiplane-system:gitops-shiplane-gitops"
    can = kubectl("auth", "can-i", "update", "leases.coordination.k8s.io", "-n",
                  "shiplane-system", as_sa)
    assert can.stdout.strip() == "yes", can.stdout + can.stderr
