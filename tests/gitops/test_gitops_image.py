"""The controller's image: built offline by shiplane's builder (`shiplane gitops image
build`), pushed to the embedded registry, and run by the controller's own chart on the
embedded cluster: on simulated nodes until the Deployment is Available (the image is pulled
for real, readiness is simulated), then on process nodes for real (probes, Lease, a sync)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from shiplane.build import ShiplaneImageRequest, build_shiplane_image
from shiplane.charts import ClusterAccess, install_or_upgrade
from shiplane.registry import RegistryClient
from shiplane.scaffold import init_platform, init_service

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


def wait_available(cluster, namespace: str, replicas: int, timeout: float) -> dict:
    """The Deployment's pods all available. Polled rather than ``rollout status``: on an
    accelerated cluster clock the 600 s progress deadline passes in 20-60 s of a loaded
    machine, and an exceeded deadline does not stop the rollout."""
    def available() -> dict | None:
        got = cluster.kubectl("-n", namespace, "get", "deployment", "gitops-shiplane-gitops",
                              "-o", "json")
        deployment = json.loads(got.stdout) if got.returncode == 0 else {}
        ready = deployment.get("status", {}).get("availableReplicas", 0) == replicas
        return deployment if ready else None

    try:
        return wait_for(available, timeout, f"{replicas} available controller pod(s)")
    except AssertionError as error:
        raise AssertionError("\n".join([str(error), *(cluster.kubectl(*args).stdout for args in (
            ("-n", namespace, "get", "events"), ("-n", namespace, "get", "pods", "-o", "yaml"),
            ("-n", namespace, "logs", "deployment/gitops-shiplane-gitops", "--previous")))]))


def test_image_is_pushed_lean_and_rebuilds_to_the_same_digest(shiplane_image, base_images):
    registry, image = shiplane_image
    assert image.pushed and image.reference == f"{registry.host}/shiplane:0.1.0"
    with RegistryClient(registry.host, resolve=False) as client:
        manifest = client.get_manifest("shiplane", "0.1.0")
        assert manifest.digest == image.digest
        config_digest = json.loads(manifest.data)["config"]["digest"]
        config = json.loads(client.pull_blob("shiplane", config_digest))["config"]
    assert config["Entrypoint"] == ["shiplane"] and config["User"] == "65532:65532"
    assert image.size < 150_000_000, image.size  # helm's Go library is ~85 MB of it
    again = build_shiplane_image(ShiplaneImageRequest(
        state_dir=base_images.state, reference="shiplane", base_image=base_images.python))
    assert again.digest == image.digest and again.reference == "shiplane:0.1.0"


def test_chart_runs_the_published_image_until_available(shiplane_image, embedded_cluster):
    registry, image = shiplane_image
    access = ClusterAccess(embedded_cluster.kubeconfig, "shiplane-system")
    values = {"image": {"repository": f"{registry.host}/shiplane", "tag": "0.1.0"},
              "gitSync": {"enabled": False},
              "platform": {"repoURL": "http://git.example/platform.git"}}
    release = install_or_upgrade(access, CHART, "gitops", values, installed=False, wait=False)
    assert release["status"] == "deployed"
    deployment = wait_available(embedded_cluster, "shiplane-system", 2, 180)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _push(repo: Path, url: str) -> None:
    done = subprocess.run(["git", "-C", str(repo), "push", "-q", url, "HEAD:refs/heads/main"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_controller_runs_from_the_image_on_process_nodes_and_syncs(
        shiplane_image, embedded_process_cluster, git_server, tmp_path):
    """The real thing: the controller process starts from the image (bubblewrap), clones the
    platform and service repos from the local git server itself, passes its probes, takes the
    Lease and syncs the scaffolded Application. hostNetwork: a process pod's own netns has no
    route to the API server or the git server on this host."""
    registry, image = shiplane_image
    cluster = embedded_process_cluster
    init_platform("plat", environments=["dev"], services=["payment-service"],
                  directory=tmp_path, git_base=git_server.url)
    init_service("payment-service", directory=tmp_path, model=2)
    _push(tmp_path / "plat", git_server.clone_url("plat"))
    _push(tmp_path / "payment-service", git_server.clone_url("payment-service"))

    namespace = "shiplane-system"
    assert cluster.kubectl("create", "namespace", namespace).returncode == 0
    secret = cluster.kubectl("-n", namespace, "create", "secret", "generic", "gitops-kubeconfig",
                             f"--from-file=kubeconfig={cluster.kubeconfig}")
    assert secret.returncode == 0, secret.stderr
    port = _free_port()
    values = {"image": {"repository": f"{registry.host}/shiplane", "tag": "0.1.0"},
              "replicaCount": 1, "hostNetwork": True, "gitSync": {"enabled": False},
              "kubeconfig": {"existingSecret": "gitops-kubeconfig"},
              "platform": {"repoURL": git_server.clone_url("plat"), "branch": "main"},
              "serviceRepos": [{"repoURL": git_server.clone_url("payment-service")}],
              "webhook": {"port": port}, "interval": 30, "jitter": 0,
              # the clock runs x10: 2 s x 600 is 2 minutes of a loaded machine to start
              "probes": {"startup": {"periodSeconds": 2, "failureThreshold": 600},
                         "readiness": {"periodSeconds": 10},
                         "liveness": {"periodSeconds": 20, "failureThreshold": 30}}}
    access = ClusterAccess(cluster.kubeconfig, namespace)
    install_or_upgrade(access, CHART, "gitops", values, installed=False, wait=False)

    def logs(*args: str) -> str:
        got = cluster.kubectl("-n", namespace, "logs", "deployment/gitops-shiplane-gitops", *args)
        return got.stdout + got.stderr

    wait_available(cluster, namespace, 1, 300)
    # the readiness probe passed against the real listener; ask it too
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
    assert health["ok"] is True and health["applications"] == 1, health
    pod = json.loads(cluster.kubectl("-n", namespace, "get", "pods", "-l",
                                     "app.kubernetes.io/name=shiplane-gitops", "-o",
                                     "json").stdout)["items"][0]
    assert pod["status"]["containerStatuses"][0]["imageID"].endswith(image.digest)

    def lease_holder() -> str:
        lease = cluster.kubectl("-n", namespace, "get", "lease", "shiplane-gitops-controller",
                                "-o", "jsonpath={.spec.holderIdentity}")
        return lease.stdout.strip() if lease.returncode == 0 else ""

    holder = wait_for(lease_holder, 120, "the controller to take the Lease")
    assert holder == health.get("identity", holder)

    def synced() -> dict | None:
        got = cluster.kubectl("-n", "dev", "get", "deployment", "payment-service", "-o", "json",
                              "--show-managed-fields")
        return json.loads(got.stdout) if got.returncode == 0 else None

    deployment = wait_for(synced, 180, "the Application's Deployment in dev")
    managers = {m["manager"] for m in deployment["metadata"].get("managedFields", [])}
    assert "shiplane-gitops" in managers, managers
    wait_for(lambda: "payment-service-dev: Synced" in logs(), 120, "a Synced report")
