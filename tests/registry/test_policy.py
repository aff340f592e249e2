"""ECR-style policy evaluation: pure function, explicit deny wins, scopes map to ECR actions."""

import pytest

from shiplane.registry.policy import (
    PULL_ACTIONS,
    PUSH_ACTIONS,
    Effect,
    Principal,
    PrincipalKind,
    RepositoryPolicy,
    Statement,
    evaluate,
    granted_scope_actions,
)

CI = Principal("ci", PrincipalKind.CI)
NODE = Principal("eks-node", PrincipalKind.NODE)
ALICE = Principal("alice")
ANON = Principal.anonymous()

POLICIES = (
    RepositoryPolicy("team-a/*", (
        Statement(Effect.ALLOW, ("ci",), PULL_ACTIONS | PUSH_ACTIONS | {"ecr:GetAuthorizationToken"}),
        Statement(Effect.ALLOW, ("kind:node",), PULL_ACTIONS | {"ecr:GetAuthorizationToken"}),
        Statement(Effect.ALLOW, ("alice",), frozenset({"ecr:*"})),
    )),
    RepositoryPolicy("team-a/secret", (Statement(Effect.DENY, ("alice",), frozenset({"ecr:BatchGetImage"})),)),
)


@pytest.mark.parametrize("principal, repo, action, allowed", [
    (CI, "team-a/api", "ecr:PutImage", True),
    (CI, "team-b/api", "ecr:PutImage", False),
    (NODE, "team-a/api", "ecr:BatchGetImage", True),
    (NODE, "team-a/api", "ecr:PutImage", False),
    (ALICE, "team-a/api", "ecr:BatchDeleteImage", True),
    (ALICE, "team-a/secret", "ecr:BatchGetImage", False),  # explicit Deny wins over ecr:*
    (ALICE, "team-a/secret", "ecr:PutImage", True),
    (ANON, "team-a/api", "ecr:BatchGetImage", False),
    (CI, None, "ecr:GetAuthorizationToken", True),
    (Principal("mallory"), None, "ecr:GetAuthorizationToken", False),
])
def test_evaluate(principal, repo, action, allowed):
    decision = evaluate(POLICIES, principal, repo, action)
    assert decision.allowed is allowed
    assert decision.reason


def test_reasons_explain():
    assert "explicit Deny" in evaluate(POLICIES, ALICE, "team-a/secret", "ecr:BatchGetImage").reason
    assert "no policy grants ecr:PutImage to eks-node" in evaluate(POLICIES, NODE, "team-a/x", "ecr:PutImage").reason


def test_scope_actions_need_every_ecr_action():
    assert granted_scope_actions(POLICIES, CI, "team-a/api", ["pull", "push"]) == ["pull", "push"]
    assert granted_scope_actions(POLICIES, NODE, "team-a/api", ["pull", "push"]) == ["pull"]
    assert granted_scope_actions(POLICIES, ALICE, "team-a/secret", ["*"]) == ["push", "delete"]
    assert granted_scope_actions(POLICIES, ANON, "team-a/api", ["pull"]) == []
    partial = (RepositoryPolicy("*", (Statement(Effect.ALLOW, ("*",), frozenset({"ecr:BatchGetImage"})),)),)
    assert granted_scope_actions(partial, CI, "x", ["pull"]) == []  # GetDownloadUrlForLayer missing
