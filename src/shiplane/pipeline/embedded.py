"""The local git server in this process, alone or wired to pipeline runs.

::

    with LocalGitServer(root) as server:            # plain git hosting
        server.url, server.clone_url("svc")

    with PipelineServer(state_dir) as ci:           # git hosting + CI (for `shiplane up`)
        ci.clone_url("svc")  # git push here → a run in ci.store
        ci.wait_idle()

uvicorn runs in a daemon thread with its own event loop, as the embedded
registry does. Repositories live under ``<state dir>/git``; runs go to the
workspace database unless a store is passed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import uvicorn

from shiplane.config import Workspace
from shiplane.pipeline.errors import GitServerError
from shiplane.pipeline.gitserver import (
    PushHandler,
    RepositoryRoot,
    WebhookHandler,
    build_git_app,
)
from shiplane.pipeline.recovery import recover_abandoned
from shiplane.pipeline.run_queue import RunQueue
from shiplane.pipeline.runner import PipelineRunner, RunObserver
from shiplane.pipeline.steps import RunSettings, StepRegistry
from shiplane.pipeline.store import RunStore, open_run_store
from shiplane.pipeline.triggers import PushTrigger
from shiplane.serving import ServerStartError, ThreadedServer

__all__ = ["LocalGitServer", "PipelineServer", "git_root"]


def git_root(state_dir: Path) -> Path:
    return Path(state_dir) / "git"


class LocalGitServer:
    """Start/stop the smart-HTTP git server on a loopback host and a free or given port."""

    def __init__(
        self, root: Path, *, on_push: PushHandler | None = None,
        on_webhook: WebhookHandler | None = None, webhook_secret: str | None = None,
        host: str = "127.0.0.1", port: int = 0,
    ) -> None:
        self.repositories = RepositoryRoot(root)
        self.app = build_git_app(self.repositories, on_push=on_push, on_webhook=on_webhook,
                                 webhook_secret=webhook_secret)
        self._bind_host = host
        self._port = port
        self._runner: ThreadedServer | None = None

    @property
    def port(self) -> int:
        if self._runner is None:
            raise GitServerError("the git server is not running")
        return self._runner.bound_port

    @property
    def url(self) -> str:
        return f"http://{self._bind_host}:{self.port}"

    def clone_url(self, name: str) -> str:
        return f"{self.url}/{RepositoryRoot.check_name(name)}.git"

    def start(self, timeout: float = 10.0) -> LocalGitServer:
        if self._runner is not None:
            return self
        config = uvicorn.Config(self.app, host=self._bind_host, port=self._port,
                                lifespan="off", access_log=False, log_level="warning",
                                loop="asyncio")
        runner = ThreadedServer(config, name="shiplane-git")
        try:
            runner.start(timeout)
        except ServerStartError as exc:
            raise GitServerError(
                f"the git server did not start on {self._bind_host}:{self._port}",
                hint="is the port already in use? choose another with --port",
            ) from exc
        self._runner = runner
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._runner = None

    def __enter__(self) -> LocalGitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PipelineServer:
    """The git server whose pushes to ``main`` (and webhooks) run the pipeline."""

    def __init__(
        self, state_dir: Path, *, store: RunStore | None = None,
        workspace: Workspace | None = None, steps: StepRegistry | None = None,
        env: str = "dev", until: str | None = None, settings: RunSettings | None = None,
        webhook_secret: str | None = None, observer: RunObserver | None = None,
        host: str = "127.0.0.1", port: int = 0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._owns_store = store is None
        self.store = store if store is not None else open_run_store(self.state_dir)
        self.runner = PipelineRunner(self.store, state_dir=self.state_dir,
                                     workspace=workspace, steps=steps)
        self.queue = RunQueue(self.runner, observer)
        root = git_root(self.state_dir)
        self.trigger = PushTrigger(self.queue.submit, RepositoryRoot(root), env=env,
                                   until=until, settings=settings or RunSettings())
        self.git = LocalGitServer(root, on_push=self.trigger.on_push,
                                  on_webhook=self.trigger.on_webhook,
                                  webhook_secret=webhook_secret, host=host, port=port)

    @property
    def url(self) -> str:
        return self.git.url

    def clone_url(self, name: str) -> str:
        return self.git.clone_url(name)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        return self.queue.wait_idle(timeout)

    def start(self) -> PipelineServer:
        recover_abandoned(self.store)  # runs of a server that was killed
        self.queue.start()
        self.git.start()
        return self

    def stop(self) -> None:
        self.git.stop()
        self.queue.stop()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> PipelineServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
