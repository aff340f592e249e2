"""Request attributes from a URL path and method (k8s.io/apiserver
``pkg/endpoints/request/requestinfo.go`` ``RequestInfoFactory.NewRequestInfo``).

Resource requests live under ``/api/<version>`` and ``/apis/<group>/<version>``; anything
shorter (``/api``, ``/apis/apps``, ``/apis/apps/v1``) and every other path (``/version``,
``/openapi/v3``, ``/healthz``) is a non-resource request whose verb is the lower-cased method.

Verbs: GET → ``get`` with a name, ``list`` without, ``watch`` with ``watch=true|1`` (or the
legacy ``/watch/`` prefix); POST → ``create``; PUT → ``update``; PATCH → ``patch``;
DELETE → ``delete`` with a name, ``deletecollection`` without. ``namespaces/<ns>/...`` sets the
namespace; ``/api/v1/namespaces/<name>`` is the namespace itself (its name is also the
namespace), and ``status``/``finalize`` after it are its subresources.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qs

from shiplane.cluster.auth.user import UserInfo

__all__ = ["Attributes", "request_attributes"]

_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
_SPECIAL_VERBS = {"proxy", "watch"}


@dataclass(frozen=True)
class Attributes:
    """What is being asked, by whom (authorizer.Attributes)."""

    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    def for_user(self, user: UserInfo) -> Attributes:
        return replace(self, user=user)


def request_attributes(method: str, path: str, query: str = "", user: UserInfo | None = None) -> Attributes:
    who = user or UserInfo("")
    method = method.upper()
    parts = [p for p in path.strip("/").split("/") if p]
    non_resource = Attributes(who, method.lower(), False, path or "/")
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    if parts[0] == "api":
        if len(parts) < 3:
            return non_resource
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 4:
            return non_resource
        group, version, rest = parts[1], parts[2], parts[3:]

    verb = ""
    if rest and rest[0] in _SPECIAL_VERBS:
        verb, rest = rest[0], rest[1:]
        if not rest:
            return non_resource
    namespace = ""
    if rest[0] == "namespaces":
        if len(rest) > 1:
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""

    if not verb:
        params = parse_qs(query)
        watching = any(v.lower() in ("true", "1") for v in params.get("watch", []))
        verb = {
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
        }.get(method, "")
        if method in ("GET", "HEAD"):
            verb = "watch" if watching else ("get" if name else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        elif not verb:
            verb = method.lower()
    elif verb == "watch" and not name:
        verb = "watch"
    return Attributes(who, verb, True, path, namespace, group, version, resource, subresource, name)
