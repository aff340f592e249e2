"""Simulated nodes: image pulls through the real registry (cache, node-role credentials,
private endpoint), container states, probes, termination (k8s pkg/kubelet images/, prober/,
kuberuntime doBackOff)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from shiplane.cluster.nodes import NodeSpec
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.registry.auth import AuthConfig, TokenAuth, issue_login_password
from shiplane.registry.credentials import Credentials
from shiplane.registry.policy import Effect, PrincipalKind, RepositoryPolicy, Statement
from shiplane.registry.tokens import SigningKey
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

PULL = frozenset({"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                  "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"})


class CountingApp:
    """ASGI wrapper recording the registry's answered requests (401 token challenges aside)."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def recording_send(message):
            if message["type"] == "http.response.start" and message["status"] != 401:
                self.requests.append((scope["method"], scope["path"]))
            await send(message)

        await self.app(scope, receive, recording_send)

    def count(self, method: str, fragment: str) -> int:
        return sum(1 for m, p in self.requests if m == method and fragment in p)


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def registry(signing_key) -> Iterator[tuple[EmbeddedRegistry, CountingApp]]:
    config = AuthConfig(
        policies=(RepositoryPolicy("*", (
            Statement(Effect.ALLOW, ("ci",), frozenset({"ecr:*"})),
            Statement(Effect.ALLOW, ("node-role",), PULL),
            Statement(Effect.ALLOW, ("locked-role",), frozenset({"ecr:GetAuthorizationToken"})),
        )),),
        principal_kinds={"ci": PrincipalKind.CI, "node-role": PrincipalKind.NODE,
                         "locked-role": PrincipalKind.NODE},
    )
    reg = EmbeddedRegistry(MemoryStorage(), auth=TokenAuth(config, signing_key))
    counter = CountingApp(reg.app)
    reg.app = counter
    with reg:
        ci = Credentials("AWS", issue_login_password(signing_key, "ci", kind=PrincipalKind.CI))
        push_test_image(reg.host, "app", "1.0", layer_sizes=(2048, 1024), credentials=ci)
        push_test_image(reg.host, "big", "1.0", layer_sizes=(3_000_000,), credentials=ci)
        yield reg, counter


@pytest.fixture(scope="module")
def cluster(registry, signing_key) -> Iterator[EmbeddedCluster]:
    reg, _ = registry

    def role_credentials(role: str, host: str) -> Credentials:
        kind = PrincipalKind.NODE
        return Credentials("AWS", issue_login_password(signing_key, role, kind=kind))

    nodes = [
        NodeSpec("pull-0", zone="zone-a", role="node-role", pull_bandwidth=1_000_000),
        NodeSpec("pull-1", zone="zone-b", role="node-role", pull_bandwidth=1_000_000),
        NodeSpec("locked-0", zone="zone-c", role="locked-role",
                 taints=({"key": "locked", "value": "yes", "effect": "NoSchedule"},)),
        NodeSpec("private-0", zone="zone-c", role="node-role", private_endpoint="10.0.0.1:443",
                 taints=({"key": "private", "value": "yes", "effect": "NoSchedule"},)),
    ]
    with EmbeddedCluster(nodes, time_scale=30, role_credentials=role_credentials) as c:
        yield c


def _create(cluster, ns: str, obj: dict) -> None:
    result = cluster.kubectl("-n", ns, "create", "--validate=false", "-f", "-",
                             input=json.dumps(obj))
    assert result.returncode == 0, result.stderr


def _namespace(cluster, name: str) -> str:
    _create(cluster, "default", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _pod(name: str, image: str, *, node: str | None = None, tolerate: str | None = None,
         annotations: dict | None = None, container: dict | None = None,
         grace: int | None = None) -> dict:
    spec: dict = {"containers": [{"name": "app", "image": image, **(container or {})}]}
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    if tolerate:
        spec["tolerations"] = [{"key": tolerate, "operator": "Exists"}]
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def _get(cluster, ns: str, *what: str) -> dict:
    result = cluster.kubectl("-n", ns, "get", *what, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _events(cluster, ns: str, pod: str) -> list[dict]:
    return [e for e in _get(cluster, ns, "events")["items"]
            if e["involvedObject"]["name"] == pod]


def _state(cluster, ns: str, pod: str) -> dict:
    statuses = _get(cluster, ns, "pod", pod)["status"].get("containerStatuses") or [{}]
    return statuses[0]


def test_nodes_registered_with_spec_labels_taints_and_leases(cluster):
    nodes = {n["metadata"]["name"]: n for n in _get(cluster, "default", "nodes")["items"]}
    assert set(nodes) == {"pull-0", "pull-1", "locked-0", "private-0"}
    node = nodes["pull-1"]
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "zone-b"
    assert node["status"]["allocatable"]["cpu"] == "4"
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    assert nodes["locked-0"]["spec"]["taints"][0]["key"] == "locked"
    leases = _until(lambda: len(items := _get(cluster, "kube-node-lease", "leases")["items"]) == 4
                    and items, 10)
    assert {lease["spec"]["holderIdentity"] for lease in leases} == set(nodes)


def test_cached_image_is_not_pulled_twice(cluster, registry):
    reg, counter = registry
    ns = _namespace(cluster, "cache")
    image = f"{reg.host}/app:1.0"
    _create(cluster, ns, _pod("first", image, node="pull-0"))
    assert _until(lambda: _state(cluster, ns, "first").get("state", {}).get("running"))
    manifests = counter.count("GET", "/v2/app/manifests/")
    blobs = counter.count("GET", "/v2/app/blobs/")
    assert manifests == 1 and blobs == 3  # config + 2 layers, digests verified by the client
    _create(cluster, ns, _pod("second", image, node="pull-0"))
    assert _until(lambda: _state(cluster, ns, "second").get("state", {}).get("running"))
    assert counter.count("GET", "/v2/app/manifests/") == manifests
    messages = [e["message"] for e in _events(cluster, ns, "second")]
    assert f'Container image "{image}" already present on machine' in messages
    # another node has its own index: it fetches the manifest, the layers come from the
    # process's shared content store
    _create(cluster, ns, _pod("third", image, node="pull-1"))
    assert _until(lambda: _state(cluster, ns, "third").get("state", {}).get("running"))
    assert counter.count("GET", "/v2/app/manifests/") == manifests + 1
    assert counter.count("GET", "/v2/app/blobs/") == blobs
    pulled = [e["message"] for e in _events(cluster, ns, "third") if e["reason"] == "Pulled"]
    assert pulled and pulled[0].endswith("Image size: 3072 bytes.")


def test_pull_duration_follows_layer_size_and_bandwidth(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "slow")
    _create(cluster, ns, _pod("big", f"{reg.host}/big:1.0", node="pull-1"))
    assert _until(lambda: _state(cluster, ns, "big").get("state", {}).get("running"))
    pulled = [e["message"] for e in _events(cluster, ns, "big") if e["reason"] == "Pulled"]
    # 3,000,000 bytes at 1,000,000 B/s: 3 cluster seconds
    assert pulled[0].startswith(f'Successfully pulled image "{reg.host}/big:1.0" in 3s (')


def test_node_role_without_pull_permission_gets_403(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "denied")
    image = f"{reg.host}/app:1.0"
    _create(cluster, ns, _pod("denied", image, node="locked-0", tolerate="locked"))
    waiting = _until(lambda: _state(cluster, ns, "denied").get("state", {}).get("waiting", {})
                     .get("reason") in ("ErrImagePull", "ImagePullBackOff"))
    assert waiting
    failed = _until(lambda: [e["message"] for e in _events(cluster, ns, "denied")
                             if e["message"].startswith("Failed to pull image")])
    assert "403" in failed[0] and image in failed[0]
    backoff = _until(lambda: [e for e in _events(cluster, ns, "denied") if e["reason"] == "BackOff"])
    assert backoff[0]["message"] == f'Back-off pulling image "{image}"'


def test_private_node_pulls_only_through_its_endpoint(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "private")
    _create(cluster, ns, _pod("p", f"{reg.host}/app:1.0", node="private-0", tolerate="private"))
    failed = _until(lambda: [e["message"] for e in _events(cluster, ns, "p")
                             if e["message"].startswith("Failed to pull image")])
    assert "private cluster: images are pulled only through 10.0.0.1:443" in failed[0]


def test_crashing_container_enters_crash_loop_backoff(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "crash")
    _create(cluster, ns, _pod("crash", f"{reg.host}/app:1.0", node="pull-0",
                              annotations={"sim.shiplane.dev/exit-after": "5",
                                           "sim.shiplane.dev/exit-code": "3"}))
    state = _until(lambda: (s := _state(cluster, ns, "crash")).get("state", {}).get("waiting", {})
                   .get("reason") == "CrashLoopBackOff" and s)
    assert state["restartCount"] >= 1
    assert state["lastState"]["terminated"]["exitCode"] == 3
    assert state["state"]["waiting"]["message"].startswith("back-off ")
    events = _events(cluster, ns, "crash")
    assert any(e["reason"] == "BackOff" and e["message"].startswith(
        "Back-off restarting failed container app in pod crash_crash(") for e in events)


def test_liveness_failure_restarts_and_readiness_gates_ready(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "probes")
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 2, "failureThreshold": 2}
    _create(cluster, ns, _pod(
        "live", f"{reg.host}/app:1.0", node="pull-0",
        annotations={"sim.shiplane.dev/liveness-fail-after": "75",
                     "sim.shiplane.dev/readiness-fail-for": "30"},
        container={"livenessProbe": probe, "readinessProbe": {**probe, "failureThreshold": 1}}))
    first = _until(lambda: (s := _state(cluster, ns, "live")).get("state", {}).get("running") and s)
    started = datetime.fromisoformat(first["state"]["running"]["startedAt"].replace("Z", "+00:00"))
    ready = _until(lambda: _state(cluster, ns, "live").get("ready"))
    assert ready
    # readiness failed for the first 30 cluster seconds (timestamps, not our polling speed)
    pod = _get(cluster, ns, "pod", "live")
    became = next(c for c in pod["status"]["conditions"] if c["type"] == "ContainersReady")
    ready_at = datetime.fromisoformat(became["lastTransitionTime"].replace("Z", "+00:00"))
    assert (ready_at - started).total_seconds() >= 29
    restarted = _until(lambda: _state(cluster, ns, "live").get("restartCount", 0) >= 1)
    assert restarted
    messages = [e["message"] for e in _events(cluster, ns, "live")]
    assert "Container app failed liveness probe, will be restarted" in messages
    assert any(m.startswith("Liveness probe failed:") for m in messages)


def test_termination_marks_endpoint_terminating_before_pod_goes(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "term")
    pod = _pod("t", f"{reg.host}/app:1.0", node="pull-0", grace=60,
               container={"lifecycle": {"preStop": {"sleep": {"seconds": 45}}}})
    pod["metadata"]["labels"] = {"app": "t"}
    _create(cluster, ns, pod)
    _create(cluster, ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "t"},
                          "spec": {"selector": {"app": "t"}, "ports": [{"port": 80}]}})
    assert _until(lambda: _get(cluster, ns, "endpoints", "t").get("subsets"))
    result = cluster.kubectl("-n", ns, "delete", "pod", "t", "--wait=false")
    assert result.returncode == 0, result.stderr
    # preStop sleeps 45 cluster seconds (1.5 s real): meanwhile the slice says terminating
    slices = _until(lambda: [s for s in _get(cluster, ns, "endpointslices")["items"]
                             if s.get("endpoints") and s["endpoints"][0]["conditions"]["terminating"]])
    assert slices and slices[0]["endpoints"][0]["conditions"]["ready"] is False
    assert not _get(cluster, ns, "endpoints", "t").get("subsets")
    assert _until(lambda: not _get(cluster, ns, "pods")["items"])
    killing = [e["message"] for e in _events(cluster, ns, "t") if e["reason"] == "Killing"]
    assert killing == ["Stopping container app"]


def test_image_pull_secret_lets_a_node_whose_role_cannot_pull(cluster, registry, signing_key):
    # the locked node's role may not pull; a docker-registry secret with credentials that may
    # (kubelet keyring: pod imagePullSecrets are tried for the image's registry host)
    reg, _ = registry
    ns = _namespace(cluster, "secrets")
    password = issue_login_password(signing_key, "ci", kind=PrincipalKind.CI)
    result = cluster.kubectl("-n", ns, "create", "secret", "docker-registry", "regcred",
                             f"--docker-server={reg.host}", "--docker-username=AWS",
                             f"--docker-password={password}")
    assert result.returncode == 0, result.stderr
    image = f"{reg.host}/app:1.0"
    _create(cluster, ns, _pod("without", image, node="locked-0", tolerate="locked"))
    failed = _until(lambda: [e["message"] for e in _events(cluster, ns, "without")
                             if e["reason"] == "Failed"
                             and e["message"].startswith("Failed to pull image")])
    assert "403" in failed[0]
    waiting = _state(cluster, ns, "without").get("state", {}).get("waiting", {}).get("reason")
    assert waiting in ("ErrImagePull", "ImagePullBackOff")
    with_secret = _pod("with-secret", image, node="locked-0", tolerate="locked")
    with_secret["spec"]["imagePullSecrets"] = [{"name": "regcred"}]
    _create(cluster, ns, with_secret)
    running = _until(lambda: _state(cluster, ns, "with-secret").get("state", {}).get("running"))
    assert running
    events = _events(cluster, ns, "with-secret")
    assert [e["reason"] for e in events if e["reason"] in ("Pulled", "Failed")] == ["Pulled"]
    pulled = next(e["message"] for e in events if e["reason"] == "Pulled")
    assert pulled.startswith(f'Successfully pulled image "{image}" in ')


def test_startup_probe_gates_readiness_and_liveness(cluster, registry):
    # prober_manager: until the startup probe succeeds the container is not started and
    # readiness and liveness do not run: Ready stays False although readiness would pass, and
    # a liveness probe that always fails kills nothing; once started, both run
    reg, _ = registry
    ns = _namespace(cluster, "startup")
    quick = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    probes = {"startupProbe": {**quick, "failureThreshold": 100000}, "readinessProbe": quick,
              "livenessProbe": {**quick, "failureThreshold": 100000}}
    _create(cluster, ns, _pod(
        "gated", f"{reg.host}/app:1.0", node="pull-1", container=probes,
        annotations={"sim.shiplane.dev/startup-fail-for": "always",
                     "sim.shiplane.dev/liveness-fail-after": "0"}))
    _create(cluster, ns, _pod(
        "slow", f"{reg.host}/app:1.0", node="pull-1", container=probes,
        annotations={"sim.shiplane.dev/startup-fail-for": "30",
                     "sim.shiplane.dev/liveness-fail-after": "0"}))
    later = _until(lambda: (s := _state(cluster, ns, "slow")).get("ready") and s)
    assert later["started"] is True and later["restartCount"] == 0
    slow = [e["message"] for e in _until(lambda: [e for e in _events(cluster, ns, "slow")
                                                  if e["reason"] == "Unhealthy"])]
    assert any(m.startswith("Startup probe failed:") for m in slow)
    assert _until(lambda: [e for e in _events(cluster, ns, "slow")
                           if e["message"].startswith("Liveness probe failed:")])
    # the gated pod, meanwhile (as long in cluster time), never started
    gated = _state(cluster, ns, "gated")
    assert gated["state"].get("running") and gated["started"] is False
    assert gated["ready"] is False and gated["restartCount"] == 0
    pod = _get(cluster, ns, "pod", "gated")
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    messages = [e["message"] for e in _events(cluster, ns, "gated")]
    assert any(m.startswith("Startup probe failed:") for m in messages)
    assert not any(m.startswith(("Liveness probe failed:", "Readiness probe failed:"))
                   for m in messages)


def test_failing_startup_probe_past_its_threshold_restarts_the_container(cluster, registry):
    reg, _ = registry
    ns = _namespace(cluster, "startfail")
    _create(cluster, ns, _pod(
        "never", f"{reg.host}/app:1.0", node="pull-1",
        annotations={"sim.shiplane.dev/startup-fail-for": "always"},
        container={"startupProbe": {"httpGet": {"path": "/", "port": 8080},
                                    "periodSeconds": 2, "failureThreshold": 3},
                   "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}))
    restarted = _until(lambda: (s := _state(cluster, ns, "never")).get("restartCount", 0) >= 1
                       and s)
    assert restarted and restarted["started"] is False and restarted["ready"] is False
    killing = _until(lambda: [e["message"] for e in _events(cluster, ns, "never")
                              if e["reason"] == "Killing"])
    assert "Container app failed startup probe, will be restarted" in killing
    unhealthy = [e for e in _events(cluster, ns, "never") if e["reason"] == "Unhealthy"]
    assert unhealthy and all(e["type"] == "Warning" for e in unhealthy)
    assert all(e["message"].startswith("Startup probe failed:") for e in unhealthy)


def test_publish_not_ready_addresses_lists_unready_pods_as_ready(cluster, registry):
    # endpoints_controller.go / endpointslice utils: publishNotReadyAddresses puts unready
    # pods in addresses (not notReadyAddresses); slices say ready=true, serving=false
    reg, _ = registry
    ns = _namespace(cluster, "pnra")
    pod = _pod("unready", f"{reg.host}/app:1.0", node="pull-0",
               annotations={"sim.shiplane.dev/readiness-fail-for": "always"},
               container={"readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                             "periodSeconds": 1}})
    pod["metadata"]["labels"] = {"app": "pnra"}
    _create(cluster, ns, pod)
    for name, publish in (("published", True), ("plain", False)):
        _create(cluster, ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                              "spec": {"selector": {"app": "pnra"}, "ports": [{"port": 80}],
                                       "publishNotReadyAddresses": publish}})
    assert _until(lambda: _state(cluster, ns, "unready").get("state", {}).get("running"))
    ip = _until(lambda: _get(cluster, ns, "pod", "unready")["status"].get("podIP"))
    published = _until(lambda: _get(cluster, ns, "endpoints", "published").get("subsets"))
    assert [a["ip"] for a in published[0]["addresses"]] == [ip]
    assert "notReadyAddresses" not in published[0]
    plain = _until(lambda: _get(cluster, ns, "endpoints", "plain").get("subsets"))
    assert [a["ip"] for a in plain[0]["notReadyAddresses"]] == [ip]
    assert "addresses" not in plain[0]
    slices = {s["metadata"]["labels"]["kubernetes.io/service-name"]: s
              for s in _get(cluster, ns, "endpointslices")["items"]}
    assert slices["published"]["endpoints"][0]["conditions"] == {
        "ready": True, "serving": False, "terminating": False}
    assert slices["plain"]["endpoints"][0]["conditions"] == {
        "ready": False, "serving": False, "terminating": False}
    pod_now = _get(cluster, ns, "pod", "unready")
    ready = next(c for c in pod_now["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
