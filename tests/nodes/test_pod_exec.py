"""``kubectl exec`` / ``kubectl attach`` and the official Python client's ``stream`` against the
embedded cluster: API server ``pods/exec|attach`` (WebSocket, RemoteCommand v5/v4) → kubelet
``/exec|/attach`` → a command nsenter'ed into the running process-runtime container.

One cluster per module: a process node and a simulated node, clock x10; busybox from the
session's base images."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest

from shiplane.cluster.nodes.node_spec import NodeSpec
from shiplane.testing.cluster import EmbeddedCluster, kubectl_binary
from shiplane.testing.waiting import wait_for as _wait_for

pytestmark = pytest.mark.slow

PROCESS_NODE, SIMULATED_NODE = "real-0", "sim-0"
SHELL = "echo started > /tmp/marker; trap 'exit 0' TERM; sleep 3600 & wait"


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    nodes = [NodeSpec(PROCESS_NODE, runtime="process"), NodeSpec(SIMULATED_NODE)]
    with EmbeddedCluster(nodes=nodes, time_scale=10) as cluster:
        yield cluster


def wait_for(check: Callable[[], object], timeout: float = 90.0, what: str = "condition"):
    return _wait_for(check, timeout, what, interval=0.3)


def run_pod(cluster: EmbeddedCluster, name: str, containers: list[dict], node: str,
            wait: bool = True, **spec: object) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
           "spec": {"nodeName": node, "containers": containers, **spec}}
    done = cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    assert done.returncode == 0, done.stderr

    def running() -> bool:
        got = json.loads(cluster.kubectl("get", "pod", name, "-o", "json").stdout or "{}")
        statuses = (got.get("status") or {}).get("containerStatuses") or []
        return len(statuses) == len(containers) and all(
            "running" in (s.get("state") or {}) for s in statuses)

    if wait:
        wait_for(running, what=f"pod {name} running")


def python_client_error(cluster: EmbeddedCluster, pod: str, **options: object) -> str:
    """The refused handshake the official Python client reports for an exec."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    with pytest.raises(ApiException) as raised:
        stream(api.connect_get_namespaced_pod_exec, pod, "default", command=["true"],
               stdout=True, stderr=True, stdin=False, tty=False, **options)
    return str(raised.value)


@pytest.fixture(scope="module")
def shell(cluster: EmbeddedCluster, base_images) -> str:
    run_pod(cluster, "shell", [{
        "name": "main", "image": base_images.busybox, "command": ["sh", "-c", SHELL],
        "env": [{"name": "GREETING", "value": "hello from the container"}],
        "workingDir": "/tmp"}], PROCESS_NODE)
    return "shell"


def test_exec_runs_inside_the_container_with_its_env_root_and_namespaces(
    cluster: EmbeddedCluster, shell: str
) -> None:
    done = cluster.kubectl("exec", shell, "--", "sh", "-c",
                           'echo "$GREETING"; pwd; cat marker; hostname; '
                           'cat /proc/1/cmdline | tr "\\0" " "; echo; echo oops >&2',
                           timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == ["hello from the container", "/tmp", "started", shell]
    assert lines[4].startswith("sh -c echo started")  # PID 1 of its pid namespace: the app
    assert done.stderr.strip() == "oops"


def test_kubectl_speaks_remote_command_v5_over_websocket(cluster: EmbeddedCluster,
                                                        shell: str) -> None:
    done = cluster.kubectl("-v=6", "exec", shell, "--", "true", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "101 Switching Protocols" in done.stderr
    assert 'protocol="v5.channel.k8s.io"' in done.stderr


def test_exec_with_stdin(cluster: EmbeddedCluster, shell: str) -> None:
    done = cluster.kubectl("exec", "-i", shell, "--", "sh", "-c", "tr a-z A-Z",
                           input="piped through\n", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "PIPED THROUGH\n"


def test_exec_carries_the_exit_code(cluster: EmbeddedCluster, shell: str) -> None:
    done = cluster.kubectl("exec", shell, "--", "sh", "-c", "echo before; exit 3", timeout=60)
    assert done.returncode == 3
    assert done.stdout == "before\n"
    assert "command terminated with exit code 3" in done.stderr


def test_exec_in_a_chosen_container_and_unknown_container(
    cluster: EmbeddedCluster, base_images
) -> None:
    run_pod(cluster, "pair", [
        {"name": name, "image": base_images.busybox, "command": ["sh", "-c", SHELL],
         "env": [{"name": "WHO", "value": name}]} for name in ("first", "second")],
        PROCESS_NODE)
    done = cluster.kubectl("exec", "pair", "-c", "second", "--", "sh", "-c", "echo $WHO",
                           timeout=60)
    assert (done.returncode, done.stdout) == (0, "second\n"), done.stderr
    done = cluster.kubectl("exec", "pair", "-c", "nope", "--", "true", timeout=60)
    assert done.returncode != 0
    assert "container nope is not valid for pod pair" in done.stderr  # kubectl checks too
    refused = python_client_error(cluster, "pair", container="nope")
    assert "Handshake status 400" in refused
    assert "container nope is not valid for pod pair" in refused  # the API server's 400
    refused = python_client_error(cluster, "pair")
    assert "a container name must be specified for pod pair, choose one of: [first second]" in (
        refused)


def test_exec_in_a_container_that_is_not_running(cluster: EmbeddedCluster, base_images) -> None:
    run_pod(cluster, "half", [
        {"name": "stays", "image": base_images.busybox, "command": ["sh", "-c", SHELL]},
        {"name": "done", "image": base_images.busybox, "command": ["true"]}],
        PROCESS_NODE, restartPolicy="Never", wait=False)

    def states() -> dict:
        got = json.loads(cluster.kubectl("get", "pod", "half", "-o", "json").stdout or "{}")
        return {s["name"]: next(iter(s.get("state") or {"?": 0}))
                for s in (got.get("status") or {}).get("containerStatuses") or []}

    wait_for(lambda: states() == {"stays": "running", "done": "terminated"},
             what="one container running, one terminated")
    done = cluster.kubectl("exec", "half", "-c", "done", "--", "true", timeout=60)
    assert done.returncode != 0
    assert 'unable to upgrade connection: container not found ("done")' in done.stderr, (
        done.stderr)


def test_exec_in_a_simulated_pod_is_refused_clearly(cluster: EmbeddedCluster,
                                                    base_images) -> None:
    run_pod(cluster, "simulated", [{"name": "app", "image": base_images.busybox}],
            SIMULATED_NODE)
    done = cluster.kubectl("exec", "simulated", "--", "true", timeout=60)
    assert done.returncode != 0
    assert "simulated container runs no process" in done.stderr, done.stderr


def test_python_client_stream_exec(cluster: EmbeddedCluster, shell: str) -> None:
    from kubernetes import client, config
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    out = stream(api.connect_get_namespaced_pod_exec, shell, "default",
                 command=["sh", "-c", "echo via python; ls /proc/1 >/dev/null && echo ok"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "via python\nok\n"
    session = stream(api.connect_get_namespaced_pod_exec, shell, "default",
                     command=["sh", "-c", "read line; echo got $line; exit 7"],
                     stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    session.write_stdin("input\n")
    session.run_forever(timeout=60)
    assert session.read_stdout(timeout=1) == "got input\n"
    assert session.returncode == 7


def test_attach_follows_the_container_output(cluster: EmbeddedCluster, base_images) -> None:
    ticker = "i=0; while true; do i=$((i+1)); echo tick $i; echo tock $i >&2; sleep 0.3; done"
    run_pod(cluster, "ticker", [{"name": "main", "image": base_images.busybox,
                                 "command": ["sh", "-c", ticker]}], PROCESS_NODE)
    attach = subprocess.Popen(
        [kubectl_binary(), "--kubeconfig", str(cluster.kubeconfig), "attach", "ticker"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(90, attach.kill)  # readline must not block forever
    guard.start()
    try:
        first = attach.stdout.readline()  # blocks until a line comes (or kubectl exits)
        assert first.startswith("tick "), attach.stderr.read() if attach.poll() else first
    finally:
        guard.cancel()
        attach.kill()
        attach.wait(30)
    done = cluster.kubectl("attach", "-i", "ticker", input="", timeout=60)
    assert done.returncode != 0
    assert "cannot attach stdin" in done.stderr, done.stderr


def test_attach_stdin_to_a_container_created_with_stdin(
    cluster: EmbeddedCluster, base_images
) -> None:
    script = 'while read line; do echo "echo: $line"; done; echo "stdin closed"'
    run_pod(cluster, "echoer", [{"name": "main", "image": base_images.busybox,
                                 "command": ["sh", "-c", script], "stdin": True,
                                 "stdinOnce": True}], PROCESS_NODE, restartPolicy="Never")
    done = cluster.kubectl("attach", "-i", "echoer", input="one\ntwo\n", timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["echo: one", "echo: two", "stdin closed"]
