"""The I/O side of progress reporting: poll a namespace and feed :func:`progress.advance`.

A background thread lists ReplicaSets, Pods, Events and Endpoints every
``interval`` seconds through shiplane.kube (lists rather than watches: four short
requests per tick survive API-server restarts and need no resourceVersion
bookkeeping), turns every new or changed object (by resourceVersion) and every
vanished one into an :class:`Observation`, and hands the resulting steps to
``sink``. Kinds the cluster does not serve are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shiplane.kube import KubeClient, KubeError
from shiplane.release.progress import Observation, StepEvent, TrackerState, advance, initial_state

__all__ = ["KINDS", "NamespaceWatch", "snapshot"]

# (api version, kind) polled, in the order steps usually happen.
KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("v1", "Event"),
    ("v1", "Endpoints"),
)


def snapshot(client: KubeClient, namespace: str) -> dict[str, list[dict[str, Any]]]:
    """Every object of :data:`KINDS` in ``namespace`` (kinds not served: empty)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for api_version, kind in KINDS:
        try:
            out[kind] = client.list(api_version, kind, namespace)
        except KubeError:
            out[kind] = []
    return out


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or meta.get("name"))


class NamespaceWatch:
    """Polls ``namespace`` while a deploy waits; ``sink`` receives each step once."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        deployments: list[str],
        sink: Callable[[StepEvent], None],
        *,
        interval: float = 0.25,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._sink = sink
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        before = snapshot(client, namespace)
        self.state: TrackerState = initial_state(
            replicasets=before["ReplicaSet"], pods=before["Pod"], events=before["Event"],
            deployments=deployments,
        )
        self._versions: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
            kind: {_key(o): (str((o.get("metadata") or {}).get("resourceVersion")), o)
                   for o in objs}
            for kind, objs in before.items()
        }
        self.last: dict[str, list[dict[str, Any]]] = before

    def poll(self) -> None:
        """One tick: list, diff against the previous tick, advance the tracker."""
        now = snapshot(self._client, self._namespace)
        self.last = now
        for _api, kind in KINDS:
            seen = self._versions.setdefault(kind, {})
            current: dict[str, tuple[str, dict[str, Any]]] = {}
            for obj in now[kind]:
                version = str((obj.get("metadata") or {}).get("resourceVersion"))
                key = _key(obj)
                current[key] = (version, obj)
                if key not in seen or seen[key][0] != version:
                    self._feed(Observation(kind, obj))
            for key, (_version, obj) in seen.items():
                if key not in current:
                    self._feed(Observation(kind, obj, deleted=True))
            self._versions[kind] = current

    def _feed(self, observation: Observation) -> None:
        self.state, steps = advance(self.state, observation)
        for step in steps:
            self._sink(step)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except KubeError:
                continue  # a transient API failure: the next tick catches up

    def __enter__(self) -> NamespaceWatch:
        self._thread = threading.Thread(target=self._run, name="shiplane-deploy-watch",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.poll()  # the final state, so the report ends with what really happened
        except KubeError:
            pass
