"""What starts a run when code arrives: a push to the local git server or a webhook.

Only a branch update of the trigger branch (``main``) starts a run — a new or
moved ``refs/heads/main`` — as the guide's CI "on: push: branches: [main]".
The service name and delivery model are read from ``helm/Chart.yaml`` *at the
pushed commit*; a push of a repository without a chart (a platform repo) starts
nothing. A webhook for a repository this server holds runs from the local copy;
otherwise from the payload's ``clone_url``.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.pipeline.definition import CHART_FILE, ServiceInfo, service_info_from_chart
from shiplane.pipeline.errors import NotAServiceRepo, PipelineError, WebhookRejected
from shiplane.pipeline.gitserver import PushEvent, RefUpdate, RepositoryRoot
from shiplane.pipeline.records import RunRecord, Trigger
from shiplane.pipeline.runner import RunRequest
from shiplane.pipeline.steps import RunSettings
from shiplane.pipeline.webhook import WebhookPush

__all__ = ["PushTrigger", "service_info_at", "triggering_updates"]

log = logging.getLogger(__name__)


def triggering_updates(updates: tuple[RefUpdate, ...], branch: str) -> list[RefUpdate]:
    """The updates that start a run: ``refs/heads/<branch>`` created or moved."""
    return [u for u in updates if u.ref == f"refs/heads/{branch}" and u.after is not None]


def service_info_at(repository: Path, commit: str) -> ServiceInfo:
    """:class:`ServiceInfo` from ``helm/Chart.yaml`` as of ``commit`` in a (bare) repository."""
    proc = subprocess.run(
        ["git", f"--git-dir={repository}", "show", f"{commit}:{CHART_FILE}"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise NotAServiceRepo(f"{repository.name} has no {CHART_FILE} at {commit[:7]}")
    return service_info_from_chart(proc.stdout, source=f"{repository.name}@{commit[:7]}")


@dataclass
class PushTrigger:
    """Push and webhook callbacks of the git server → ``submit(RunRequest)``."""

    submit: Callable[[RunRequest], RunRecord]
    repositories: RepositoryRoot
    branch: str = "main"
    env: str = "dev"
    until: str | None = None
    default_model: int = 1
    settings: RunSettings = field(default_factory=RunSettings)

    def _request(self, source: str, info: ServiceInfo, commit: str, ref: str,
                 trigger: Trigger) -> RunRequest:
        return RunRequest(
            source=source, service=info.name, model=info.model, env=self.env, trigger=trigger,
            commit=commit, ref=ref, checkout=True, until=self.until, settings=self.settings,
        )

    def on_push(self, event: PushEvent) -> list[RunRecord]:
        runs = []
        for update in triggering_updates(event.updates, self.branch):
            assert update.after is not None
            try:
                info = service_info_at(event.path, update.after)
            except NotAServiceRepo as error:
                log.info("push to %s starts no pipeline: %s", event.repository, error.message)
                continue
            runs.append(self.submit(self._request(
                str(event.path), info, update.after, update.ref, Trigger.PUSH)))
        return runs

    def on_webhook(self, push: WebhookPush) -> Mapping[str, Any]:
        if push.branch != self.branch:
            return {"ignored": f"{push.ref} is not refs/heads/{self.branch}"}
        if push.after is None:
            return {"ignored": f"{push.ref} was deleted"}
        local = self.repositories.root / f"{push.repository}.git"
        if (local / "HEAD").is_file():
            try:
                info = service_info_at(local, push.after)
            except NotAServiceRepo as error:
                return {"ignored": error.message}
            source = str(local)
        elif push.clone_url:
            # Only the checkout can read a remote chart: name and model come from the payload.
            info = ServiceInfo(push.repository, self.default_model)
            source = push.clone_url
        else:
            raise WebhookRejected(
                f"{push.repository} is not on this server and the payload has no clone_url",
                status=422)
        try:
            run = self.submit(self._request(source, info, push.after, push.ref,
                                            Trigger.WEBHOOK))
        except PipelineError as error:
            raise WebhookRejected(error.message, status=422) from None
        return {"run": run.id, "service": run.service, "commit": run.commit}
