"""``kubectl port-forward`` (the real binary, SPDY tunnelled in a WebSocket) against the HTTPS
API server with client-certificate auth and RBAC; pods point at loopback HTTP servers."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time

import httpx
import pytest

from shiplane.cluster.apiserver.runner import ApiServerRunner


class _Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        body = f"hello from {self.server.name} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pod_server():
    server = http.server.ThreadingHTTPServer(("127.0.91.7", 0), _Hello)
    server.name = "web-0"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def api(tmp_path_factory, pod_server):
    folder = tmp_path_factory.mktemp("pf")
    runner = ApiServerRunner(pki_dir=folder / "pki").start()
    runner.write_kubeconfig(folder / "admin")
    runner.write_kubeconfig(folder / "dev", user="dev")
    port = pod_server.server_address[1]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "web:1",
                                    "ports": [{"name": "http", "containerPort": port}]}]}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"},
                        "ports": [{"port": 80, "targetPort": "http"}]}}
    for kind, obj in (("pods", pod), ("services", service)):
        result = _kubectl(folder / "admin", "create", "-f", "-", input=json.dumps(obj))
        assert result.returncode == 0, result.stderr
    status = {"phase": "Running", "podIP": "127.0.91.7", "podIPs": [{"ip": "127.0.91.7"}],
              "conditions": [{"type": "Ready", "status": "True"}]}
    patched = _kubectl(folder / "admin", "patch", "pod", "web-0", "--subresource=status",
                       "--type=merge", "-p", json.dumps({"status": status}))
    assert patched.returncode == 0, patched.stderr
    yield runner, folder
    runner.stop()


def _kubectl(kubeconfig, *args, input=None):
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], input=input,
                          text=True, capture_output=True, timeout=60)


def _forward(kubeconfig, target: str, ports: str):
    return subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "port-forward", target,
                             ports], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _get_through(local: int, path: str = "/", timeout: float = 15.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{local}{path}", timeout=5)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize("target", ["pod/web-0", "svc/web"])
def test_kubectl_port_forward_pod_and_service(api, pod_server, target):
    _, folder = api
    local = _free_port()
    remote = pod_server.server_address[1] if target.startswith("pod/") else 80
    process = _forward(folder / "admin", target, f"{local}:{remote}")
    try:
        assert _get_through(local, "/a").text == "hello from web-0 /a"
        # several connections, one after another and at once, over the same tunnel
        with httpx.Client() as client:
            assert [client.get(f"http://127.0.0.1:{local}/{i}").text for i in range(5)] == [
                f"hello from web-0 /{i}" for i in range(5)]
        results: list[str] = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            httpx.get(f"http://127.0.0.1:{local}/t{i}", timeout=10).text)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == sorted(f"hello from web-0 /t{i}" for i in range(6))
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert f"Forwarding from 127.0.0.1:{local}" in out
    assert "error" not in err.lower()


def test_port_forward_to_a_closed_port_reports_kubelets_error(api):
    _, folder = api
    local, closed = _free_port(), _free_port()
    process = _forward(folder / "admin", "pod/web-0", f"{local}:{closed}")
    try:
        with pytest.raises(httpx.HTTPError):
            _get_through(local)
        time.sleep(0.5)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert f"error forwarding port {closed} to pod web-0" in err


def test_port_forward_needs_create_on_pods_portforward(api, pod_server):
    _, folder = api
    pod_port = pod_server.server_address[1]
    admin = folder / "admin"
    assert _kubectl(admin, "create", "role", "pod-reader", "--verb=get,list",
                    "--resource=pods").returncode == 0
    assert _kubectl(admin, "create", "rolebinding", "dev-reads", "--role=pod-reader",
                    "--user=dev").returncode == 0
    process = _forward(folder / "dev", "pod/web-0", f"{_free_port()}:{pod_port}")
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "forbidden" in err.lower() and "pods/portforward" in err

    assert _kubectl(admin, "create", "role", "pod-forwarder", "--verb=create",
                    "--resource=pods/portforward").returncode == 0
    assert _kubectl(admin, "create", "rolebinding", "dev-forwards", "--role=pod-forwarder",
                    "--user=dev").returncode == 0
    local = _free_port()
    process = _forward(folder / "dev", "pod/web-0", f"{local}:{pod_port}")
    try:
        assert _get_through(local, "/dev").text == "hello from web-0 /dev"
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_python_client_port_forward_over_the_channel_protocol(api, pod_server):
    """The official Python client speaks ``v4.channel.k8s.io`` (no SPDY)."""
    from kubernetes import client, config
    from kubernetes.stream import portforward

    _, folder = api
    port, closed = pod_server.server_address[1], _free_port()
    api_client = config.new_client_from_config(str(folder / "admin"))
    core = client.CoreV1Api(api_client)
    forward = portforward(core.connect_get_namespaced_pod_portforward, "web-0", "default",
                          ports=f"{port},{closed}")
    sock = forward.socket(port)
    sock.setblocking(True)
    sock.sendall(b"GET /py HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    assert received.startswith(b"HTTP/1.0 200") or received.startswith(b"HTTP/1.1 200")
    assert received.endswith(b"hello from web-0 /py")
    assert forward.error(port) is None
    deadline = time.monotonic() + 10
    while forward.error(closed) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"error forwarding port {closed} to pod web-0" in forward.error(closed)
    forward.close()
