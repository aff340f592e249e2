"""The RemoteCommand protocol's pure parts: options, subprotocols, framing, error-channel Status."""

import json

import pytest

from shiplane.cluster.decisions.remote_command import (
    CLOSE,
    ERROR,
    STDIN,
    STDOUT,
    ChannelMessage,
    InvalidStreamOptions,
    StreamOptions,
    apiserver_options,
    exit_status,
    frame,
    kubelet_options,
    kubelet_query,
    negotiate,
    parse_message,
    parse_resize,
    success_status,
)


def test_kubectl_exec_query_round_trips_through_the_kubelet_parameter_names():
    query = [("command", "sh"), ("command", "-c"), ("command", "echo hi"), ("container", "web"),
             ("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    options = apiserver_options(query, exec_=True)
    assert options == StreamOptions(("sh", "-c", "echo hi"), "web", True, True, True, False)
    kubelet = kubelet_query(options)
    assert kubelet == [("input", "1"), ("output", "1"), ("error", "1"), ("command", "sh"),
                       ("command", "-c"), ("command", "echo hi")]
    assert kubelet_options(kubelet, exec_=True) == StreamOptions(
        ("sh", "-c", "echo hi"), "", True, True, True, False)


def test_attach_has_no_command_and_exec_needs_one():
    assert apiserver_options([("stdout", "1")], exec_=False).command == ()
    with pytest.raises(InvalidStreamOptions, match="at least one command"):
        apiserver_options([("stdout", "true")], exec_=True)


def test_at_least_one_stream_and_no_tty():
    with pytest.raises(InvalidStreamOptions, match="at least 1 of stdin, stdout, stderr"):
        apiserver_options([("command", "ls")], exec_=True)
    with pytest.raises(InvalidStreamOptions, match="TTY is not supported"):
        apiserver_options([("command", "sh"), ("stdin", "true"), ("tty", "true")], exec_=True)


def test_negotiation_takes_the_clients_first_protocol_we_speak():
    assert negotiate(["v5.channel.k8s.io", "v4.channel.k8s.io"]) == "v5.channel.k8s.io"
    assert negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"]) == "v4.channel.k8s.io"
    assert negotiate(["base64.channel.k8s.io", "v4.channel.k8s.io"]) == "v4.channel.k8s.io"
    assert negotiate(["SPDY/3.1"]) is None


def test_framing_and_the_v5_close_signal():
    assert frame(STDOUT, b"hi") == b"\x01hi"
    assert parse_message("v5.channel.k8s.io", b"\x00abc") == ChannelMessage(STDIN, b"abc")
    assert parse_message("v5.channel.k8s.io", bytes((CLOSE, STDIN))) == ChannelMessage(
        STDIN, close=True)
    # v4 has no close signal: 255 is just an (unknown) channel
    assert parse_message("v4.channel.k8s.io", bytes((CLOSE, STDIN))).close is False
    assert parse_message("v5.channel.k8s.io", b"") is None


def test_resize_messages():
    assert parse_resize(b'{"Width":80,"Height":24}') == (80, 24)
    assert parse_resize(b"nonsense") is None


def test_exit_codes_as_client_go_decodes_them():
    assert exit_status(0) == success_status() == {"metadata": {}, "status": "Success"}
    status = exit_status(3, ["sh", "-c", "exit 3"])
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert json.loads(frame(ERROR, json.dumps(status).encode())[1:]) == status
