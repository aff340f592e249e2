"""RBAC over the stored objects, and the access reviews ``kubectl auth can-i`` posts.

The authorizer is :class:`shiplane.cluster.auth.RBACAuthorizer` over the stored Role,
ClusterRole, RoleBinding and ClusterRoleBinding objects, rebuilt whenever the store has
moved on. Reviews (``authorization.k8s.io/v1`` Self/SubjectAccessReview) are answered with
201 and never stored (k8s ``pkg/registry/authorization``). Without authentication (plain
HTTP, tests) the server allows everything, as kube-apiserver's AlwaysAllow mode does.
"""

from __future__ import annotations

from typing import Any

from shiplane.cluster.apiserver.backend import ApiBackend
from shiplane.cluster.apiserver.writes import Unprocessable
from shiplane.cluster.auth import (
    ANONYMOUS,
    UNAUTHENTICATED,
    InvalidReview,
    RBACAuthorizer,
    UserInfo,
    evaluate_access_review,
)
from shiplane.cluster.store.errors import BadRequest

__all__ = ["StoredRBAC", "answer_review"]

_RBAC = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


class StoredRBAC:
    def __init__(self, backend: ApiBackend) -> None:
        self.backend = backend
        self._authorizer: RBACAuthorizer | None = None
        self._rv = -1

    def __call__(self) -> RBACAuthorizer:
        rv = self.backend.store.resource_version
        if self._authorizer is None or self._rv != rv:
            lists = [[s.obj for s in self.backend.store.list(f"{p}.rbac.authorization.k8s.io")]
                     for p in _RBAC]
            self._authorizer = RBACAuthorizer(*lists)
            self._rv = rv
        return self._authorizer


def answer_review(review: Any, kind: str, user: UserInfo | None,
                  authorizer: RBACAuthorizer | None) -> dict[str, Any]:
    if not isinstance(review, dict):
        raise BadRequest(f"the object provided is unrecognized (must be of type {kind})")
    review.setdefault("kind", kind)
    review.setdefault("apiVersion", "authorization.k8s.io/v1")
    if authorizer is None:
        return dict(review, status={"allowed": True, "reason": "no authorization configured"})
    try:
        return evaluate_access_review(review, user or UserInfo(ANONYMOUS, groups=(UNAUTHENTICATED,)),
                                      authorizer)
    except InvalidReview as error:
        raise Unprocessable(str(error)) from None
