"""Watching the Application objects, so a requested operation starts at once.

Argo CD's application controller learns of a new ``operation`` (or of a
``Terminating`` phase) from its Application informer and queues the app on its
operation queue (argo-cd ``controller/appcontroller.go``: the informer's
``UpdateFunc`` → ``appOperationQueue``). The polling controller here does the same
with a watch on the control cluster's Applications: an event whose object asks for an
operation (``wants_operation``, pure) queues that app for an immediate reconcile
(``GitOpsController.refresh``); the regular passes still catch anything missed. A watch
ends every ``timeout`` seconds (so a stopping controller is noticed) and resumes from
the last resourceVersion seen; 410 Gone starts over from now.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shiplane.gitops.application import API_VERSION
from shiplane.kube import KubeError
from shiplane.kube.errors import ApiError

__all__ = ["ApplicationWatch", "wants_operation"]

log = logging.getLogger(__name__)


def wants_operation(obj: Mapping[str, Any]) -> bool:
    """An operation is requested (``operation`` set) or asked to end (phase
    Terminating): the controller's operation processing is wanted now
    (``shouldProcessOperation``)."""
    phase = ((obj.get("status") or {}).get("operationState") or {}).get("phase")
    return bool(obj.get("operation")) or phase == "Terminating"


class ApplicationWatch:
    """One thread per namespace watching Applications and calling ``refresh([name])``."""

    def __init__(self, client: Any, namespaces: Iterable[str],
                 refresh: Callable[[Sequence[str]], None], stopping: threading.Event, *,
                 timeout: int = 10, retry: float = 2.0) -> None:
        self.client, self.refresh, self.stopping = client, refresh, stopping
        self.namespaces = sorted(set(namespaces))
        self.timeout, self.retry = timeout, retry
        self.threads: list[threading.Thread] = []

    def start(self) -> ApplicationWatch:
        for namespace in self.namespaces:
            thread = threading.Thread(target=self._run, args=(namespace,), daemon=True,
                                      name=f"shiplane-gitops-watch-{namespace}")
            thread.start()
            self.threads.append(thread)
        return self

    def _run(self, namespace: str) -> None:
        version: str | None = None
        while not self.stopping.is_set():
            try:
                for event in self.client.watch(API_VERSION, "Application", namespace,
                                               resource_version=version,
                                               timeout_seconds=self.timeout):
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event.get("type") in ("ADDED", "MODIFIED") and wants_operation(obj):
                        self.refresh([str(obj["metadata"]["name"])])
                    if self.stopping.is_set():
                        return
            except ApiError as error:
                if error.code == 404:  # the Application CRD is not served: nothing to watch
                    return
                version = None  # 410 Gone and the like: from now on
                self.stopping.wait(self.retry)
            except (KubeError, RuntimeError, ValueError) as error:  # connection lost, closed
                log.debug("Application watch in %s: %s", namespace, error)
                self.stopping.wait(self.retry)
