"""Runs started by pushes and webhooks: recorded at once, executed one at a time.

:meth:`RunQueue.submit` records the run as pending in the caller's thread (so
a ``git push`` returns only after its run exists) and a single worker thread
executes queued runs in order, as a one-runner CI would.
"""

from __future__ import annotations

import logging
import queue
import threading

from shiplane.pipeline.records import RunRecord
from shiplane.pipeline.runner import PipelineRunner, RunObserver, RunRequest

__all__ = ["RunQueue"]

log = logging.getLogger(__name__)


class RunQueue:
    def __init__(self, runner: PipelineRunner, observer: RunObserver | None = None) -> None:
        self.runner = runner
        self.observer = observer
        self._queue: queue.Queue[tuple[RunRecord, RunRequest] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._outstanding = 0
        self._thread: threading.Thread | None = None

    def start(self) -> RunQueue:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="shiplane-runs", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the queued runs, then stop the worker."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, request: RunRequest) -> RunRecord:
        run = self.runner.create(request)
        with self._idle:
            self._outstanding += 1
        self._queue.put((run, request))
        return run

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every submitted run has finished; ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            run, request = item
            try:
                self.runner.execute(run, request, self.observer)
            except Exception:  # noqa: BLE001 — keep serving; the run record says what it got to
                log.exception("pipeline run %s crashed", run.id)
            finally:
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()
