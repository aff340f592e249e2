"""SelfSubjectAccessReview and SubjectAccessReview evaluation (``kubectl auth can-i``).

Upstream: k8s.io/kubernetes ``pkg/registry/authorization/selfsubjectaccessreview/rest.go``
and ``util.ResourceAttributesFrom``. Exactly one of ``resourceAttributes`` and
``nonResourceAttributes`` must be set; the answer is the review with ``status.allowed`` and
the authorizer's ``reason``.
"""

from __future__ import annotations

import copy
from typing import Any

from shiplane.cluster.auth.errors import AuthError
from shiplane.cluster.auth.rbac import RBACAuthorizer
from shiplane.cluster.auth.requestinfo import Attributes
from shiplane.cluster.auth.user import UserInfo

__all__ = ["InvalidReview", "evaluate_access_review"]


class InvalidReview(AuthError):
    """The review's spec is invalid (422 upstream)."""


def evaluate_access_review(review: dict[str, Any], requester: UserInfo, authorizer: RBACAuthorizer) -> dict[str, Any]:
    kind = review.get("kind", "SelfSubjectAccessReview")
    spec = review.get("spec") or {}
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise InvalidReview(
            f'{kind}.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
            '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified'
        )
    if kind == "SelfSubjectAccessReview":
        user = requester
    else:
        user = UserInfo(spec.get("user", ""), spec.get("uid", ""), tuple(spec.get("groups") or ()))
    if resource is not None:
        attrs = Attributes(
            user=user,
            verb=resource.get("verb", ""),
            resource_request=True,
            namespace=resource.get("namespace", ""),
            api_group=resource.get("group", ""),
            api_version=resource.get("version", ""),
            resource=resource.get("resource", ""),
            subresource=resource.get("subresource", ""),
            name=resource.get("name", ""),
        )
    else:
        attrs = Attributes(user=user, verb=non_resource.get("verb", ""), resource_request=False,
                           path=non_resource.get("path", ""))
    decision = authorizer.authorize(attrs)
    out = copy.deepcopy(review)
    out.setdefault("apiVersion", "authorization.k8s.io/v1")
    out.setdefault("kind", kind)
    out.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    out["status"] = status
    return out
