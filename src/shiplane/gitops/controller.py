"""``shiplane gitops run``: the controller process — polling, webhook refreshes, leadership.

One worker thread does every reconcile (no two syncs of an app at once). It runs a
full pass over the platform repo's Applications every ``interval`` s (+ up to
``jitter``; Argo CD's ``timeout.reconciliation`` 120 s + jitter), re-reading
``argocd-apps/`` each time (after fetching the repos it keeps checked out itself,
``checkout.RepoCheckout``, when no git-sync sidecar does). A webhook push
(``webhook.webhook_app`` on an HTTP listener) only queues the affected Application names and wakes the worker, which
refreshes them at once — between two apps of a running pass, too — as Argo CD's
``/api/webhook`` queues an app refresh. With an ``elector`` (``leader.LeaderElector``)
only the leader reconciles; a follower keeps its queue empty and waits.

An operation requested on an Application (its ``operation`` field, ``request.py``) runs
at the app's next reconcile; with ``watch`` (what ``gitops run`` does) a watch on the
Application objects (``appwatch``) queues the app at once, as Argo CD's informer
queues it for its operation processors.

``stop()`` does not wait for a sync that waits for health: the operation is interrupted
and stays Running in the Application's ``status.operationState``; the next controller
resumes it on its first pass (``Reconciler.resume``), as a restarted Argo CD
application controller does. ``sync_wave_delay`` (default ``ARGOCD_SYNC_WAVE_DELAY``
or 2 s) is the pause after each non-final sync wave.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from shiplane.errors import ShiplaneError
from shiplane.gitops.application import Application
from shiplane.gitops.appwatch import ApplicationWatch
from shiplane.gitops.checkout import RepoCheckout, sync_all
from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.errors import GitOpsError, OperationInterrupted
from shiplane.gitops.webhook import webhook_app
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.serving import ServerStartError, ThreadedServer

__all__ = [
    "ControllerService",
    "GitOpsController",
    "WebhookListener",
    "parse_listen",
    "serve_controller",
]

log = logging.getLogger(__name__)


class GitOpsController:
    def __init__(self, directory: Path | None, clusters: ClusterClients, *,
                 interval: float = 180.0, jitter: float = 0.0, apply_mode: str = "server-side",
                 sync_wave_delay: float | None = None,
                 extra_repos: Mapping[str, Path] | None = None,
                 report: Callable[[str, Any], None] | None = None,
                 elector: Any = None, workers: int = 4, watch: bool = False,
                 checkouts: Sequence[RepoCheckout] = ()) -> None:
        self.directory, self.clusters = directory, clusters
        self.watch: ApplicationWatch | None = None
        self._watch_wanted = watch
        self.checkouts = list(checkouts)  # fetched before argocd-apps/ is read
        self.workers = max(1, workers)
        self.interval, self.jitter, self.apply_mode = interval, jitter, apply_mode
        self.extra_repos, self.report, self.elector = extra_repos, report, elector
        self.workspace = self._open(None)
        self._queue: dict[str, None] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.stopping = threading.Event()
        # what every reconciler of this controller gets (see ``_reconciler``)
        self.reconciler_options = {"sync_wave_delay": sync_wave_delay,
                                   "interrupted": self.stopping.is_set}
        self.passes = 0
        self._in_pass = False

    def _open(self, previous: PlatformWorkspace | None) -> PlatformWorkspace:
        sync_all(self.checkouts, initial=previous is None)
        try:
            workspace = PlatformWorkspace.open(self.directory, self.extra_repos)
        except ShiplaneError as error:
            if previous is None:
                raise
            # e.g. a broken argocd-apps/*.yaml was pushed: keep serving the last good one
            log.warning("platform repo unreadable, keeping the previous Applications: %s",
                        error)
            return previous
        if previous is not None:  # keep git exports and rendered manifests across passes
            workspace._git, workspace.render_cache = previous._git, previous.render_cache
            workspace._reconcilers = previous._reconcilers
            for reconciler in workspace._reconcilers.values():
                reconciler.admit = workspace.violations
                reconciler.permit = workspace.permission
                reconciler.sources = workspace._sources()
        return workspace

    # -- what the webhook calls (any thread) ------------------------------------------------
    def applications(self) -> Sequence[Application]:
        return list(self.workspace.apps.values())

    def refresh(self, names: Sequence[str]) -> None:
        """Queue ``names`` for an immediate reconcile and wake the worker."""
        with self._lock:
            self._queue.update(dict.fromkeys(names))
        self._wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    def health(self) -> dict[str, Any]:
        return {"applications": len(self.workspace.apps), "passes": self.passes,
                "leader": self._leading(),
                **({"identity": self.elector.identity} if self.elector is not None else {})}

    # -- the worker -------------------------------------------------------------------------
    def _leading(self) -> bool:
        return self.elector is None or self.elector.is_leader()

    def _reconcile(self, name: str) -> None:
        app = self.workspace.apps.get(name)
        if app is None:
            return  # removed from argocd-apps/ since the push
        try:
            reconciler = self._reconciler(app)
            if self._in_pass and reconciler.live_cache is None:
                reconciler.begin_pass()  # each kind listed once per pass, per cluster
            state = reconciler.reconcile(app)
        except OperationInterrupted:
            log.info("stopping: the operation of %s stays Running and resumes at the next "
                     "start", name)
            return
        except Exception as error:  # noqa: BLE001 - one bad app (an unreachable cluster, a
            log.warning("reconcile of %s failed: %s", name, error)  # bad chart) must not
            return  # stop the controller
        if self.report is not None:
            self.report(name, state)

    def _reconciler(self, app: Application) -> Any:
        return self.workspace.reconciler_for(app, self.clusters, apply_mode=self.apply_mode,
                                             **self.reconciler_options)

    def drain(self) -> list[str]:
        """Reconcile the queued apps now (re-reading ``argocd-apps/`` first, unless a pass
        is running: its workspace is current)."""
        with self._lock:
            names, self._queue = list(self._queue), {}
        if not names or not self._leading():
            return []
        if not self._in_pass:
            self.workspace = self._open(self.workspace)
        for name in names:
            self._reconcile(name)
        return names

    def _one(self, name: str) -> None:
        if self.stopping.is_set() or not self._leading():
            return
        self.drain()  # a webhook refresh does not wait for the pass to end
        self._reconcile(name)

    def full_pass(self) -> None:
        """Every Application once, ``workers`` at a time (Argo CD's status/operation
        processors); each reconciler lists each kind once for the pass (``LiveCache``)."""
        self.workspace = self._open(self.workspace)
        self._in_pass = True
        names = sorted(self.workspace.apps)
        for name in names:  # reconcilers (one per cluster) made before the threads start
            self._reconciler(self.workspace.apps[name]).begin_pass()
        try:
            if self.workers > 1:
                with ThreadPoolExecutor(self.workers, thread_name_prefix="gitops") as pool:
                    list(pool.map(self._one, names))
            else:
                for name in names:
                    self._one(name)
            if not self.stopping.is_set() and self._leading():
                self.passes += 1
        finally:
            self._in_pass = False
            for reconciler in self.workspace._reconcilers.values():
                reconciler.end_pass()

    def start_watch(self) -> None:
        """Watch the Applications' namespaces for requested operations (once)."""
        if self.watch is None:
            namespaces = {a.namespace for a in self.workspace.apps.values()} or {"argocd"}
            self.watch = ApplicationWatch(self.clusters.control, namespaces, self.refresh,
                                          self.stopping).start()

    def run(self, passes: int = 0) -> int:
        """Poll and serve refreshes until ``stop()`` (or ``passes`` full passes)."""
        if self._watch_wanted:
            self.start_watch()
        next_pass = time.monotonic()
        while not self.stopping.is_set():
            if not self._leading():
                with self._lock:
                    self._queue.clear()  # the leader does the work
                self._wake.wait(1.0)
                self._wake.clear()
                next_pass = time.monotonic()  # a new leader starts with a full pass
                continue
            if time.monotonic() >= next_pass:
                self.full_pass()
                if passes and self.passes >= passes:
                    break
                next_pass = time.monotonic() + self.interval + random.uniform(0, self.jitter)
            self._wake.wait(max(0.0, next_pass - time.monotonic()))
            self._wake.clear()
            self.drain()
        return self.passes


class WebhookListener:
    """``POST /api/webhook`` on a real socket (``ThreadedServer``), refreshing through
    ``controller``."""

    def __init__(self, controller: GitOpsController, *, host: str = "127.0.0.1",
                 port: int = 0, secret: str | None = None) -> None:
        self.app = webhook_app(controller.applications, controller.refresh, secret=secret,
                               health=controller.health)
        self.host = host
        self._server = ThreadedServer(uvicorn.Config(
            self.app, host=host, port=port, lifespan="off", access_log=False,
            log_level="warning", loop="asyncio"), name="shiplane-gitops-webhook")

    @property
    def port(self) -> int:
        return self._server.bound_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> WebhookListener:
        try:
            self._server.start(timeout)
        except ServerStartError as error:
            raise GitOpsError(str(error), hint=error.hint) from error
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WebhookListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_listen(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` → (host, port); host defaults to loopback."""
    host, sep, port = address.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise GitOpsError(f"webhook address {address!r}: expected HOST:PORT or PORT") from None
    if not 0 <= number <= 65535:
        raise GitOpsError(f"webhook address {address!r}: port out of range")
    return (host if sep and host else "127.0.0.1"), number


class ControllerService:
    """The controller loop on its own thread plus its webhook listener: what ``gitops run``
    runs in the foreground and ``shiplane up`` runs as a part of the stack."""

    def __init__(self, directory: Path | None, kubeconfig: Path | None,
                 context: str | None = None, *, interval: float = 180.0, jitter: float = 0.0,
                 apply_mode: str = "server-side", sync_wave_delay: float | None = None,
                 extra_repos: Mapping[str, Path] | None = None,
                 webhook: str | None = None, webhook_secret: str | None = None,
                 report: Callable[[str, Any], None] | None = None,
                 elector_factory: Callable[[ClusterClients], Any] | None = None,
                 workers: int = 4, watch: bool = True,
                 checkouts: Sequence[RepoCheckout] = ()) -> None:
        self.clusters = ClusterClients(kubeconfig, context)
        self.elector = elector_factory(self.clusters) if elector_factory else None
        try:
            self.controller = GitOpsController(
                directory, self.clusters, interval=interval, jitter=jitter,
                sync_wave_delay=sync_wave_delay,
                apply_mode=apply_mode, extra_repos=extra_repos, report=report,
                elector=self.elector, workers=workers, watch=watch, checkouts=checkouts)
        except BaseException:
            self.clusters.close()
            raise
        self.listener = None
        if webhook:
            host, port = parse_listen(webhook)
            self.listener = WebhookListener(self.controller, host=host, port=port,
                                            secret=webhook_secret)
        self._thread: threading.Thread | None = None
        self.passes = 0

    @property
    def webhook_url(self) -> str | None:
        return f"{self.listener.url}/api/webhook" if self.listener is not None else None

    def start(self, passes: int = 0) -> ControllerService:
        if self.listener is not None:
            self.listener.start()
        if self.elector is not None:
            self.elector.start(on_change=self.controller._wake.set)

        def run() -> None:
            self.passes = self.controller.run(passes=passes)

        self._thread = threading.Thread(target=run, name="shiplane-gitops", daemon=True)
        self._thread.start()
        return self

    def wait(self, stop: threading.Event | None = None) -> int:
        """Block until the loop ends (``passes`` done) or ``stop`` is set."""
        assert self._thread is not None
        while self._thread.is_alive():
            if stop is not None and stop.wait(0.2):
                break
            self._thread.join(0.2)
        return self.passes

    def stop(self) -> None:
        self.controller.stop()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.elector is not None:
            self.elector.stop()
        if self.listener is not None:
            self.listener.stop()
        self.clusters.close()


def serve_controller(directory: Path | None, kubeconfig: Path | None, context: str | None, *,
                     passes: int = 0, announce: Callable[[str], None] | None = None,
                     stop: threading.Event | None = None, **options: Any) -> int:
    """What ``shiplane gitops run`` runs: the controller in the foreground until ``stop``
    (or ``passes`` full passes); ``options`` as :class:`ControllerService`."""
    service = ControllerService(directory, kubeconfig, context, **options).start(passes)
    try:
        if announce and service.webhook_url:
            announce(f"webhook: POST {service.webhook_url}")
        return service.wait(stop)
    finally:
        service.stop()
