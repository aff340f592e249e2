"""GitHub and Gitea push webhooks: parsing and signatures."""

from __future__ import annotations

import json

import pytest

from shiplane.pipeline import WebhookRejected, parse_push_webhook, sign_body

A, B = "a" * 40, "b" * 40


def _payload(**changes) -> bytes:
    body = {
        "ref": "refs/heads/main", "before": A, "after": B,
        "repository": {"name": "payment-service", "full_name": "acme/payment-service",
                       "clone_url": "https://github.com/acme/payment-service.git"},
        "head_commit": {"id": B},
    }
    body.update(changes)
    return json.dumps(body).encode()


def test_github_push():
    push = parse_push_webhook({"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}, _payload())
    assert push.provider == "github" and push.delivery == "d-1"
    assert (push.repository, push.full_name) == ("payment-service", "acme/payment-service")
    assert (push.ref, push.branch, push.before, push.after) == ("refs/heads/main", "main", A, B)
    assert push.clone_url == "https://github.com/acme/payment-service.git"


def test_gitea_push_is_preferred_over_its_github_headers():
    push = parse_push_webhook(
        {"x-gitea-event": "push", "x-github-event": "push", "x-gitea-delivery": "g-2"},
        _payload())
    assert push.provider == "gitea" and push.delivery == "g-2"


def test_created_and_deleted_branches_and_tags():
    created = parse_push_webhook({"X-GitHub-Event": "push"}, _payload(before="0" * 40))
    assert created.before is None and created.after == B
    deleted = parse_push_webhook({"X-GitHub-Event": "push"}, _payload(after="0" * 40))
    assert deleted.after is None
    tag = parse_push_webhook({"X-GitHub-Event": "push"}, _payload(ref="refs/tags/v1"))
    assert tag.branch is None


def test_ping_is_none():
    assert parse_push_webhook({"X-GitHub-Event": "ping"}, b'{"zen": "..."}') is None


def test_signatures():
    body = _payload()
    good = sign_body("s3cret", body)
    assert parse_push_webhook({"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={good}"},
                              body, secret="s3cret")
    assert parse_push_webhook({"X-Gitea-Event": "push", "X-Gitea-Signature": good},
                              body, secret="s3cret")
    with pytest.raises(WebhookRejected, match="does not match") as bad:
        parse_push_webhook({"X-GitHub-Event": "push",
                            "X-Hub-Signature-256": "sha256=" + "0" * 64}, body, secret="s3cret")
    assert bad.value.status == 401
    with pytest.raises(WebhookRejected, match="not signed"):
        parse_push_webhook({"X-GitHub-Event": "push"}, body, secret="s3cret")
    with pytest.raises(WebhookRejected, match="does not match"):  # body changed after signing
        parse_push_webhook({"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={good}"},
                           body + b" ", secret="s3cret")


@pytest.mark.parametrize("headers,body,message,status", [
    ({}, b"{}", "not a GitHub or Gitea webhook", 400),
    ({"X-GitHub-Event": "issues"}, b"{}", "'issues' is not handled", 422),
    ({"X-GitHub-Event": "push"}, b"not json", "not JSON", 400),
    ({"X-GitHub-Event": "push"}, b"[1]", "not a JSON object", 400),
    ({"X-GitHub-Event": "push"}, json.dumps({"ref": "refs/heads/main"}).encode(),
     "repository.name is missing", 400),
    ({"X-GitHub-Event": "push"}, _payload(ref="main"), "is not a git ref", 400),
    ({"X-GitHub-Event": "push"}, _payload(after="xyz"), "after: 'xyz' is not a commit id", 400),
])
def test_rejected(headers, body, message, status):
    with pytest.raises(WebhookRejected, match=message) as error:
        parse_push_webhook(headers, body)
    assert error.value.status == status
