"""RBAC authorization as a pure function over Role, ClusterRole, RoleBinding and
ClusterRoleBinding objects (k8s.io/kubernetes ``plugin/pkg/auth/authorizer/rbac``).

A request is allowed when some binding that applies to it grants a rule that covers it:

* ClusterRoleBindings apply everywhere; RoleBindings only to requests in their namespace and
  may reference a Role of that namespace or a ClusterRole;
* subjects: ``User`` by name, ``Group`` by membership, ``ServiceAccount`` as
  ``system:serviceaccount:<namespace>:<name>`` (namespace defaulting to the binding's);
* rules (``rbac/v1/evaluation_helpers.go``): verbs (``*``), apiGroups (``*``), resources (``*``,
  ``res/sub``, ``*/sub``), resourceNames (empty = all; never matches a request without a
  name), nonResourceURLs (exact, or a ``prefix*``);
* the ``system:masters`` group is a superuser, as kube-apiserver's privileged-group authorizer.

Aggregated ClusterRoles are not evaluated (issue scope); a binding to a missing role grants
nothing. Denials carry upstream's 403 message (``responsewriters.forbiddenMessage`` +
``errors.NewForbidden``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.auth.errors import Forbidden
from shiplane.cluster.auth.requestinfo import Attributes
from shiplane.cluster.auth.user import MASTERS

__all__ = ["Decision", "RBACAuthorizer", "forbidden", "forbidden_message", "rule_allows"]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def _verb_matches(rule: dict[str, Any], verb: str) -> bool:
    verbs = rule.get("verbs") or ()
    return "*" in verbs or verb in verbs


def _group_matches(rule: dict[str, Any], group: str) -> bool:
    groups = rule.get("apiGroups") or ()
    return "*" in groups or group in groups


def _resource_matches(rule: dict[str, Any], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for candidate in rule.get("resources") or ():
        if candidate == "*" or candidate == combined:
            return True
        if subresource and candidate == f"*/{subresource}":
            return True
    return False


def _name_matches(rule: dict[str, Any], name: str) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or name in names


def _url_matches(rule: dict[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(attrs: Attributes, rule: dict[str, Any]) -> bool:
    if attrs.resource_request:
        return (_verb_matches(rule, attrs.verb) and _group_matches(rule, attrs.api_group)
                and _resource_matches(rule, attrs.resource, attrs.subresource)
                and _name_matches(rule, attrs.name))
    return _verb_matches(rule, attrs.verb) and _url_matches(rule, attrs.path)


def _subject_matches(subject: dict[str, Any], attrs: Attributes, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    user = attrs.user
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


def _describe_subject(subject: dict[str, Any], namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("namespace") or namespace}/{subject.get("name")}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


class RBACAuthorizer:
    """An index over RBAC objects; rebuild it (cheap) when they change."""

    def __init__(self, roles: Iterable[dict[str, Any]] = (), cluster_roles: Iterable[dict[str, Any]] = (),
                 role_bindings: Iterable[dict[str, Any]] = (),
                 cluster_role_bindings: Iterable[dict[str, Any]] = ()) -> None:
        self._roles = {(_ns(r), _name(r)): r for r in roles}
        self._cluster_roles = {_name(r): r for r in cluster_roles}
        self._role_bindings: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for binding in role_bindings:
            self._role_bindings[_ns(binding)].append(binding)
        self._cluster_role_bindings = list(cluster_role_bindings)

    def _rules(self, role_ref: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
        if role_ref.get("kind") == "ClusterRole":
            role = self._cluster_roles.get(role_ref.get("name", ""))
        elif role_ref.get("kind") == "Role":
            role = self._roles.get((namespace, role_ref.get("name", "")))
        else:
            role = None
        return list((role or {}).get("rules") or ())

    def authorize(self, attrs: Attributes) -> Decision:
        if MASTERS in attrs.user.groups:
            return Decision(True, f'allowed by the "{MASTERS}" group')
        for binding in self._cluster_role_bindings:
            ref = binding.get("roleRef") or {}
            for subject in binding.get("subjects") or ():
                if _subject_matches(subject, attrs, ""):
                    if any(rule_allows(attrs, r) for r in self._rules(ref, "")):
                        return Decision(True, f'RBAC: allowed by ClusterRoleBinding "{_name(binding)}" of '
                                              f'{ref.get("kind")} "{ref.get("name")}" to '
                                              f"{_describe_subject(subject, '')}")
                    break
        if attrs.namespace:
            for binding in self._role_bindings.get(attrs.namespace, ()):
                ref = binding.get("roleRef") or {}
                namespace = _ns(binding)
                for subject in binding.get("subjects") or ():
                    if _subject_matches(subject, attrs, namespace):
                        if any(rule_allows(attrs, r) for r in self._rules(ref, namespace)):
                            return Decision(True, f'RBAC: allowed by RoleBinding "{_name(binding)}/{namespace}" '
                                                  f'of {ref.get("kind")} "{ref.get("name")}" to '
                                                  f"{_describe_subject(subject, namespace)}")
                        break
        return Decision(False, "")

    def check(self, attrs: Attributes) -> None:
        """Raise :class:`Forbidden` unless ``attrs`` is allowed."""
        decision = self.authorize(attrs)
        if not decision.allowed:
            raise forbidden(attrs, decision.reason)


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _ns(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def forbidden_message(attrs: Attributes) -> str:
    user = attrs.user.name
    if not attrs.resource_request:
        return f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if attrs.namespace:
        return (f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group '
                f'"{attrs.api_group}" in the namespace "{attrs.namespace}"')
    return (f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group '
            f'"{attrs.api_group}" at the cluster scope')


def forbidden(attrs: Attributes, reason: str = "") -> Forbidden:
    """The 403 error upstream answers (``errors.NewForbidden`` around the message)."""
    text = forbidden_message(attrs)
    if reason:
        text = f"{text}: {reason}"
    if not attrs.resource_request:
        return Forbidden(f"forbidden: {text}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if attrs.name:
        message = f'{qualified} "{attrs.name}" is forbidden: {text}'
    else:
        message = f"{qualified} is forbidden: {text}"
    return Forbidden(message, name=attrs.name, group=attrs.api_group, kind=attrs.resource)
