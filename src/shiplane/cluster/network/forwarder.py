"""``shiplane cluster port-forward``: local loopback listeners relayed to a pod's port.

The target is resolved through the Kubernetes API like kubectl (:mod:`forward_target`); the
connection then goes straight to the pod's address, which is reachable from this host for the
embedded cluster's process pods (``kubectl port-forward`` instead tunnels through the API
server's ``pods/portforward``, see :mod:`port_forward`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shiplane.cluster.network.endpoint_selection import Backend
from shiplane.cluster.network.errors import PortForwardError
from shiplane.cluster.network.forward_target import (
    choose_pod,
    parse_ports,
    parse_target,
    translate_service_ports,
)
from shiplane.cluster.network.port_forward import pod_target
from shiplane.cluster.network.tcp_relay import connect_first, relay
from shiplane.kube import KubeClient

__all__ = ["Forward", "resolve_forward", "run_forward"]


@dataclass(frozen=True)
class Forward:
    namespace: str
    pod: str
    address: str
    ports: list[tuple[int, int]]  # (local, pod port); local 0 = any free port


def resolve_forward(client: KubeClient, namespace: str, target: str, port_specs: Sequence[str]
                    ) -> Forward:
    kind, name = parse_target(target)
    ports = parse_ports(port_specs)
    if kind == "service":
        service = client.get("v1", "Service", name, namespace)
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            raise PortForwardError(f"service {name!r} has no selector to find its pods")
        pods = client.list("v1", "Pod", namespace, label_selector=",".join(
            f"{k}={v}" for k, v in sorted(selector.items())))
        pod = choose_pod(pods, name)
        ports = translate_service_ports(service, pod, ports)
    else:
        pod = client.get("v1", "Pod", name, namespace)
    address, why = pod_target(pod)
    if address is None:
        raise PortForwardError(why or "the pod cannot be reached")
    return Forward(namespace, pod["metadata"]["name"], address, ports)


async def _serve(forward: Forward, on_ready: Callable[[int, int], None],
                 stop: asyncio.Event) -> None:
    servers = []
    for local, remote in forward.ports:
        async def handle(reader, writer, remote=remote):
            connected = await connect_first([Backend(forward.address, remote)])
            if connected is None:
                writer.close()
                return
            await relay((reader, writer), connected[1:])

        try:
            server = await asyncio.start_server(handle, "127.0.0.1", local, reuse_address=True)
        except OSError as exc:
            for s in servers:
                s.close()
            raise PortForwardError(f"unable to listen on port {local}: {exc.strerror}") from exc
        servers.append(server)
        on_ready(server.sockets[0].getsockname()[1], remote)
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()


def run_forward(kubeconfig: Path | None, namespace: str, target: str, port_specs: Sequence[str],
                on_ready: Callable[[int, int], None]) -> None:
    """Resolve the target and forward until interrupted (Ctrl-C)."""
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        forward = resolve_forward(client, namespace, target, port_specs)
    try:
        asyncio.run(_serve(forward, on_ready, asyncio.Event()))
    except KeyboardInterrupt:
        pass
