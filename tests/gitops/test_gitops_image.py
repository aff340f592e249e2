"""The controller's image: built offline by shiplane's builder (`shiplane gitops image
build`), pushed to the embedded registry, and run by the controller's own chart on the
embedded cluster until the Deployment is Available (simulated nodes pull the image for real;
readiness is simulated)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shiplane.charts import ClusterAccess, install_or_upgrade
from shiplane.registry import RegistryClient

pytestmark = pytest.mark.slow
CHART = Path(__file__).resolve().parents[2] / "deploy" / "charts" / "shiplane-gitops"


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def test_image_is_pushed_reproducible_and_lean(shiplane_image):
    registry, image = shiplane_image
    assert image.pushed and image.reference == f"{registry.host}/shiplane:0.1.0"
    with RegistryClient(registry.host, resolve=False) as client:
        manifest = client.get_manifest("shiplane", "0.1.0")
        assert manifest.digest == image.digest
        config_digest = json.loads(manifest.data)["config"]["digest"]
        config = json.loads(client.pull_blob("shiplane", config_digest))["config"]
    assert config["Entrypoint"] == ["shiplane"] and config["User"] == "65532:65532"
    assert image.size < 150_000_000, image.size  # helm's Go library is ~85 MB of it


def test_chart_runs_the_published_image_until_available(shiplane_image, embedded_cluster):
    registry, image = shiplane_image
    access = ClusterAccess(embedded_cluster.kubeconfig, "shiplane-system")
    values = {"image": {"repository": f"{registry.host}/shiplane", "tag": "0.1.0"},
              "gitSync": {"enabled": False},
              "platform": {"repoURL": "http://git.example/platform.git"}}
    release = install_or_upgrade(access, CHART, "gitops", values, installed=False, wait=False)
    assert release["status"] == "deployed"
    done = embedded_cluster.kubectl("-n", "shiplane-system", "rollout", "status",
                                    "deployment/gitops-shiplane-gitops", "--timeout=120s",
                                    timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    deployment = json.loads(embedded_cluster.kubectl(
        "-n", "shiplane-system", "get", "deployment", "gitops-shiplane-gitops", "-o",
        "json").stdout)
    available = {c["type"]: c["status"] for c in deployment["status"]["conditions"]}
    assert available["Available"] == "True" and deployment["status"]["readyReplicas"] == 2
    pods = json.loads(embedded_cluster.kubectl(
        "-n", "shiplane-system", "get", "pods", "-l",
        "app.kubernetes.io/name=shiplane-gitops", "-o", "json").stdout)["items"]
    assert len(pods) == 2
    for pod in pods:
        assert [c["name"] for c in pod["spec"]["containers"]] == ["controller"]
        status = pod["status"]["containerStatuses"][0]
        assert status["ready"] is True
        assert status["imageID"].endswith(image.digest), status  # pulled from the registry
