"""The process runtime end to end: real images from a real registry, real processes in
bubblewrap, real probes, logs through ``kubectl logs`` (API server → kubelet), signals.

One embedded cluster (2 process nodes, clock x10) per module; the busybox and python base
images (and the docker-registry serving them) are the session's, shared with the builder."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shiplane.build import BuildRequest, build_and_tag
from shiplane.cluster.nodes.container_cgroups import cgroup_writable
from shiplane.kube.errors import ApiError
from shiplane.scaffold import init_service
from shiplane.testing.cluster import EmbeddedCluster, kubectl_binary
from shiplane.testing.waiting import wait_for as _wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def busybox(base_images) -> str:  # session fixture of tests/conftest.py, shared with the builder
    return base_images.busybox


@pytest.fixture(scope="module")
def payment_service(base_images, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``shiplane init service payment-service`` built by shiplane's builder FROM the offline
    python base image and pushed to the session's registry."""
    root = tmp_path_factory.mktemp("scaffold")
    init_service("payment-service", directory=root)
    built = build_and_tag(BuildRequest(
        path=root / "payment-service", state_dir=base_images.state, push=True,
        repository=f"{base_images.registry}/runtime/payment-service",
        build_args={"BASE_IMAGE": base_images.python}))
    return f"{base_images.registry}/runtime/payment-service@{built.digest}"


@pytest.fixture(scope="module")
def cluster(embedded_process_cluster: EmbeddedCluster) -> EmbeddedCluster:
    return embedded_process_cluster


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "condition"):
    return _wait_for(check, timeout, what, interval=0.2)


def apply(cluster: EmbeddedCluster, obj: dict) -> None:
    done = cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))
    assert done.returncode == 0, done.stderr


def get_pod(cluster: EmbeddedCluster, name: str) -> dict:
    done = cluster.kubectl("get", "pod", name, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def pod(name: str, image: str, script: str, **container: object) -> dict:
    spec: dict = {"containers": [{"name": "main", "image": image, "command": ["sh", "-c", script],
                                  **container}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def status_of(cluster: EmbeddedCluster, name: str) -> dict:
    statuses = get_pod(cluster, name).get("status", {}).get("containerStatuses") or [{}]
    return statuses[0]


WEB = """\
echo "web $(HOSTNAME) starting as $(id -u)"
mkdir -p /www && echo "hello from $HOSTNAME" > /www/index.html
head -c 1048576 /dev/urandom > /www/big.bin
trap 'echo "got SIGTERM"; exit 0' TERM
httpd -f -p 8080 -h /www & wait
"""


def test_deployment_replicas_ready_by_http_probes_and_reachable_on_pod_ips(
    cluster: EmbeddedCluster, busybox: str
) -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                     "name": "web", "image": busybox, "command": ["sh", "-c", WEB],
                     "env": [{"name": "HOSTNAME", "valueFrom": {"fieldRef": {
                         "fieldPath": "metadata.name"}}}],
                     "ports": [{"containerPort": 8080, "name": "http"}],
                     "readinessProbe": {"httpGet": {"path": "/index.html", "port": "http"},
                                        "periodSeconds": 1}}]}}},
    }
    apply(cluster, deployment)
    done = cluster.kubectl("rollout", "status", "deployment/web", "--timeout=60s", timeout=70)
    assert done.returncode == 0, done.stderr
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    assert len(pods) == 2
    ips = [p["status"]["podIP"] for p in pods]
    assert len(set(ips)) == 2 and all(ip.startswith("127.") for ip in ips)
    for item in pods:
        name, ip = item["metadata"]["name"], item["status"]["podIP"]
        assert item["status"]["containerStatuses"][0]["ready"] is True
        # the contract: a Ready process pod's podIP:containerPort accepts TCP on the host
        response = httpx.get(f"http://{ip}:8080/index.html", timeout=5)
        assert response.status_code == 200 and response.text == f"hello from {name}\n"
        big = [httpx.get(f"http://{ip}:8080/big.bin", timeout=10).content for _ in range(2)]
        assert len(big[0]) == 1048576 and big[0] == big[1]  # every byte carried, both ways
        with ThreadPoolExecutor(8) as pool:  # concurrent connections through the forwarder
            codes = list(pool.map(lambda _: httpx.get(f"http://{ip}:8080/index.html",
                                                      timeout=10).status_code, range(40)))
        assert codes == [200] * 40
        logs = cluster.kubectl("logs", name)
        assert logs.returncode == 0, logs.stderr
        assert f"web {name} starting as 0" in logs.stdout
        usage = cluster.usage(item)
        assert usage["memory_bytes"] > 100_000 and usage["cpu_millicores"] >= 0


def test_logs_follow_tail_and_timestamps(cluster: EmbeddedCluster, busybox: str) -> None:
    apply(cluster, pod("counter", busybox,
                       "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"))
    wait_for(lambda: "running" in status_of(cluster, "counter").get("state", {}), what="running")
    wait_for(lambda: "line 3" in cluster.kubectl("logs", "counter").stdout, what="3 lines")
    tail = cluster.kubectl("logs", "counter", "--tail", "1", "--timestamps").stdout.splitlines()
    assert len(tail) == 1
    stamp, text = tail[0].split(" ", 1)
    assert stamp.endswith("Z") and stamp[4] == "-" and text.startswith("line ")
    follower = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "logs", "-f", "counter",
         "--tail", "1"], stdout=subprocess.PIPE, text=True)
    try:
        seen = [int(follower.stdout.readline().split()[1]) for _ in range(5)]
    finally:
        follower.kill()
        follower.wait()
    assert seen == list(range(seen[0], seen[0] + 5))  # new lines arrive as they are written
    limited = cluster.kubectl("logs", "counter", "--limit-bytes", "7").stdout
    assert limited == "line 1\n"


def test_usage_measures_cpu_and_memory_of_the_pods_processes(
    cluster: EmbeddedCluster, busybox: str
) -> None:
    apply(cluster, pod("burner", busybox, "while true; do :; done & sleep 1000"))
    apply(cluster, pod("idler", busybox, "sleep 1000"))
    for name in ("burner", "idler"):
        wait_for(lambda n=name: "running" in status_of(cluster, n).get("state", {}),
                 what=f"{name} running")
    burner, idler = get_pod(cluster, "burner"), get_pod(cluster, "idler")
    cluster.usage(burner), cluster.usage(idler)  # start the sampling windows
    time.sleep(1.5)
    busy, idle = cluster.usage(burner), cluster.usage(idler)
    # a busy loop in a child of PID 1 is counted (a loaded 2-core host gives it a slice only)
    assert busy["cpu_millicores"] > 50 and idle["cpu_millicores"] < 20
    assert busy["memory_bytes"] > 0 and idle["memory_bytes"] > 0

    # the kubelet reports the same measurement to metrics.k8s.io (what the HPA reads)
    def top_millicores() -> dict[str, int] | None:
        top = cluster.kubectl("top", "pod", "--no-headers")
        if top.returncode != 0:
            return None
        rows = {line.split()[0]: line.split()[1] for line in top.stdout.splitlines()}
        rows = {name: value for name, value in rows.items() if name in ("burner", "idler")}
        if set(rows) != {"burner", "idler"}:
            return None
        cpu = {name: int(value.rstrip("m")) for name, value in rows.items()}
        return cpu if cpu["burner"] > 50 else None

    cpu = wait_for(top_millicores, timeout=30, what="kubectl top shows the busy pod")
    assert cpu["idler"] < 20
    done = cluster.kubectl("delete", "pod", "burner", "idler", "--grace-period=1")
    assert done.returncode == 0, done.stderr
    assert cluster.usage(burner) == {"cpu_millicores": 0, "memory_bytes": 0}


def test_crash_loop_back_off_with_previous_logs(cluster: EmbeddedCluster, busybox: str) -> None:
    apply(cluster, pod("crasher", busybox, 'echo "attempt at $(date +%s%N)"; exit 1'))

    def looping() -> dict | None:
        status = status_of(cluster, "crasher")
        waiting = status.get("state", {}).get("waiting", {})
        ok = status.get("restartCount", 0) >= 2 and waiting.get("reason") == "CrashLoopBackOff"
        return status if ok else None

    status = wait_for(looping, timeout=40, what="CrashLoopBackOff with restarts")
    last = status["lastState"]["terminated"]
    assert last["exitCode"] == 1 and last["reason"] == "Error"
    assert "back-off" in status["state"]["waiting"]["message"]
    previous = cluster.kubectl("logs", "crasher", "--previous")
    assert previous.returncode == 0, previous.stderr
    assert previous.stdout.startswith("attempt at ")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=crasher")
    assert "BackOff" in events.stdout


def test_log_errors_are_the_upstream_ones(cluster: EmbeddedCluster, busybox: str) -> None:
    two = pod("two", busybox, "sleep 1000")
    two["spec"]["containers"].append({"name": "side", "image": busybox,
                                      "command": ["sleep", "1000"]})
    apply(cluster, two)
    wait_for(lambda: all("running" in s.get("state", {}) for s in
                         get_pod(cluster, "two")["status"].get("containerStatuses") or [{}]),
             what="both running")
    done = cluster.kubectl("logs", "two", "--all-containers=false", "-c", "nope")
    assert done.returncode != 0 and "container nope is not valid for pod two" in done.stderr
    with cluster.client() as client, pytest.raises(ApiError) as raised:
        client.request("GET", "/api/v1/namespaces/default/pods/two/log")
    assert raised.value.code == 400
    assert raised.value.status["message"] == (
        "a container name must be specified for pod two, choose one of: [main side]")
    done = cluster.kubectl("logs", "two", "-c", "side", "--previous")
    assert done.returncode != 0
    assert 'previous terminated container "side" in pod "two" not found' in done.stderr

    secret_env = pod("secretenv", busybox, "sleep 1000", env=[
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}])
    apply(cluster, secret_env)
    waiting = wait_for(lambda: status_of(cluster, "secretenv").get("state", {}).get("waiting", {})
                       .get("reason") == "CreateContainerConfigError"
                       and status_of(cluster, "secretenv")["state"]["waiting"], what="config error")
    assert waiting["message"] == 'secret "s" not found'  # the kubelet's message
    done = cluster.kubectl("logs", "secretenv")
    assert 'is waiting to start: CreateContainerConfigError' in done.stderr
    # like the kubelet's next pod sync: once the Secret exists, the container starts
    apply(cluster, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                    "stringData": {"k": "t0ken"}})
    wait_for(lambda: "running" in status_of(cluster, "secretenv").get("state", {}),
             what="started after the secret appeared")


ENV_AND_VOLUMES = """\
echo "level=$LOG_LEVEL app=$CFG_APP_ENV token=$TOKEN user=$(id -u)"
cat /etc/app/app.conf; echo; cat /etc/token/t; echo; ls -l /etc/token/t | cut -c1-10
echo shared > /scratch/from-main && echo "tmp ok"
(touch /rootfs-write) 2>/dev/null && echo "root writable" || echo "root read-only"
(echo x > /etc/app/new) 2>/dev/null && echo "cm writable" || echo "cm read-only"
sleep 1000
"""


def test_env_from_key_refs_volumes_and_read_only_root(cluster: EmbeddedCluster,
                                                     busybox: str) -> None:
    apply(cluster, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-cfg"},
                    "data": {"LOG_LEVEL": "DEBUG", "APP_ENV": "dev", "1st": "x",
                             "app.conf": "port=8080"}})
    apply(cluster, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret"},
                    "stringData": {"token": "s3cr3t"}})
    spec = pod("envvol", busybox, ENV_AND_VOLUMES,
               envFrom=[{"configMapRef": {"name": "app-cfg"}},
                        {"configMapRef": {"name": "app-cfg"}, "prefix": "CFG_"},
                        {"secretRef": {"name": "absent", "optional": True}}],
               env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "app-secret",
                                                                     "key": "token"}}}],
               securityContext={"readOnlyRootFilesystem": True, "runAsUser": 1000},
               volumeMounts=[{"name": "scratch", "mountPath": "/scratch"},
                             {"name": "cfg", "mountPath": "/etc/app"},
                             {"name": "token", "mountPath": "/etc/token"}])
    spec["spec"]["containers"].append({
        "name": "side", "image": busybox, "volumeMounts": [{"name": "scratch",
                                                            "mountPath": "/shared"}],
        "command": ["sh", "-c", "while [ ! -f /shared/from-main ]; do sleep 0.1; done; "
                                "echo side sees $(cat /shared/from-main); sleep 1000"]})
    spec["spec"]["volumes"] = [
        {"name": "scratch", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "app-cfg", "items": [{"key": "app.conf",
                                                                    "path": "app.conf"}]}},
        {"name": "token", "secret": {"secretName": "app-secret", "defaultMode": 0o444,
                                     "items": [{"key": "token", "path": "t"}]}}]
    apply(cluster, spec)

    def logs(container: str) -> str:
        done = cluster.kubectl("logs", "envvol", "-c", container)
        return done.stdout if done.returncode == 0 else ""

    main = wait_for(lambda: "cm read-only" in logs("main") and logs("main"), what="main log")
    assert main.splitlines() == [
        "level=DEBUG app=dev token=s3cr3t user=1000", "port=8080", "s3cr3t", "-r--r--r--",
        "tmp ok", "root read-only", "cm read-only"]
    wait_for(lambda: "side sees shared" in logs("side"), what="the emptyDir shared")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=envvol")
    assert ("Keys [1st] from the EnvFrom configMap default/app-cfg were skipped"
            in " ".join(events.stdout.split()))

    missing = pod("nocm", busybox, "sleep 1000", volumeMounts=[{"name": "c",
                                                                "mountPath": "/c"}])
    missing["spec"]["volumes"] = [{"name": "c", "configMap": {"name": "later"}}]
    apply(cluster, missing)
    wait_for(lambda: "FailedMount" in cluster.kubectl(
        "get", "events", "--field-selector", "involvedObject.name=nocm").stdout,
        what="FailedMount")
    assert "waiting" in status_of(cluster, "nocm").get("state", {"waiting": {}})
    apply(cluster, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"},
                    "data": {"k": "v"}})
    wait_for(lambda: "running" in status_of(cluster, "nocm").get("state", {}),
             what="started once the ConfigMap exists")


def test_delete_sends_sigterm_then_sigkill_after_the_grace_period(
    cluster: EmbeddedCluster, busybox: str
) -> None:
    graceful = pod("graceful", busybox,
                   "trap 'echo got SIGTERM; sleep 1; exit 0' TERM; echo up; "
                   "while true; do sleep 0.1; done")
    stubborn = pod("stubborn", busybox, "trap '' TERM; echo up; while true; do sleep 0.1; done")
    graceful["spec"]["terminationGracePeriodSeconds"] = 60  # 6 s at x10
    stubborn["spec"]["terminationGracePeriodSeconds"] = 20  # 2 s at x10
    for item in (graceful, stubborn):
        apply(cluster, item)
    for name in ("graceful", "stubborn"):
        wait_for(lambda n=name: "up" in cluster.kubectl("logs", n).stdout, what=f"{name} up")
    started = time.monotonic()
    done = cluster.kubectl("delete", "pod", "graceful", "stubborn", "--wait=false")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: "got SIGTERM" in cluster.kubectl("logs", "graceful").stdout,
             what="the app to log SIGTERM")
    gone: dict[str, float] = {}

    def both_gone() -> bool:
        for name in ("graceful", "stubborn"):
            if name not in gone and cluster.kubectl("get", "pod", name).returncode != 0:
                gone[name] = time.monotonic() - started
        return len(gone) == 2

    wait_for(both_gone, what="both pods gone")
    assert gone["graceful"] < 4  # it exited on SIGTERM (after its 1 s clean-up), long before 6 s
    assert 1.8 <= gone["stubborn"] < 5  # SIGTERM ignored: SIGKILL when the 2 s grace ended


def test_exec_probes_run_in_the_container(cluster: EmbeddedCluster, busybox: str) -> None:
    item = pod("execprobe", busybox,
               "sleep 4; touch /tmp/ready; touch /tmp/alive; sleep 2; rm /tmp/alive; sleep 1000",
               readinessProbe={"exec": {"command": [
                   "sh", "-c", 'test "$(id -u)" = 1000 && cat /tmp/ready']},
                   # every 5 cluster s: the kubelet's event spam filter (25 per object, then
                   # 1 per 5 min) would swallow the liveness events after 40 readiness failures
                   "periodSeconds": 5},
               securityContext={"runAsUser": 1000, "runAsGroup": 1000},
               livenessProbe={"exec": {"command": ["test", "-f", "/tmp/alive"]},
                              "initialDelaySeconds": 45, "periodSeconds": 1,
                              "failureThreshold": 2})
    item["spec"]["terminationGracePeriodSeconds"] = 5
    apply(cluster, item)
    wait_for(lambda: "running" in status_of(cluster, "execprobe").get("state", {}), what="running")
    # the probe runs as the container's user, in its filesystem: /tmp/ready is not there yet
    assert status_of(cluster, "execprobe")["ready"] is False
    wait_for(lambda: status_of(cluster, "execprobe").get("ready"), what="ready by exec probe")
    status = wait_for(lambda: (s := status_of(cluster, "execprobe")).get("restartCount", 0) >= 1
                      and s, timeout=30, what="restart after liveness failures")
    assert status["lastState"]["terminated"]["exitCode"] == 137  # sleep as PID 1 ignores TERM
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.name=execprobe").stdout
    assert "Liveness probe failed" in events and "will be restarted" in events


def test_scaffolded_payment_service_runs_as_its_user_and_drains_on_sigterm(
    cluster: EmbeddedCluster, payment_service: str
) -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "payment-service", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "payment-service"}},
                 "template": {"metadata": {"labels": {"app": "payment-service"}}, "spec": {
                     "terminationGracePeriodSeconds": 300,  # 30 s at x10: exiting sooner = SIGTERM
                     "containers": [{
                         "name": "app", "image": payment_service,
                         "ports": [{"containerPort": 8080, "name": "http"}],
                         "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"},
                                            "periodSeconds": 1},
                         "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                                           "periodSeconds": 2}}]}}},
    }
    apply(cluster, deployment)
    done = cluster.kubectl("rollout", "status", "deployment/payment-service", "--timeout=60s",
                           timeout=70)
    assert done.returncode == 0, done.stderr
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=payment-service", "-o",
                                      "json").stdout)["items"]
    assert len(pods) == 2
    for item in pods:
        ip = item["status"]["podIP"]
        created = httpx.post(f"http://{ip}:8080/payments", json={"amount": 1250,
                                                                 "currency": "EUR"}, timeout=5)
        assert created.status_code == 201, created.text
        fetched = httpx.get(f"http://{ip}:8080/payments/{created.json()['id']}", timeout=5)
        assert fetched.json()["amount"] == 1250
        logs = cluster.kubectl("logs", item["metadata"]["name"]).stdout
        assert "listening on 0.0.0.0:8080" in logs
    # the image's USER 10001:10001 is who the app runs as (seen from the host)
    runtime = cluster.control_plane.plane.runtimes["process"]
    for item in pods:
        app = runtime.containers.instances[item["metadata"]["uid"]]["app"]
        status = Path(f"/proc/{app.pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:3] == ["10001", "10001"]
    victim = pods[0]["metadata"]["name"]
    # follow the log from before the deletion: once the app has drained, the pod (and with it
    # `kubectl logs`) may be gone before a poll would read the SIGTERM line
    follow = subprocess.Popen([kubectl_binary(), "--kubeconfig", str(cluster.kubeconfig), "logs",
                               "-f", victim], stdout=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        for line in follow.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("listening on" in line for line in lines), what="the log streaming")
        started = time.monotonic()
        assert cluster.kubectl("delete", "pod", victim, "--wait=false").returncode == 0
        wait_for(lambda: any("signal 15: shutting down" in line for line in lines),
                 what="the app to log SIGTERM")
    finally:
        follow.kill()
        follow.wait(10)
    wait_for(lambda: cluster.kubectl("get", "pod", victim).returncode != 0, what="pod gone")
    assert time.monotonic() - started < 15  # it drained and exited on SIGTERM (grace: 30 s)


@pytest.mark.skipif(not cgroup_writable("memory"), reason="this host gives no writable memory cgroup")
def test_memory_limit_is_enforced_and_reported_as_oom_killed(
    cluster: EmbeddedCluster, busybox: str
) -> None:
    item = pod("hog", busybox, "echo allocating; dd if=/dev/zero of=/dev/null bs=64M count=1",
               resources={"limits": {"memory": "16Mi"}})
    item["spec"]["restartPolicy"] = "Never"
    apply(cluster, item)
    status = wait_for(lambda: (s := status_of(cluster, "hog")).get("state", {}).get("terminated")
                      and s, what="terminated")
    assert status["state"]["terminated"]["reason"] == "OOMKilled"
    assert status["state"]["terminated"]["exitCode"] == 137
    assert get_pod(cluster, "hog")["status"]["phase"] == "Failed"


def test_follow_ends_when_the_container_completes(cluster: EmbeddedCluster, busybox: str) -> None:
    item = pod("short", busybox, "for i in 1 2 3; do echo step $i; sleep 0.3; done; echo bye >&2")
    item["spec"]["restartPolicy"] = "Never"
    apply(cluster, item)
    wait_for(lambda: status_of(cluster, "short").get("state", {}).keys() & {"running",
                                                                            "terminated"},
             what="started")
    followed = cluster.kubectl("logs", "-f", "short", timeout=20)
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == "step 1\nstep 2\nstep 3\nbye\n"  # stderr is in the log too
    terminated = wait_for(lambda: status_of(cluster, "short").get("state", {}).get("terminated"),
                          what="terminated")
    assert terminated["reason"] == "Completed" and terminated["exitCode"] == 0
    assert get_pod(cluster, "short")["status"]["phase"] == "Succeeded"
