"""Request attributes (apiserver requestinfo_test.go), RBAC evaluation (rbac_test.go,
evaluation_helpers), upstream 403 messages, access reviews and bootstrap roles."""

import pytest

from shiplane.cluster.auth import (
    AUTHENTICATED,
    Forbidden,
    InvalidReview,
    RBACAuthorizer,
    UserInfo,
    bootstrap_cluster_role_bindings,
    bootstrap_cluster_roles,
    evaluate_access_review,
    forbidden,
    request_attributes,
)

ALICE = UserInfo("alice", groups=("developers", AUTHENTICATED))


@pytest.mark.parametrize(
    "method, path, query, expected",
    [
        ("GET", "/api/v1/namespaces", "", ("list", "", "", "namespaces", "", "")),
        ("GET", "/api/v1/namespaces/other", "", ("get", "other", "", "namespaces", "", "other")),
        ("GET", "/api/v1/namespaces/other/pods/foo", "", ("get", "other", "", "pods", "", "foo")),
        ("GET", "/api/v1/namespaces/other/pods/foo/log", "", ("get", "other", "", "pods", "log", "foo")),
        ("GET", "/api/v1/namespaces/other/pods", "watch=true", ("watch", "other", "", "pods", "", "")),
        ("GET", "/api/v1/watch/namespaces/other/pods", "", ("watch", "other", "", "pods", "", "")),
        ("GET", "/api/v1/pods", "", ("list", "", "", "pods", "", "")),
        ("POST", "/apis/apps/v1/namespaces/prod/deployments", "", ("create", "prod", "apps", "deployments", "", "")),
        ("PUT", "/apis/apps/v1/namespaces/prod/deployments/web/status", "",
         ("update", "prod", "apps", "deployments", "status", "web")),
        ("PATCH", "/apis/apps/v1/namespaces/prod/deployments/web/scale", "",
         ("patch", "prod", "apps", "deployments", "scale", "web")),
        ("DELETE", "/apis/apps/v1/namespaces/prod/deployments/web", "", ("delete", "prod", "apps", "deployments", "", "web")),
        ("DELETE", "/apis/apps/v1/namespaces/prod/deployments", "", ("deletecollection", "prod", "apps", "deployments", "", "")),
        ("PUT", "/api/v1/namespaces/gone/finalize", "", ("update", "gone", "", "namespaces", "finalize", "gone")),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "",
         ("create", "", "authorization.k8s.io", "selfsubjectaccessreviews", "", "")),
    ],
)
def test_resource_request_attributes(method, path, query, expected):
    a = request_attributes(method, path, query)
    assert a.resource_request
    assert (a.verb, a.namespace, a.api_group, a.resource, a.subresource, a.name) == expected


@pytest.mark.parametrize("method, path, verb", [
    ("GET", "/version", "get"), ("GET", "/api", "get"), ("GET", "/apis", "get"), ("GET", "/apis/apps", "get"),
    ("GET", "/apis/apps/v1", "get"), ("GET", "/openapi/v3/apis/apps/v1", "get"), ("POST", "/healthz", "post"),
    ("GET", "/api/v1", "get"),
])
def test_non_resource_requests(method, path, verb):
    a = request_attributes(method, path)
    assert not a.resource_request and a.verb == verb and a.path == path


def role(name, rules, namespace=None, kind="Role"):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": kind, "metadata": meta, "rules": rules}


def binding(name, role_kind, role_name, subjects, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, "roleRef": {"kind": role_kind, "name": role_name},
            "subjects": [dict(kind=k, name=n, **({"namespace": ns} if ns else {})) for k, n, ns in subjects]}


@pytest.fixture(scope="module")
def authorizer():
    roles = [
        role("deployer", [{"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"],
                           "verbs": ["get", "list", "patch", "update", "create"]}], "dev"),
        role("log-reader", [{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}], "dev"),
        role("one-config", [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"],
                             "verbs": ["get", "update"]}], "dev"),
    ]
    cluster_roles = bootstrap_cluster_roles() + [
        role("status-writer", [{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["*"]}], kind="ClusterRole"),
        role("metrics", [{"nonResourceURLs": ["/metrics", "/debug/*"], "verbs": ["get"]}], kind="ClusterRole"),
    ]
    role_bindings = [
        binding("devs-deploy", "Role", "deployer", [("Group", "developers", None)], "dev"),
        binding("alice-logs", "Role", "log-reader", [("User", "alice", None)], "dev"),
        binding("config", "Role", "one-config", [("User", "alice", None)], "dev"),
        binding("gitops-edit", "ClusterRole", "edit", [("ServiceAccount", "argocd-controller", "argocd")], "prod"),
        binding("viewers", "ClusterRole", "view", [("Group", "developers", None)], "prod"),
        binding("dangling", "Role", "missing", [("User", "alice", None)], "prod"),
    ]
    cluster_role_bindings = bootstrap_cluster_role_bindings() + [
        binding("controllers-status", "ClusterRole", "status-writer", [("User", "controller", None)]),
        binding("metrics", "ClusterRole", "metrics", [("Group", "monitoring", None)]),
    ]
    return RBACAuthorizer(roles, cluster_roles, role_bindings, cluster_role_bindings)


GITOPS = UserInfo("system:serviceaccount:argocd:argocd-controller",
                  groups=("system:serviceaccounts", "system:serviceaccounts:argocd", AUTHENTICATED))


@pytest.mark.parametrize(
    "user, method, path, query, allowed",
    [
        (ALICE, "PATCH", "/apis/apps/v1/namespaces/dev/deployments/web", "", True),
        (ALICE, "PATCH", "/apis/apps/v1/namespaces/dev/deployments/web/scale", "", True),
        (ALICE, "PATCH", "/apis/apps/v1/namespaces/dev/deployments/web/status", "", False),
        (ALICE, "DELETE", "/apis/apps/v1/namespaces/dev/deployments/web", "", False),
        (ALICE, "PATCH", "/apis/apps/v1/namespaces/prod/deployments/web", "", False),  # Model 2 governance
        (ALICE, "GET", "/apis/apps/v1/namespaces/prod/deployments/web", "", True),  # view in prod
        (ALICE, "GET", "/api/v1/namespaces/prod/secrets/db", "", False),  # view excludes secrets
        (ALICE, "GET", "/api/v1/namespaces/dev/pods/p/log", "", True),
        (ALICE, "GET", "/api/v1/namespaces/dev/pods/p", "", False),
        (ALICE, "GET", "/api/v1/namespaces/dev/configmaps/app", "", True),
        (ALICE, "GET", "/api/v1/namespaces/dev/configmaps/other", "", False),
        (ALICE, "GET", "/api/v1/namespaces/dev/configmaps", "", False),  # resourceNames never allow list
        (ALICE, "GET", "/apis/apps/v1/deployments", "", False),  # RoleBindings never grant cluster-wide
        (ALICE, "GET", "/version", "", True),
        (ALICE, "GET", "/openapi/v3/apis/apps/v1", "hash=X", True),
        (ALICE, "GET", "/metrics", "", False),
        (UserInfo("m", groups=("monitoring",)), "GET", "/debug/pprof/heap", "", True),
        (UserInfo("system:anonymous", groups=("system:unauthenticated",)), "GET", "/version", "", True),
        (UserInfo("system:anonymous", groups=("system:unauthenticated",)), "GET", "/apis", "", False),
        (GITOPS, "PATCH", "/apis/apps/v1/namespaces/prod/deployments/web", "", True),
        (GITOPS, "POST", "/api/v1/namespaces/prod/secrets", "", True),
        (GITOPS, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings", "", False),
        (GITOPS, "PATCH", "/apis/apps/v1/namespaces/dev/deployments/web", "", False),
        (UserInfo("controller"), "PUT", "/apis/apps/v1/namespaces/x/deployments/web/status", "", True),
        (UserInfo("controller"), "PUT", "/apis/apps/v1/namespaces/x/deployments/web", "", False),
        (UserInfo("root", groups=("system:masters",)), "DELETE", "/api/v1/nodes/n1", "", True),
    ],
)
def test_rbac_decisions(authorizer, user, method, path, query, allowed):
    attrs = request_attributes(method, path, query, user)
    assert authorizer.authorize(attrs).allowed is allowed


@pytest.mark.parametrize(
    "method, path, message",
    [
        ("GET", "/apis/apps/v1/namespaces/prod/deployments/x/scale",
         'deployments.apps "x" is forbidden: User "bob" cannot get resource "deployments/scale" in API group "apps" in the namespace "prod"'),
        ("GET", "/apis/apps/v1/namespaces/prod/deployments/x",
         'deployments.apps "x" is forbidden: User "bob" cannot get resource "deployments" in API group "apps" in the namespace "prod"'),
        ("GET", "/api/v1/pods", 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" at the cluster scope'),
        ("GET", "/metrics", 'forbidden: User "bob" cannot get path "/metrics"'),
    ],
)
def test_forbidden_messages_match_upstream(authorizer, method, path, message):
    attrs = request_attributes(method, path, "", UserInfo("bob", groups=(AUTHENTICATED,)))
    with pytest.raises(Forbidden) as info:
        authorizer.check(attrs)
    assert info.value.message == message
    status = info.value.status()
    assert status["code"] == 403 and status["reason"] == "Forbidden"


def test_forbidden_status_details():
    attrs = request_attributes("GET", "/apis/apps/v1/namespaces/prod/deployments/x", "", UserInfo("alice"))
    details = forbidden(attrs).status()["details"]
    assert details == {"name": "x", "group": "apps", "kind": "deployments"}


def test_self_subject_access_review(authorizer):
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"namespace": "dev", "verb": "create", "group": "apps",
                                              "resource": "deployments"}}}
    out = evaluate_access_review(review, ALICE, authorizer)
    assert out["status"]["allowed"] is True
    assert out["status"]["reason"] == ('RBAC: allowed by RoleBinding "devs-deploy/dev" of Role "deployer" '
                                       'to Group "developers"')
    review["spec"]["resourceAttributes"]["namespace"] = "prod"
    assert evaluate_access_review(review, ALICE, authorizer)["status"] == {"allowed": False}
    url = {"kind": "SelfSubjectAccessReview", "spec": {"nonResourceAttributes": {"path": "/version", "verb": "get"}}}
    assert evaluate_access_review(url, ALICE, authorizer)["status"]["allowed"] is True


def test_subject_access_review_for_another_user(authorizer):
    review = {"kind": "SubjectAccessReview", "spec": {
        "user": "system:serviceaccount:argocd:argocd-controller",
        "resourceAttributes": {"namespace": "prod", "verb": "patch", "group": "apps", "resource": "deployments"}}}
    out = evaluate_access_review(review, ALICE, authorizer)
    assert out["status"]["allowed"] is True
    assert 'to ServiceAccount "argocd/argocd-controller"' in out["status"]["reason"]


def test_invalid_review():
    with pytest.raises(InvalidReview, match="exactly one of nonResourceAttributes or resourceAttributes"):
        evaluate_access_review({"spec": {}}, ALICE, RBACAuthorizer())


def test_bootstrap_roles_are_layered():
    roles = {r["metadata"]["name"]: r for r in bootstrap_cluster_roles()}
    view = RBACAuthorizer(cluster_roles=roles.values(), role_bindings=[
        binding("b", "ClusterRole", "view", [("User", "v", None)], "ns"),
        binding("c", "ClusterRole", "edit", [("User", "e", None)], "ns"),
        binding("d", "ClusterRole", "admin", [("User", "a", None)], "ns")])

    def can(user, method, path):
        return view.authorize(request_attributes(method, path, "", UserInfo(user))).allowed

    assert can("v", "GET", "/apis/apps/v1/namespaces/ns/deployments")
    assert not can("v", "POST", "/apis/apps/v1/namespaces/ns/deployments")
    assert can("e", "POST", "/apis/apps/v1/namespaces/ns/deployments")
    assert can("e", "GET", "/api/v1/namespaces/ns/secrets/s")
    assert not can("e", "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings")
    assert can("a", "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings")
    assert can("e", "PATCH", "/apis/argoproj.io/v1alpha1/namespaces/ns/applications/app")
    assert roles["cluster-admin"]["rules"][0] == {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
