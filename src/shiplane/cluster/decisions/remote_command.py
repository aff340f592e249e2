"""RemoteCommand (``pods/exec``, ``pods/attach``) as pure functions: options, subprotocols,
channel framing and the Status written on the error channel. No I/O.

Theory of operation (KEP-4006; apimachinery pkg/util/remotecommand, apiserver
pkg/util/wsstream, kubelet pkg/kubelet/cri/streaming/remotecommand):

* kubectl 1.30+ opens a WebSocket to ``.../pods/NAME/exec?command=..&stdout=true..`` asking
  for ``v5.channel.k8s.io`` (then ``v4.channel.k8s.io``, …); client libraries ask for v4 or v5.
  The server picks the first protocol of the client's list it speaks.
* Every binary message is one channel byte then data: 0 stdin (client → server), 1 stdout,
  2 stderr, 3 error (one ``metav1.Status`` JSON, then the server closes), 4 resize
  (``{"Width":W,"Height":H}``). v5 adds the close signal: a message ``[255, channel]`` from the
  client half-closes that channel (kubectl sends ``[255, 0]`` when its stdin ends).
* The error channel carries ``{"metadata":{},"status":"Success"}``, or for an exit code N ≠ 0
  ``status: Failure, reason: NonZeroExitCode, details.causes: [{reason: ExitCode, message:
  "N"}]`` — client-go turns that into ``command terminated with exit code N`` and kubectl
  exits N (kubelet remotecommand/exec.go ``ServeExec``).
* The API server passes the options on to the kubelet with the kubelet's parameter names
  (apiserver ``streamParams``: ``input``/``output``/``error``/``tty`` = ``1``, ``command``
  repeated), where they are checked (kubelet remotecommand ``NewOptions``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = ["CHANNEL_PROTOCOLS", "CLOSE", "ERROR", "RESIZE", "STDERR", "STDIN", "STDOUT",
           "ChannelMessage", "InvalidStreamOptions", "StreamOptions", "apiserver_options",
           "exit_status", "failure_status", "frame", "kubelet_options", "kubelet_query",
           "negotiate", "parse_message", "parse_resize", "success_status"]

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255  # v5: [255, channel] closes the client's side of that channel
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
CHANNEL_PROTOCOLS = (V5, V4)  # the base64 variants and v1-v3 are not served


class InvalidStreamOptions(DecisionInputError):
    """The exec/attach options cannot be served (a 400 with this text)."""


@dataclass(frozen=True)
class StreamOptions:
    command: tuple[str, ...] = ()  # exec only
    container: str = ""
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False


def _bool(value: str) -> bool:
    # strconv.ParseBool, what the query-parameter conversion uses; anything else is false here
    return value in ("1", "t", "T", "true", "TRUE", "True")


def _values(query: Iterable[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in query if k == key]


def _first(query: Iterable[tuple[str, str]], key: str) -> str:
    found = _values(query, key)
    return found[0] if found else ""


def _checked(options: StreamOptions, exec_: bool) -> StreamOptions:
    if exec_ and not options.command:
        raise InvalidStreamOptions("you must specify at least one command for the container")
    if options.tty and options.stderr:  # kubelet NewOptions: a tty has no separate stderr
        options = StreamOptions(options.command, options.container, options.stdin,
                                options.stdout, False, True)
    if not (options.stdin or options.stdout or options.stderr):
        raise InvalidStreamOptions("you must specify at least 1 of stdin, stdout, stderr")
    if options.tty:
        raise InvalidStreamOptions(
            "a TTY is not supported by shiplane's process runtime: run without -t/--tty")
    return options


def apiserver_options(query: Sequence[tuple[str, str]], exec_: bool) -> StreamOptions:
    """PodExecOptions / PodAttachOptions from the API request's query (``stdin=true`` …)."""
    return _checked(StreamOptions(
        command=tuple(_values(query, "command")) if exec_ else (),
        container=_first(query, "container"),
        stdin=_bool(_first(query, "stdin")), stdout=_bool(_first(query, "stdout")),
        stderr=_bool(_first(query, "stderr")), tty=_bool(_first(query, "tty"))), exec_)


def kubelet_query(options: StreamOptions) -> list[tuple[str, str]]:
    """The kubelet URL's query for ``options`` (apiserver ``streamParams``)."""
    query = [(name, "1") for name, on in (("input", options.stdin), ("output", options.stdout),
                                          ("error", options.stderr), ("tty", options.tty)) if on]
    return query + [("command", part) for part in options.command]


def kubelet_options(query: Sequence[tuple[str, str]], exec_: bool) -> StreamOptions:
    """The options back from the kubelet URL's query (kubelet remotecommand ``NewOptions``)."""
    return _checked(StreamOptions(
        command=tuple(_values(query, "command")) if exec_ else (),
        stdin=_first(query, "input") == "1", stdout=_first(query, "output") == "1",
        stderr=_first(query, "error") == "1", tty=_first(query, "tty") == "1"), exec_)


def negotiate(requested: Sequence[str]) -> str | None:
    """The client's first protocol this server speaks, or None (the upgrade is refused)."""
    return next((p for p in requested if p in CHANNEL_PROTOCOLS), None)


def frame(channel: int, data: bytes) -> bytes:
    return bytes((channel,)) + data


@dataclass(frozen=True)
class ChannelMessage:
    channel: int
    data: bytes = b""
    close: bool = False  # v5 close signal for ``channel``


def parse_message(protocol: str, message: bytes) -> ChannelMessage | None:
    """A client message: data for a channel, a v5 close signal, or None (empty: ignored)."""
    if not message:
        return None
    if message[0] == CLOSE and protocol == V5:
        return ChannelMessage(message[1], close=True) if len(message) > 1 else None
    return ChannelMessage(message[0], message[1:])


def parse_resize(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message (``TerminalSize`` JSON), None when malformed."""
    try:
        size = json.loads(data)
        return int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None


def success_status() -> dict:
    return {"metadata": {}, "status": "Success"}


def failure_status(message: str, code: int = 500, reason: str = "InternalError") -> dict:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason,
            "code": code}


def exit_status(code: int, command: Sequence[str] = ()) -> dict:
    """The error channel's Status for a finished command (exit codes above 255 are a
    signal's 128+n already folded by the caller)."""
    if code == 0:
        return success_status()
    return {"metadata": {}, "status": "Failure",
            "message": (f"command terminated with non-zero exit code: error executing command "
                        f"[{' '.join(command)}], exit code {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
