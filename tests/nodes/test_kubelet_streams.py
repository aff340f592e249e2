"""The kubelet's ``/exec`` and ``/attach`` routes in-process (Starlette's TestClient speaking the
RemoteCommand channels), with a stand-in for nsenter that runs the command after ``--`` on the
host: channel framing, stdin and the v5 close signal, the exit-code Status, refusals."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from shiplane.cluster.decisions.container_log import LogRecord, format_record
from shiplane.cluster.nodes.container_streams import StreamRefused, StreamTarget
from shiplane.cluster.nodes.kubelet_server import build_kubelet_app

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
FAKE_NSENTER = '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n'


class _Instance:  # what the streams read of a ContainerInstance
    def __init__(self, log_path: Path) -> None:
        self.pid, self.uid, self.gid = 1, 0, 0
        self.env = {"PATH": "/usr/bin:/bin", "GREETING": "hi"}
        self.log_path = log_path
        self.running = True
        self.output_done = threading.Event()
        self.stdin = None


class _Source:
    def __init__(self, instance: _Instance, nsenter: Path) -> None:
        self.instance = instance
        self.nsenter = nsenter

    def log_reader(self, *args):  # pragma: no cover - not used here
        raise LookupError("no logs")

    def stream_target(self, namespace, pod, container, attach_stdin) -> StreamTarget:
        if container != "app":
            raise StreamRefused(404, f'container not found ("{container}")')
        return StreamTarget(self.instance, {"name": "app"}, str(self.nsenter))


@pytest.fixture
def kubelet(tmp_path: Path):
    nsenter = tmp_path / "nsenter"
    nsenter.write_text(FAKE_NSENTER)
    nsenter.chmod(0o755)
    instance = _Instance(tmp_path / "0.log")
    with TestClient(build_kubelet_app(_Source(instance, nsenter))) as client:
        yield client, instance


def _exec_url(*command: str, flags: str = "output=1&error=1") -> str:
    return "/exec/default/web/app?" + flags + "".join(f"&command={c}" for c in command)


def _collect(ws) -> tuple[dict[int, bytes], dict]:
    """Frames until the error channel's Status (the last message)."""
    out: dict[int, bytes] = {}
    while True:
        message = ws.receive_bytes()
        if message[0] == 3:
            return out, json.loads(message[1:])
        out[message[0]] = out.get(message[0], b"") + message[1:]


def test_exec_streams_output_and_reports_success(kubelet):
    client, _ = kubelet
    url = _exec_url("sh", "-c", "echo%20$GREETING;echo%20err%3E%262")
    with client.websocket_connect(url, subprotocols=[V5, V4]) as ws:
        assert ws.accepted_subprotocol == V5
        out, status = _collect(ws)
    assert out == {1: b"hi\n", 2: b"err\n"}
    assert status == {"metadata": {}, "status": "Success"}


def test_exec_stdin_ends_with_the_v5_close_signal(kubelet):
    client, _ = kubelet
    with client.websocket_connect(_exec_url("cat", flags="input=1&output=1"),
                                  subprotocols=[V5]) as ws:
        ws.send_bytes(b"\x00line one\n")
        ws.send_bytes(bytes((255, 0)))  # close stdin: cat sees EOF and exits
        out, status = _collect(ws)
    assert out == {1: b"line one\n"} and status["status"] == "Success"


def test_exec_exit_code_on_the_error_channel_v4(kubelet):
    client, _ = kubelet
    with client.websocket_connect(_exec_url("sh", "-c", "exit%205"),
                                  subprotocols=[V4]) as ws:
        assert ws.accepted_subprotocol == V4
        _, status = _collect(ws)
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


def test_refusals_before_the_upgrade(kubelet):
    client, _ = kubelet
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            "/exec/default/web/other?output=1&command=true", subprotocols=[V5]):
        pass
    answer = client.post("/exec/default/web/other?output=1&command=true")
    assert (answer.status_code, answer.text) == (404, 'container not found ("other")')
    answer = client.post("/exec/default/web/app?command=true")
    assert (answer.status_code, answer.text) == (
        400, "you must specify at least 1 of stdin, stdout, stderr")
    answer = client.post("/exec/default/web/app?output=1&command=true")  # a SPDY upgrade
    assert answer.status_code == 400 and "SPDY is not served" in answer.text


def test_attach_follows_the_log_until_the_container_exits(kubelet):
    client, instance = kubelet
    now = datetime.now(timezone.utc)
    instance.log_path.write_bytes(format_record(LogRecord(now, "stdout", False, b"before")))
    with client.websocket_connect("/attach/default/web/app?output=1&error=1",
                                  subprotocols=[V5]) as ws:
        with instance.log_path.open("ab") as log:
            log.write(format_record(LogRecord(now, "stdout", False, b"after")))
            log.write(format_record(LogRecord(now, "stderr", True, b"part")))
            log.write(format_record(LogRecord(now, "stderr", False, b"ial")))
        assert ws.receive_bytes() == b"\x01after\n"
        assert ws.receive_bytes() == b"\x02part"
        assert ws.receive_bytes() == b"\x02ial\n"
        instance.running = False
        instance.output_done.set()
        assert json.loads(ws.receive_bytes()[1:])["status"] == "Success"
