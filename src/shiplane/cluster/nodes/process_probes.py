"""Probe and hook handlers that act on a real process pod (k8s pkg/probe/{http,tcp,exec}).

* ``httpGet``: ``GET scheme://host:port/path`` with the probe's headers and
  ``User-Agent: kube-probe/<version>``; 200–399 is success (upstream follows redirects to the
  same host; here a redirect is a success, as its 3xx status). HTTPS skips verification, as
  the kubelet does. The connection goes to ``podIP:port`` through the pod's forwarder when that
  port is forwarded, else straight into the pod's netns.
* ``tcpSocket``: a TCP connect succeeds.
* ``exec``: the command in the container's namespaces (:meth:`BwrapContainers.exec_in`),
  exit 0 is success; after ``timeoutSeconds`` it fails.
Failure texts follow the kubelet's event messages (``HTTP probe failed with statuscode: 503``,
``dial tcp 127.1.2.3:8080: connect: connection refused``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

from shiplane.cluster.nodes.bwrap_containers import BwrapContainers, ContainerInstance, PodSandbox

__all__ = ["PROBE_USER_AGENT", "ProbeTarget", "resolve_port", "run_handler"]

PROBE_USER_AGENT = "kube-probe/1.31"
Obj = Mapping[str, Any]


def resolve_port(port: int | str, container: Obj) -> int:
    """A probe port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item["containerPort"])
    raise ValueError(f"unable to resolve port name {port!r} in container {container.get('name')}")


class ProbeTarget:
    """Where a pod's probes go: its sandbox (IP, forwarder, netns) and the container."""

    def __init__(self, containers: BwrapContainers, sandbox: PodSandbox,
                 instance: ContainerInstance, container: Obj) -> None:
        self.containers = containers
        self.sandbox = sandbox
        self.instance = instance
        self.container = container

    async def _open(self, host: str, port: int, timeout: float
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        forwarded = {s.getsockname()[1] for s in self.sandbox.forwarder.sockets}
        if host == self.sandbox.ip and port in forwarded:
            return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        if host == self.sandbox.ip:
            return await self.sandbox.dialer.open(port, timeout)
        return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)

    async def http_get(self, action: Obj, timeout: float) -> tuple[bool, str]:
        port = resolve_port(action.get("port", 80), self.container)
        host = action.get("host") or self.sandbox.ip
        scheme = str(action.get("scheme") or "HTTP").lower()
        path = action.get("path") or "/"
        if not path.startswith("/"):
            path = "/" + path
        url = f"{scheme}://{host}:{port}{path}"
        headers = {"Host": f"{host}:{port}", "User-Agent": PROBE_USER_AGENT, "Accept": "*/*",
                   "Connection": "close"}
        for header in action.get("httpHeaders") or []:
            headers[header.get("name", "")] = str(header.get("value", ""))
        try:
            reader, writer = await self._open(host, port, timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            return False, f'Get "{url}": {_dial_error(host, port, exc)}'
        try:
            if scheme == "https":
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                await asyncio.wait_for(writer.start_tls(context, server_hostname=host), timeout)
            request = f"GET {path} HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            writer.write(request.encode())
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), timeout)
        except asyncio.TimeoutError:
            return False, (f'Get "{url}": context deadline exceeded (Client.Timeout exceeded '
                           "while awaiting headers)")
        except (OSError, ssl.SSLError) as exc:
            return False, f'Get "{url}": {exc}'
        finally:
            writer.close()
        parts = line.decode(errors="replace").split()
        if not line:  # closed before a response: nothing listens in the pod yet
            return False, f'Get "{url}": EOF'
        if len(parts) < 2 or not parts[1].isdigit():
            return False, f'Get "{url}": malformed HTTP response {line[:80]!r}'
        code = int(parts[1])
        if 200 <= code < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {code}"

    async def tcp_socket(self, action: Obj, timeout: float) -> tuple[bool, str]:
        port = resolve_port(action.get("port", 0), self.container)
        host = action.get("host") or self.sandbox.ip
        try:
            _reader, writer = await self._open(host, port, timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            return False, _dial_error(host, port, exc)
        writer.close()
        return True, ""

    async def exec(self, action: Obj, timeout: float) -> tuple[bool, str]:
        command = [str(c) for c in action.get("command") or []]
        if not command:
            return False, "exec probe has no command"
        code, output = await self.containers.exec_in(self.instance, command, timeout)
        if code is None:
            return False, f"command {command!r} timed out"
        if code != 0:
            return False, output.decode(errors="replace").strip() or f"exit code {code}"
        return True, ""


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"dial tcp {host}:{port}: i/o timeout"
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {host}:{port}: connect: connection refused"
    return f"dial tcp {host}:{port}: {exc}"


async def run_handler(target: ProbeTarget, handler: Obj, timeout: float) -> tuple[bool, str]:
    """Run a probe (or lifecycle hook) handler: httpGet, tcpSocket or exec."""
    try:
        if "httpGet" in handler:
            return await target.http_get(handler["httpGet"], timeout)
        if "tcpSocket" in handler:
            return await target.tcp_socket(handler["tcpSocket"], timeout)
        if "exec" in handler:
            return await target.exec(handler["exec"], timeout)
    except ValueError as exc:
        return False, str(exc)
    kinds = ", ".join(k for k in handler if k not in ("initialDelaySeconds", "periodSeconds"))
    return False, f"probe handler not supported by the process runtime: {kinds or 'none'}"
