"""``POST /api/webhook``: a GitHub/Gitea push refreshes the Applications that use the
pushed repository at once, instead of at the next poll (Argo CD's ``/api/webhook``).

``apps_for_push`` is pure: an Application is affected when one of its sources has
the pushed repository (``clone_url``, or the same name when URLs differ, e.g. a local
mirror) and tracks the pushed branch (``targetRevision`` HEAD or the branch name).
The HTTP layer is an explicit route table over a ``refresh`` callable (the backend),
payload parsing is the pipeline's (``shiplane.pipeline.webhook``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shiplane.gitops.application import Application
from shiplane.pipeline.errors import WebhookRejected
from shiplane.pipeline.webhook import WebhookPush, parse_push_webhook

__all__ = ["HEALTH_PATH", "WEBHOOK_PATH", "apps_for_push", "webhook_app"]

WEBHOOK_PATH = "/api/webhook"
HEALTH_PATH = "/healthz"


def _repo_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")


def _same_repo(url: str, push: WebhookPush) -> bool:
    if push.clone_url and url.rstrip("/").removesuffix(".git") == \
            push.clone_url.rstrip("/").removesuffix(".git"):
        return True
    return _repo_name(url) == push.repository


def apps_for_push(apps: Iterable[Application], push: WebhookPush) -> list[str]:
    """Apps with a source in the pushed repository whose ``targetRevision`` is the pushed
    branch or tag, or HEAD / empty for a branch push (argo-cd ``util/webhook``
    ``appRevisionHasChanged``; the payload here does not say which branch is the default,
    so any branch push refreshes HEAD-tracking apps)."""
    branch = push.branch
    revision = branch if branch is not None else push.ref.removeprefix("refs/tags/")
    out = []
    for app in apps:
        for source in app.sources:
            tracks = source.target_revision == revision or (
                branch is not None and source.target_revision in ("HEAD", ""))
            if tracks and _same_repo(source.repo_url, push):
                out.append(app.name)
                break
    return sorted(out)


def webhook_app(apps: Callable[[], Sequence[Application]],
                refresh: Callable[[list[str]], None], *, secret: str | None = None,
                health: Callable[[], Mapping[str, Any]] | None = None) -> Starlette:
    """The webhook endpoint; ``apps`` lists current Applications, ``refresh`` reconciles
    (or queues). ``GET /healthz`` answers with ``health()`` (what ``shiplane status`` probes).
    """

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            push = parse_push_webhook(dict(request.headers), body, secret=secret)
        except WebhookRejected as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        if push is None:
            return JSONResponse({"refreshed": [], "event": "ping"})
        names = apps_for_push(apps(), push)
        if names:
            await asyncio.to_thread(refresh, names)
        return JSONResponse({"refreshed": names})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, **(health() if health else {})})

    return Starlette(routes=[Route(WEBHOOK_PATH, receive, methods=["POST"]),
                             Route(HEALTH_PATH, healthz, methods=["GET"])])
