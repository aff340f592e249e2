"""What ``port-forward TARGET PORTS`` connects to, decided like kubectl (pure).

* Ports (kubectl portforward.go ``parsePorts``): ``LOCAL:REMOTE``, ``PORT`` (same both sides)
  or ``:REMOTE`` (any free local port).
* Target: ``pod/NAME``, ``NAME`` (a pod), ``svc/NAME`` / ``service/NAME``; a Service forwards
  to one of its pods, the most active first (kubectl's GetFirstPod sorts the selected pods
  with ``sort.Reverse(podutils.ActivePods)``: bound, running, ready, ready longest), and must
  be Running.
* Service ports (kubectl ``translateServicePortToTargetPort``): the remote port names a Service
  ``port``; it becomes its ``targetPort``, a named targetPort looked up in the pod's
  container ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.cluster.decisions.pods import is_pod_ready
from shiplane.cluster.network.errors import PortForwardError

__all__ = ["choose_pod", "parse_ports", "parse_target", "translate_service_ports"]

Obj = Mapping[str, Any]


def parse_ports(specs: Sequence[str]) -> list[tuple[int, int]]:
    if not specs:
        raise PortForwardError("at least 1 PORT is required for port-forward")
    out = []
    for spec in specs:
        local, _, remote = spec.partition(":") if ":" in spec else (spec, "", spec)
        try:
            pair = (int(local) if local else 0, int(remote))
        except ValueError:
            raise PortForwardError(f"error parsing port {spec!r}: not LOCAL:REMOTE, PORT or "
                                   f":REMOTE with numbers") from None
        if not 0 <= pair[0] <= 65535 or not 0 < pair[1] <= 65535:
            raise PortForwardError(f"error parsing port {spec!r}: ports are 1-65535")
        out.append(pair)
    return out


def parse_target(target: str) -> tuple[str, str]:
    """``("pod"|"service", name)``."""
    kind, _, name = target.partition("/") if "/" in target else ("pod", "", target)
    kinds = {"pod": "pod", "pods": "pod", "po": "pod", "svc": "service", "service": "service",
             "services": "service"}
    if kind.lower() not in kinds or not name:
        raise PortForwardError(f"cannot port-forward to {target!r}",
                               hint="use pod/NAME, svc/NAME or a pod name")
    return kinds[kind.lower()], name


def _activity(pod: Obj) -> tuple:
    status = pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase"), 0)
    ready = is_pod_ready(pod)
    since = ""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            since = cond.get("lastTransitionTime") or ""
    # more active first: bound, running, ready, ready for longer (earlier timestamp)
    return (bool((pod.get("spec") or {}).get("nodeName")) or bool(status.get("podIP")),
            phase_rank, ready, _invert(since) if ready else "")


def _invert(timestamp: str) -> str:
    return "".join(chr(0x10FFFF - ord(c)) for c in timestamp)


def choose_pod(pods: Sequence[Obj], service_name: str) -> Obj:
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    if not live:
        raise PortForwardError(f"no pods of service {service_name!r} to forward to")
    return max(live, key=_activity)


def _container_port(pod: Obj, name: str) -> int | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name:
                return int(port["containerPort"])
    return None


def translate_service_ports(service: Obj, pod: Obj, ports: Sequence[tuple[int, int]]
                            ) -> list[tuple[int, int]]:
    svc_name = (service.get("metadata") or {}).get("name", "")
    out = []
    for local, remote in ports:
        match = next((p for p in (service.get("spec") or {}).get("ports") or []
                      if p.get("port") == remote), None)
        if match is None:
            raise PortForwardError(f"Service {svc_name} does not have a service port {remote}")
        target = match.get("targetPort") or remote
        if isinstance(target, str) and not target.isdigit():
            number = _container_port(pod, target)
            if number is None:
                pod_name = (pod.get("metadata") or {}).get("name", "")
                raise PortForwardError(f"Pod '{pod_name}' does not have a named port '{target}'")
            target = number
        out.append((local, int(target)))
    return out
