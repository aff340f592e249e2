"""The kubelet's ``/exec`` and ``/attach`` (k8s pkg/kubelet/server ``getExec``/``getAttach``):
a command run in a running process-runtime container, or the container's own output, relayed
over the RemoteCommand WebSocket channels (:mod:`shiplane.cluster.decisions.remote_command`).

How exec enters the container: ``nsenter --target <app pid> -m -u -i -n -p -r -w`` (+
``-S uid -G gid`` for a non-root container) ``-- argv``. The app is PID 1 of the container's
own pid and mount namespaces (:mod:`.bwrap_containers`), so its ``/proc/<pid>`` holds
everything the command must share: ``-m -u -i -n -p`` join the container's mount, UTS, IPC,
network and pid namespaces, ``-r``/``-w`` take its root directory (the image's rootfs, with the
pod's volumes bound in) and working directory; the environment is the container's own
(``ContainerInstance.env``) and the user the container's. This is what exec probes already do
(:meth:`BwrapContainers.exec_in`), with the three standard streams as pipes. nsenter forks
into the pid namespace; both run in their own process group, which is killed when the client
goes away. Not joined: the container's memory cgroup (as probes; the command's memory is
outside the limit) and its capability bounding set (root exec has the host root's).

Attach relays what the container writes from now on: its stdout/stderr are already read by
the runtime into the CRI log file, so attach follows that file from its current end (every
100 ms, line by line, as ``kubectl logs -f``) until the container exits; the channel status is
then Success. A container with ``stdin: true`` is started with its stdin a pipe that stays open
(the runtime keeps the write end); attach with ``-i`` writes the client's stdin into it, and
with ``stdinOnce: true`` the pipe is closed when that session ends its stdin or goes away.
Attaching stdin to any other container is refused.

:func:`exec_command_line` and :func:`target_refusal` are pure; errors before the upgrade are
plain text with kubelet's wording and code, which the API server passes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect

from shiplane.cluster.decisions.container_log import parse_record
from shiplane.cluster.decisions.remote_command import (
    ERROR,
    RESIZE,
    STDERR,
    STDIN,
    STDOUT,
    StreamOptions,
    exit_status,
    failure_status,
    frame,
    parse_message,
    success_status,
)
from shiplane.cluster.nodes.bwrap_containers import ContainerInstance

__all__ = ["StreamRefused", "StreamTarget", "exec_command_line", "serve_attach", "serve_exec",
           "target_refusal"]

log = logging.getLogger(__name__)
CHUNK = 32 * 1024
ATTACH_POLL = 0.1


class StreamRefused(Exception):
    """Why a stream cannot start: ``code`` and kubelet's plain-text ``message``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class StreamTarget:
    """A running process-runtime container: its live instance and its spec."""

    instance: ContainerInstance
    container: dict
    nsenter: str


def target_refusal(pod: str, container: str, runtime: str, node: str,
                   spec: dict | None, running: bool, attach_stdin: bool) -> StreamRefused | None:
    """Why ``container`` of ``pod`` cannot be exec'd/attached to, else None. ``spec``: the
    container's spec (None: not in the pod); ``running``: a live process exists."""
    if spec is None:
        return StreamRefused(404, f'container not found ("{container}")')
    if runtime != "process":
        return StreamRefused(400, (
            f'container "{container}" of pod "{pod}" is simulated (node {node} has runtime '
            f'{runtime}): a simulated container runs no process to exec into or attach to; '
            'run the pod on a node with runtime "process"'))
    if not running:
        return StreamRefused(500, f'container not found ("{container}")')  # kubelet's words
    if attach_stdin and not spec.get("stdin"):
        return StreamRefused(400, (
            f'cannot attach stdin to container "{container}" of pod "{pod}": it was not '
            "created with stdin: true; attach without -i/--stdin"))
    return None


def exec_command_line(nsenter: str, pid: int, uid: int, gid: int, argv: Sequence[str]
                      ) -> list[str]:
    """nsenter into every namespace, root and working directory of the container's PID 1."""
    command = [nsenter, "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w"]
    if uid != 0:
        command += ["-S", str(uid), "-G", str(gid)]
    return [*command, "--", *argv]


class _Channels:
    """Sends framed messages on one WebSocket (one writer at a time)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()
        self.gone = False

    async def send(self, channel: int, data: bytes) -> None:
        if self.gone:
            return
        async with self.lock:
            try:
                await self.websocket.send_bytes(frame(channel, data))
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.gone = True

    async def finish(self, status: dict) -> None:
        await self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self.websocket.close(1000)


async def _pump(stream: asyncio.StreamReader, channels: _Channels, channel: int) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await stream.read(CHUNK):
            await channels.send(channel, data)


class _PipeStdin:
    """stdin of an exec'd command (an asyncio pipe)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


class _ContainerStdin:
    """The container app's own stdin pipe (attach; spec ``stdin: true``). ``stdinOnce``: the
    pipe is closed when this first session ends its stdin or goes away (the app sees EOF)."""

    def __init__(self, instance: ContainerInstance, once: bool) -> None:
        self.instance = instance
        self.once = once

    async def write(self, data: bytes) -> None:
        fd = self.instance.stdin
        if fd is not None:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(_write_all, fd, data)

    def close(self) -> None:
        if self.once and self.instance.stdin is not None:
            with contextlib.suppress(OSError):
                os.close(self.instance.stdin)
            self.instance.stdin = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


async def _receive(websocket: WebSocket, protocol: str, stdin: _PipeStdin | _ContainerStdin | None
                   ) -> None:
    """Client messages until it disconnects: stdin data, stdin close (v5), resizes (ignored)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            # client libraries may send a text message (the Python client does for str data)
            raw = message.get("bytes") or (message.get("text") or "").encode()
            parsed = parse_message(protocol, raw)
            if parsed is None or parsed.channel == RESIZE or stdin is None:
                continue
            if parsed.channel != STDIN:
                continue
            if parsed.close:
                stdin.close()
                stdin = None
                continue
            if parsed.data:
                await stdin.write(parsed.data)
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        if isinstance(stdin, _ContainerStdin):  # the session ended: stdinOnce closes
            stdin.close()


async def serve_exec(websocket: WebSocket, protocol: str, target: StreamTarget,
                     options: StreamOptions) -> None:
    instance = target.instance
    pipe, null = subprocess.PIPE, subprocess.DEVNULL
    command = exec_command_line(target.nsenter, instance.pid, instance.uid, instance.gid,
                                options.command)
    await websocket.accept(subprotocol=protocol)
    channels = _Channels(websocket)
    try:
        process = await asyncio.create_subprocess_exec(
            *command, env=instance.env, start_new_session=True,
            stdin=pipe if options.stdin else null, stdout=pipe if options.stdout else null,
            stderr=pipe if options.stderr else null)
    except OSError as exc:
        await channels.finish(failure_status(f"error executing command in container: {exc}"))
        return
    pumps = [asyncio.ensure_future(_pump(stream, channels, channel))
             for stream, channel in ((process.stdout, STDOUT), (process.stderr, STDERR))
             if stream is not None]
    receiver = asyncio.ensure_future(_receive(
        websocket, protocol, _PipeStdin(process.stdin) if process.stdin is not None else None))
    waiter = asyncio.ensure_future(process.wait())
    try:
        await asyncio.wait([waiter, receiver], return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():  # the client went away first: end the command
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            await waiter
            return
        if pumps:
            await asyncio.wait(pumps, timeout=30)  # output still in the pipes
        code = waiter.result()
        # a signal-ended command: the shell convention 128+n, as runc reports it
        await channels.finish(exit_status(128 - code if code < 0 else code, options.command))
    finally:
        for task in (*pumps, receiver):
            task.cancel()
        if process.stdin is not None:
            process.stdin.close()


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def serve_attach(websocket: WebSocket, protocol: str, target: StreamTarget,
                       options: StreamOptions) -> None:
    instance = target.instance
    await websocket.accept(subprotocol=protocol)
    channels = _Channels(websocket)
    stdin = (_ContainerStdin(instance, bool(target.container.get("stdinOnce")))
             if options.stdin else None)
    receiver = asyncio.ensure_future(_receive(websocket, protocol, stdin))
    offset, pending = _file_size(instance.log_path), b""
    wanted = {"stdout": options.stdout, "stderr": options.stderr}
    try:
        while not receiver.done() and not channels.gone:
            live = instance.running or not instance.output_done.is_set()
            try:
                with open(instance.log_path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except FileNotFoundError:
                data = b""
            offset += len(data)
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            for line in lines:
                record = parse_record(line)
                if record is not None and wanted.get(record.stream):
                    text = record.message + (b"" if record.partial else b"\n")
                    await channels.send(STDOUT if record.stream == "stdout" else STDERR, text)
            if not live and not data:
                break
            await asyncio.sleep(ATTACH_POLL)
        if not receiver.done():
            await channels.finish(success_status())
    finally:
        receiver.cancel()
