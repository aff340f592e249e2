"""Which Service backend an HTTP request goes to, from networking.k8s.io/v1 Ingress objects (pure).

Semantics (k8s docs "Ingress", API reference HTTPIngressPath; upstream conformance
test/e2e/network/ingress.go path cases):

* Host: a rule without ``host`` matches every host. ``foo.bar.com`` matches exactly (case
  insensitive, the request's port ignored). A wildcard ``*.foo.com`` matches exactly one more
  DNS label: ``bar.foo.com`` yes, ``baz.bar.foo.com`` and ``foo.com`` no.
* Host precedence: as ingress-nginx builds one server block per host, the request's host
  selects the most specific group of rules that names it: exact host, else wildcard host, else
  the host-less rules. Paths are matched within that group only; a request whose host group has
  no matching path goes to the default backend.
* Paths: ``Exact`` is a case-sensitive equality. ``Prefix`` compares ``/``-separated elements:
  ``/foo/bar`` matches ``/foo/bar`` and ``/foo/bar/baz`` but not ``/foo/barbaz``; a trailing
  slash on either side is ignored; ``/`` matches every path. ``ImplementationSpecific`` is
  treated as ``Prefix`` (the docs leave it to the IngressClass; ingress-nginx without regex
  annotations behaves as a prefix too).
* Several matches: the longest path wins; at equal length ``Exact`` beats ``Prefix``; remaining
  ties go to the oldest Ingress (creationTimestamp, then namespace/name), as ingress-nginx
  resolves conflicting rules.
* Default backend: ``spec.defaultBackend`` of the oldest Ingress that has one; without any, the
  controller answers 404.

Ingresses of every namespace are merged (their backends name Services in their own namespace).
Only Ingresses for this controller's class are given to :func:`route` (see :func:`is_ours`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTROLLER_NAME",
    "INGRESS_CLASS",
    "Route",
    "host_matches",
    "is_ours",
    "path_matches",
    "route",
]

INGRESS_CLASS = "shiplane"
CONTROLLER_NAME = "shiplane.dev/ingress-controller"
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


@dataclass(frozen=True)
class Route:
    """Where one request goes: the Service ``namespace/name`` and its port (number or name)."""

    service: str
    port: int | str
    ingress: str  # namespace/name of the Ingress that decided
    path: str | None  # the matched path; None for the default backend


def is_ours(ingress: Mapping[str, Any], default_class: bool = True) -> bool:
    """Ingresses naming class ``shiplane`` are ours; so are class-less ones when this
    controller is the cluster's default (the only one)."""
    spec = ingress.get("spec") or {}
    cls = spec.get("ingressClassName") or ((ingress.get("metadata") or {}).get(
        "annotations") or {}).get("kubernetes.io/ingress.class")
    return cls == INGRESS_CLASS if cls else default_class


def _host_only(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def host_matches(rule_host: str | None, request_host: str) -> str | None:
    """How ``rule_host`` matches: ``"exact"``, ``"wildcard"``, ``"any"`` (no host), or None."""
    if not rule_host:
        return "any"
    rule_host = rule_host.lower()
    host = _host_only(request_host)
    if rule_host.startswith("*."):
        suffix = rule_host[1:]  # ".foo.com"
        label = host[: -len(suffix)] if host.endswith(suffix) else ""
        return "wildcard" if label and "." not in label else None
    return "exact" if host == rule_host else None


def _elements(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def path_matches(path_type: str, rule_path: str, request_path: str) -> bool:
    if path_type == "Exact":
        return request_path == rule_path
    want = _elements(rule_path)
    return _elements(request_path)[: len(want)] == want


def _age(ingress: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = ingress.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("namespace") or "default",
            meta.get("name") or "")


def _backend(ingress: Mapping[str, Any], backend: Mapping[str, Any] | None
             ) -> tuple[str, int | str] | None:
    service = (backend or {}).get("service") or {}
    port = service.get("port") or {}
    number = port.get("number") or port.get("name")
    if not service.get("name") or number in (None, ""):
        return None  # resource backends are not served
    namespace = (ingress.get("metadata") or {}).get("namespace") or "default"
    return f"{namespace}/{service['name']}", number


_HOST_RANK = {"exact": 0, "wildcard": 1, "any": 2}


def route(ingresses: Iterable[Mapping[str, Any]], host: str, path: str) -> Route | None:
    """The backend for a request to ``host`` + ``path`` (query string already removed)."""
    ordered: Sequence[Mapping[str, Any]] = sorted(ingresses, key=_age)
    groups: dict[int, list[tuple[int, int, int, Route]]] = {}
    seen_hosts: set[int] = set()
    for age, ingress in enumerate(ordered):
        name = "/".join(_age(ingress)[1:])
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            how = host_matches(rule.get("host"), host)
            if how is None:
                continue
            rank = _HOST_RANK[how]
            seen_hosts.add(rank)
            for entry in (rule.get("http") or {}).get("paths") or []:
                path_type = entry.get("pathType") or "ImplementationSpecific"
                rule_path = entry.get("path") or "/"
                if path_type not in PATH_TYPES or not path_matches(path_type, rule_path, path):
                    continue
                target = _backend(ingress, entry.get("backend"))
                if target is None:
                    continue
                length = len(rule_path.rstrip("/")) if path_type != "Exact" else len(rule_path)
                candidate = Route(target[0], target[1], name, rule_path)
                groups.setdefault(rank, []).append(
                    (-length, 0 if path_type == "Exact" else 1, age, candidate))
    if seen_hosts:
        best_rank = min(seen_hosts)
        if groups.get(best_rank):
            return min(groups[best_rank], key=lambda c: c[:3])[3]
    for ingress in ordered:
        target = _backend(ingress, (ingress.get("spec") or {}).get("defaultBackend"))
        if target is not None:
            return Route(target[0], target[1], "/".join(_age(ingress)[1:]), None)
    return None
