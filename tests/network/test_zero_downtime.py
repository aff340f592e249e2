"""Zero downtime, measured: the scaffolded payment-service (built by shiplane's builder, pushed
to the embedded registry) runs as real processes (process runtime); a client sends requests
through the Service proxy the whole time while the Deployment rolls v1 → v2, and while a
rollout whose new pods never become ready is stuck. Then the same pods through real
``kubectl port-forward`` and an Ingress. Last, the scaffolded service deployed with its own
chart (``shiplane deploy``'s Helm path, values-dev.yaml: envFrom ConfigMap, emptyDir /tmp,
read-only root, preStop sleep) and upgraded v1 → v2 under load."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest
import yaml

from shiplane.cluster.network.addresses import loopback_twin
from shiplane.config import parse_workspace
from shiplane.release import deploy
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.payment_service import (
    build_payment_images,
    payment_manifests,
    response_version,
)
from shiplane.testing.traffic import LoadGenerator

pytestmark = pytest.mark.slow
RATE = 50  # requests per second through the proxy


@pytest.fixture(scope="module")
def registry():
    with EmbeddedRegistry(MemoryStorage()) as registry:
        yield registry


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("zero-downtime")


@pytest.fixture(scope="module")
def images(registry, work):
    return build_payment_images(work, registry.host)


@pytest.fixture(scope="module")
def cluster(images):
    with EmbeddedCluster(nodes=2, runtime="process", service_proxy=True, ingress_port=0) as c:
        yield c


def _kubectl(cluster, *args, input=None, timeout=120):
    result = cluster.kubectl(*args, input=input, timeout=timeout)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _service_address(cluster, namespace: str = "default") -> tuple[str, int]:
    svc = json.loads(_kubectl(cluster, "get", "service", "payment-service", "-n", namespace,
                              "-o", "json"))
    return loopback_twin(svc["spec"]["clusterIP"]), svc["spec"]["ports"][0]["port"]


def _versions(samples) -> Counter:
    return Counter(response_version(s.body) for s in samples)


def _wait_serving(address, port, version, timeout=60.0):
    deadline = time.monotonic() + timeout
    with LoadGenerator(address, port, "/healthz", rate=20) as probe:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            recent = probe.samples[-5:]
            if len(recent) == 5 and all(response_version(s.body) == version for s in recent):
                return
    raise AssertionError(f"the Service did not serve {version} in {timeout} s")


def test_rolling_update_v1_to_v2_under_load_fails_no_request(cluster, images):
    manifests = payment_manifests(images.v1, replicas=3)
    _kubectl(cluster, "apply", "-f", "-", input=yaml.safe_dump_all(manifests))
    _kubectl(cluster, "rollout", "status", "deployment/payment-service", "--timeout=120s",
             timeout=150)
    address, port = _service_address(cluster)
    _wait_serving(address, port, "v1")

    with LoadGenerator(address, port, "/healthz", rate=RATE) as load:
        time.sleep(1)
        _kubectl(cluster, "set", "image", "deployment/payment-service", f"app={images.v2}")
        _kubectl(cluster, "rollout", "status", "deployment/payment-service", "--timeout=180s",
                 timeout=200)
        time.sleep(2)
    failed = load.failed()
    assert failed == [], f"{len(failed)} of {len(load.samples)} failed: {failed[:3]}"
    versions = _versions(load.samples)
    assert set(versions) == {"v1", "v2"}, versions  # only v1 and v2 answered, both did
    assert versions["v1"] > 0 and versions["v2"] > 0
    assert {response_version(s.body) for s in load.samples[-RATE:]} == {"v2"}
    assert len(load.samples) >= RATE * 5


def test_rollout_failing_readiness_keeps_traffic_on_the_old_pods(cluster, images):
    address, port = _service_address(cluster)
    _wait_serving(address, port, "v2")
    broken = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": images.v1,
         "readinessProbe": {"httpGet": {"path": "/not-ready", "port": "http"},
                            "periodSeconds": 1, "failureThreshold": 1}}]}}}}
    with LoadGenerator(address, port, "/healthz", rate=RATE) as load:
        time.sleep(1)
        _kubectl(cluster, "patch", "deployment", "payment-service", "-p", json.dumps(broken))
        deadline = time.monotonic() + 90
        new_pod_running = False
        while time.monotonic() < deadline and not new_pod_running:
            pods = json.loads(_kubectl(cluster, "get", "pods", "-l", "app=payment-service",
                                       "-o", "json"))["items"]
            new_pod_running = any(
                p["spec"]["containers"][0]["image"] == images.v1
                and p["status"].get("phase") == "Running" for p in pods)
            time.sleep(1)
        assert new_pod_running, "the new version's pod never started"
        time.sleep(5)  # several failed readiness probes later
    failed = load.failed()
    assert failed == [], f"{len(failed)} of {len(load.samples)} failed: {failed[:3]}"
    assert _versions(load.samples) == Counter({"v2": len(load.samples)})
    deployment = json.loads(_kubectl(cluster, "get", "deployment", "payment-service", "-o", "json"))
    assert deployment["status"].get("availableReplicas") == 3
    pods = json.loads(_kubectl(cluster, "get", "pods", "-l", "app=payment-service", "-o",
                               "json"))["items"]
    new = [p for p in pods if p["spec"]["containers"][0]["image"] == images.v1]
    assert len(new) == 1  # maxSurge 1: one new pod, not ready, and no old pod removed
    assert not any(c["type"] == "Ready" and c["status"] == "True"
                   for c in new[0]["status"].get("conditions") or [])


def test_kubectl_port_forward_and_ingress_reach_the_process_pods(cluster, images):
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
    process = subprocess.Popen(["kubectl", "--kubeconfig", str(cluster.kubeconfig),
                                "port-forward", "svc/payment-service", f"{local}:80"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{local}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        assert answer.status_code == 200 and response_version(answer.content) == "v2"
    finally:
        process.terminate()
        process.communicate(timeout=10)

    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "payments"},
               "spec": {"rules": [{"host": "pay.shop.test", "http": {"paths": [
                   {"path": "/", "pathType": "Prefix", "backend": {"service": {
                       "name": "payment-service", "port": {"name": "http"}}}}]}}]}}
    _kubectl(cluster, "apply", "-f", "-", input=yaml.safe_dump(ingress))
    url = f"http://127.0.0.1:{cluster.ingress_port}/healthz"
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.get(url, headers={"Host": "pay.shop.test"}, timeout=5)
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200 and response_version(answer.content) == "v2"
    assert httpx.get(url, headers={"Host": "other.test"}, timeout=5).status_code == 404


def test_scaffolded_chart_upgrade_v1_to_v2_under_load_fails_no_request(
        cluster, images, registry, work, monkeypatch):
    """The chart ``shiplane init service`` wrote, deployed by ``shiplane.release.deploy``
    (Helm's SDK, ``-f values-dev.yaml --set-string image.repository=… image.tag=v1``) into
    namespace ``dev``; the upgrade to v2 waits (Helm's watcher) while the load runs."""
    repo = work / "payment-service"  # build_payment_images' scaffold (its chart is untouched)
    (work / "shiplane.yaml").write_text(
        "version: 1\nenvironments:\n"
        f"  dev:\n    cluster: {{kubeconfig: {cluster.kubeconfig}}}\n"
        f"    registry: {{url: '{registry.host}', insecure: true}}\n")
    monkeypatch.chdir(work)
    workspace = parse_workspace((work / "shiplane.yaml").read_text())
    repository = (f"image.repository={registry.host}/payment-service",)

    first = deploy(repo, "dev", set_string=repository, image_tag="v1", timeout=60,
                   workspace=workspace)
    assert (first.revision, first.status) == (1, "deployed")
    address, port = _service_address(cluster, "dev")
    _wait_serving(address, port, "v1")
    pod = json.loads(_kubectl(cluster, "get", "pods", "-n", "dev", "-l",
                              "app.kubernetes.io/name=payment-service", "-o", "json"))["items"][0]
    main = pod["spec"]["containers"][0]
    assert main["envFrom"][0]["configMapRef"]["name"] == "payment-service"
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["lifecycle"] == {"preStop": {"sleep": {"seconds": 1}}}

    with LoadGenerator(address, port, "/healthz", rate=RATE) as load:
        time.sleep(1)
        upgrade = deploy(repo, "dev", set_string=repository, image_tag="v2", timeout=90,
                         workspace=workspace)
        time.sleep(2)
    assert (upgrade.revision, upgrade.status) == (2, "deployed")
    failed = load.failed()
    assert failed == [], f"{len(failed)} of {len(load.samples)} failed: {failed[:3]}"
    versions = _versions(load.samples)
    assert set(versions) == {"v1", "v2"}, versions  # only v1 and v2 answered, both did
    assert {response_version(s.body) for s in load.samples[-RATE:]} == {"v2"}
    assert len(load.samples) >= RATE * 4
    # APP_ENV came from the chart's ConfigMap through envFrom (values-dev.yaml: dev)
    ready = httpx.get(f"http://{address}:{port}/readyz", timeout=5)
    assert ready.json() == {"status": "ready", "environment": "dev"}
