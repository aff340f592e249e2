"""kubectl's port-forward target rules, and ``shiplane cluster port-forward`` for real."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from shiplane.cluster.apiserver.runner import ApiServerRunner
from shiplane.cluster.network.errors import PortForwardError
from shiplane.cluster.network.forward_target import (
    choose_pod,
    parse_ports,
    parse_target,
    translate_service_ports,
)


def test_parse_ports():
    assert parse_ports(["8080:80", "9090", ":443"]) == [(8080, 80), (9090, 9090), (0, 443)]
    for bad in (["x:80"], ["80:"], ["70000"], ["0"]):
        with pytest.raises(PortForwardError):
            parse_ports(bad)
    with pytest.raises(PortForwardError, match="at least 1 PORT"):
        parse_ports([])


def test_parse_target():
    assert parse_target("svc/web") == ("service", "web")
    assert parse_target("service/web") == ("service", "web")
    assert parse_target("pod/web-0") == ("pod", "web-0")
    assert parse_target("web-0") == ("pod", "web-0")
    with pytest.raises(PortForwardError, match="deploy/web"):
        parse_target("deploy/web")


def _pod(name, phase="Running", ready=False, since="", node="n1", deleting=False):
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": since}]
    meta = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": node, "containers": [
        {"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": phase, "conditions": conditions}}


def test_choose_pod_prefers_the_most_active():
    pods = [_pod("pending", phase="Pending"), _pod("running"),
            _pod("ready-new", ready=True, since="2026-01-02T00:00:00Z"),
            _pod("ready-old", ready=True, since="2026-01-01T00:00:00Z"),
            _pod("going", ready=True, since="2025-01-01T00:00:00Z", deleting=True)]
    assert choose_pod(pods, "web")["metadata"]["name"] == "ready-old"
    assert choose_pod(pods[:2], "web")["metadata"]["name"] == "running"
    with pytest.raises(PortForwardError, match="no pods"):
        choose_pod([], "web")


def test_translate_service_ports():
    svc = {"metadata": {"name": "web"}, "spec": {"ports": [
        {"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 9000}, {"port": 82},
        {"port": 83, "targetPort": "grpc"}]}}
    pod = _pod("p")
    assert translate_service_ports(svc, pod, [(5000, 80), (0, 81), (82, 82)]) == [
        (5000, 8080), (0, 9000), (82, 82)]
    with pytest.raises(PortForwardError, match="does not have a service port 90"):
        translate_service_ports(svc, pod, [(1, 90)])
    with pytest.raises(PortForwardError, match="does not have a named port 'grpc'"):
        translate_service_ports(svc, pod, [(1, 83)])


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"hello via shiplane"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_shiplane_cluster_port_forward_svc(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.93.4", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runner = ApiServerRunner(pki_dir=tmp_path / "pki").start()
    try:
        kubeconfig = runner.write_kubeconfig(tmp_path / "kubeconfig")
        port = server.server_address[1]
        objs = [{"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "web-0", "labels": {"app": "web"}},
                 "spec": {"containers": [{"name": "web", "image": "web:1", "ports": [
                     {"name": "http", "containerPort": port}]}]}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                 "spec": {"selector": {"app": "web"},
                          "ports": [{"port": 80, "targetPort": "http"}]}}]
        for obj in objs:
            assert subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "create", "-f",
                                   "-"], input=json.dumps(obj), text=True,
                                  capture_output=True).returncode == 0
        status = {"status": {"phase": "Running", "podIP": "127.0.93.4"}}
        assert subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "patch", "pod",
                               "web-0", "--subresource=status", "--type=merge", "-p",
                               json.dumps(status)], capture_output=True).returncode == 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            local = s.getsockname()[1]
        src = str(Path(__file__).resolve().parents[2] / "src")
        process = subprocess.Popen(
            [sys.executable, "-m", "shiplane", "cluster", "port-forward", "svc/web",
             f"{local}:80", "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": src})
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = httpx.get(f"http://127.0.0.1:{local}/", timeout=5)
                    break
                except httpx.ConnectError:
                    assert process.poll() is None, process.communicate()
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert response.text == "hello via shiplane"
        finally:
            process.terminate()
            out, _ = process.communicate(timeout=10)
        assert f"Forwarding from 127.0.0.1:{local} -> {port}" in out

        from shiplane.cluster.network.forwarder import resolve_forward
        from shiplane.kube import KubeClient

        with KubeClient.from_kubeconfig(kubeconfig) as client:
            assert resolve_forward(client, "default", "pod/web-0", ["9999:8080"]).address == \
                "127.0.93.4"
            with pytest.raises(PortForwardError, match="does not have a service port 81"):
                resolve_forward(client, "default", "svc/web", ["1234:81"])
    finally:
        runner.stop()
        server.shutdown()
        server.server_close()
