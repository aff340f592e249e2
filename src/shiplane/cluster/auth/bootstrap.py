"""Default ClusterRoles and ClusterRoleBindings the API server creates at start.

Reduced but faithful versions of kube-apiserver's bootstrap policy
(``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``): the user-facing roles
``cluster-admin``, ``admin``, ``edit`` and ``view`` over the resources shiplane serves (no
aggregation: the rules are written out), and the discovery roles every client needs —
``system:discovery``, ``system:public-info-viewer``, ``system:basic-user`` (self access
reviews, so ``kubectl auth can-i`` works for everyone). ``cluster-admin`` is bound to the
``system:masters`` group, as upstream does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bootstrap_cluster_role_bindings", "bootstrap_cluster_roles"]

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _url_rule(urls: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"nonResourceURLs": urls, "verbs": verbs}


_VIEW_RULES = [
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
                 "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                 "services", "services/status"], _READ),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                 "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], _READ),
    _rule([""], ["namespaces"], _READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], _READ),
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                     "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
                     "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"], _READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], _READ),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], _READ),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], _READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], _READ),
    _rule(["argoproj.io"], ["applications", "appprojects"], _READ),
]

_EDIT_RULES = [
    _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                 "services/proxy"], _READ),
    _rule([""], ["serviceaccounts"], ["impersonate"]),
    _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], _WRITE),
    _rule([""], ["pods/eviction"], ["create"]),
    _rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                 "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                 "services/proxy"], _WRITE),
    _rule([""], ["serviceaccounts/token"], ["create"]),
    _rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                     "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"], _WRITE),
    _rule(["autoscaling"], ["horizontalpodautoscalers"], _WRITE),
    _rule(["batch"], ["cronjobs", "jobs"], _WRITE),
    _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], _WRITE),
    _rule(["policy"], ["poddisruptionbudgets"], _WRITE),
    _rule(["discovery.k8s.io"], ["endpointslices"], _WRITE),
    _rule(["argoproj.io"], ["applications"], _WRITE),
]

_ADMIN_RULES = [
    _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
    _rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"], _WRITE + _READ),
]


def _cluster_role(name: str, rules: list[dict[str, Any]], *, user_facing: bool = False) -> dict[str, Any]:
    labels = dict(_BOOTSTRAP_LABELS)
    if user_facing and name != "cluster-admin":
        labels[f"rbac.authorization.k8s.io/aggregate-to-{name}"] = "true"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels, "annotations": dict(_AUTOUPDATE)},
        "rules": rules,
    }


def bootstrap_cluster_roles() -> list[dict[str, Any]]:
    return [
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _url_rule(["*"], ["*"])], user_facing=True),
        _cluster_role("admin", _VIEW_RULES + _EDIT_RULES + _ADMIN_RULES, user_facing=True),
        _cluster_role("edit", _VIEW_RULES + _EDIT_RULES, user_facing=True),
        _cluster_role("view", list(_VIEW_RULES), user_facing=True),
        _cluster_role("system:discovery", [_url_rule(
            ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
             "/readyz", "/version", "/version/"], ["get"])]),
        _cluster_role("system:public-info-viewer", [_url_rule(
            ["/healthz", "/livez", "/readyz", "/version", "/version/"], ["get"])]),
        _cluster_role("system:basic-user", [_rule(
            ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
            _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
    ]


def _binding(name: str, role: str, subjects: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": n} for kind, n in subjects],
    }


def bootstrap_cluster_role_bindings() -> list[dict[str, Any]]:
    return [
        _binding("cluster-admin", "cluster-admin", [("Group", "system:masters")]),
        _binding("system:discovery", "system:discovery", [("Group", "system:authenticated")]),
        _binding("system:public-info-viewer", "system:public-info-viewer",
                 [("Group", "system:authenticated"), ("Group", "system:unauthenticated")]),
        _binding("system:basic-user", "system:basic-user", [("Group", "system:authenticated")]),
    ]
