"""ECR-style access policy: principals, per-repository statements, pure evaluation.

A :class:`Principal` is who is asking (the CI pipeline, a node role, a user).
A :class:`RepositoryPolicy` grants or denies ECR actions on repositories
matching a glob, to principals matching a glob (``"*"`` = everyone who
authenticated; ``"anonymous"`` = nobody signed in). :func:`evaluate` decides
like IAM: an explicit Deny wins, else any Allow, else implicit deny.

Docker token scopes speak in ``pull``/``push``/``delete``; :data:`SCOPE_ACTIONS`
says which ECR actions each needs (ECR docs, "Amazon ECR managed policies":
pull = BatchGetImage + GetDownloadUrlForLayer + BatchCheckLayerAvailability,
push adds InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, PutImage).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "ALL_ACTIONS",
    "ENDPOINT_ACTIONS",
    "SCOPE_ACTIONS",
    "AccessDecision",
    "Effect",
    "Principal",
    "PrincipalKind",
    "RepositoryPolicy",
    "Statement",
    "evaluate",
    "granted_scope_actions",
]

GET_AUTHORIZATION_TOKEN = "ecr:GetAuthorizationToken"
BATCH_CHECK = "ecr:BatchCheckLayerAvailability"
GET_DOWNLOAD_URL = "ecr:GetDownloadUrlForLayer"
BATCH_GET_IMAGE = "ecr:BatchGetImage"
INITIATE_UPLOAD = "ecr:InitiateLayerUpload"
UPLOAD_PART = "ecr:UploadLayerPart"
COMPLETE_UPLOAD = "ecr:CompleteLayerUpload"
PUT_IMAGE = "ecr:PutImage"
BATCH_DELETE_IMAGE = "ecr:BatchDeleteImage"
LIST_IMAGES = "ecr:ListImages"
DESCRIBE_REPOSITORIES = "ecr:DescribeRepositories"

ALL_ACTIONS = frozenset({
    GET_AUTHORIZATION_TOKEN, BATCH_CHECK, GET_DOWNLOAD_URL, BATCH_GET_IMAGE, INITIATE_UPLOAD,
    UPLOAD_PART, COMPLETE_UPLOAD, PUT_IMAGE, BATCH_DELETE_IMAGE, LIST_IMAGES, DESCRIBE_REPOSITORIES,
})

PULL_ACTIONS = frozenset({BATCH_GET_IMAGE, GET_DOWNLOAD_URL, BATCH_CHECK})
PUSH_ACTIONS = frozenset({INITIATE_UPLOAD, UPLOAD_PART, COMPLETE_UPLOAD, PUT_IMAGE, BATCH_CHECK})
SCOPE_ACTIONS: dict[str, frozenset[str]] = {
    "pull": PULL_ACTIONS,
    "push": PUSH_ACTIONS,
    "delete": frozenset({BATCH_DELETE_IMAGE}),
}

# Which ECR action each Distribution endpoint performs, and the token scope it needs.
ENDPOINT_ACTIONS: dict[str, tuple[str, str]] = {
    "blob.head": (BATCH_CHECK, "pull"),
    "blob.get": (GET_DOWNLOAD_URL, "pull"),
    "manifest.get": (BATCH_GET_IMAGE, "pull"),
    "tags.list": (LIST_IMAGES, "pull"),
    "referrers.list": (BATCH_GET_IMAGE, "pull"),
    "upload.start": (INITIATE_UPLOAD, "push"),
    "upload.patch": (UPLOAD_PART, "push"),
    "upload.status": (UPLOAD_PART, "push"),
    "upload.complete": (COMPLETE_UPLOAD, "push"),
    "upload.cancel": (UPLOAD_PART, "push"),
    "manifest.put": (PUT_IMAGE, "push"),
    "manifest.delete": (BATCH_DELETE_IMAGE, "delete"),
    "blob.delete": (BATCH_DELETE_IMAGE, "delete"),
}


class PrincipalKind(str, Enum):
    CI = "ci"
    NODE = "node"
    USER = "user"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    kind: PrincipalKind = PrincipalKind.USER

    @classmethod
    def anonymous(cls) -> "Principal":
        return cls("anonymous", PrincipalKind.ANONYMOUS)


class Effect(str, Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Statement:
    effect: Effect
    principals: tuple[str, ...]  # globs over principal names; "*" = any signed-in principal
    actions: frozenset[str]  # ECR action names; "ecr:*" = all

    def matches(self, principal: Principal, action: str) -> bool:
        if "ecr:*" not in self.actions and action not in self.actions:
            return False
        for pattern in self.principals:
            if principal.kind is PrincipalKind.ANONYMOUS:
                if pattern == "anonymous":
                    return True
                continue
            if pattern == "*" or fnmatch.fnmatchcase(principal.name, pattern) or pattern == f"kind:{principal.kind.value}":
                return True
        return False


@dataclass(frozen=True, slots=True)
class RepositoryPolicy:
    repository: str  # glob over repository names, e.g. "team-a/*"
    statements: tuple[Statement, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class AccessDecision:
    allowed: bool
    reason: str


def evaluate(policies: Iterable[RepositoryPolicy], principal: Principal, repository: str | None,
             action: str) -> AccessDecision:
    """Decide one action; ``repository`` None means a registry-wide action (login)."""
    allow_reason = None
    for policy in policies:
        if repository is None:
            if action != GET_AUTHORIZATION_TOKEN:
                continue
        elif not fnmatch.fnmatchcase(repository, policy.repository):
            continue
        for statement in policy.statements:
            if statement.matches(principal, action):
                if statement.effect is Effect.DENY:
                    return AccessDecision(False, f"explicit Deny of {action} in policy for {policy.repository!r}")
                allow_reason = allow_reason or f"allowed by policy for {policy.repository!r}"
    if allow_reason:
        return AccessDecision(True, allow_reason)
    where = f"on {repository!r}" if repository else "registry-wide"
    return AccessDecision(False, f"no policy grants {action} to {principal.name} {where}")


def granted_scope_actions(policies: Iterable[RepositoryPolicy], principal: Principal,
                          repository: str, requested: Iterable[str]) -> list[str]:
    """The subset of requested token actions (pull/push/delete/*) the policies allow."""
    policies = list(policies)
    out = []
    for scope_action in requested:
        names = ("pull", "push", "delete") if scope_action == "*" else (scope_action,)
        for name in names:
            needed = SCOPE_ACTIONS.get(name)
            if needed and all(evaluate(policies, principal, repository, a).allowed for a in needed):
                if name not in out:
                    out.append(name)
    return out
