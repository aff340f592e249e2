"""Push webhooks from GitHub and Gitea, parsed and verified (pure functions).

Both send a JSON body with ``ref``, ``before``, ``after`` and ``repository``
(``name``, ``full_name``, ``clone_url``) — Gitea copies GitHub's push payload.
They differ in headers:

* GitHub: ``X-GitHub-Event: push|ping``, ``X-GitHub-Delivery``, and with a
  secret ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``;
* Gitea: ``X-Gitea-Event: push``, ``X-Gitea-Delivery``, ``X-Gitea-Signature:
  <hex HMAC-SHA256>`` (it also sends the GitHub headers; Gitea's are preferred).

A deleted branch arrives as ``after`` = forty zeros; :class:`WebhookPush` then
has ``after=None``. The pipeline's trigger and the GitOps controller both use
:func:`parse_push_webhook`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shiplane.pipeline.errors import WebhookRejected

__all__ = ["WebhookPush", "parse_push_webhook", "sign_body"]

_ZERO = "0" * 40
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class WebhookPush:
    provider: str  # "github" or "gitea"
    repository: str  # the repository's name
    full_name: str | None
    clone_url: str | None
    ref: str
    before: str | None  # None: the branch was created
    after: str | None  # None: the branch was deleted
    delivery: str | None = None

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


def sign_body(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body``: what GitHub and Gitea sign with."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    return lowered.get(name.lower())


def _verify(headers: Mapping[str, str], body: bytes, secret: str, provider: str) -> None:
    expected = sign_body(secret, body)
    gitea = _header(headers, "X-Gitea-Signature")
    github = _header(headers, "X-Hub-Signature-256")
    if provider == "gitea" and gitea is not None:
        given = gitea.strip()
    elif github is not None:
        given = github.strip().removeprefix("sha256=")
    else:
        raise WebhookRejected("the webhook is not signed (a secret is configured)", status=401)
    if not hmac.compare_digest(given, expected):
        raise WebhookRejected("the webhook signature does not match the secret", status=401)


def _sha(payload: Mapping[str, object], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == _ZERO:
        return None
    if not isinstance(value, str) or not _SHA.match(value):
        raise WebhookRejected(f"{key}: {value!r} is not a commit id")
    return value


def parse_push_webhook(
    headers: Mapping[str, str], body: bytes, *, secret: str | None = None
) -> WebhookPush | None:
    """The push a webhook reports; ``None`` for a ping. :class:`WebhookRejected` otherwise."""
    gitea_event = _header(headers, "X-Gitea-Event")
    github_event = _header(headers, "X-GitHub-Event")
    provider = "gitea" if gitea_event else "github" if github_event else None
    if provider is None:
        raise WebhookRejected("not a GitHub or Gitea webhook (no X-GitHub-Event/X-Gitea-Event)")
    if secret:
        _verify(headers, body, secret, provider)
    event = gitea_event or github_event
    if event == "ping":
        return None
    if event != "push":
        raise WebhookRejected(f"event {event!r} is not handled (only push)", status=422)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("the webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("the webhook body is not a JSON object")
    repository = payload.get("repository")
    ref = payload.get("ref")
    if not isinstance(repository, dict) or not isinstance(repository.get("name"), str):
        raise WebhookRejected("repository.name is missing")
    if not isinstance(ref, str) or not ref.startswith("refs/"):
        raise WebhookRejected(f"ref: {ref!r} is not a git ref")
    delivery = _header(headers, "X-Gitea-Delivery") or _header(headers, "X-GitHub-Delivery")
    return WebhookPush(
        provider=provider,
        repository=repository["name"],
        full_name=repository.get("full_name"),
        clone_url=repository.get("clone_url"),
        ref=ref,
        before=_sha(payload, "before"),
        after=_sha(payload, "after"),
        delivery=delivery,
    )
