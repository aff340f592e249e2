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

# (api version, kind) polled each tick.
KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "ReplicaSet"),
    ("v1", "Event"),
    ("v1", "Pod"),
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


def _order(resource_version: str) -> int:
    return int(resource_version) if resource_version.isdigit() else 0


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
        changed: list[tuple[int, Observation]] = []
        deleted: list[Observation] = []
        for _api, kind in KINDS:
            seen = self._versions.setdefault(kind, {})
            current: dict[str, tuple[str, dict[str, Any]]] = {}
            for obj in now[kind]:
                version = str((obj.get("metadata") or {}).get("resourceVersion"))
                key = _key(obj)
                current[key] = (version, obj)
                if key not in seen or seen[key][0] != version:
                    # ReplicaSets first: they decide which pods (and events) are new ones.
                    rank = -1 if kind == "ReplicaSet" else _order(version)
                    changed.append((rank, Observation(kind, obj)))
            deleted.extend(Observation(kind, obj, deleted=True)
                           for key, (_v, obj) in seen.items() if key not in current)
            self._versions[kind] = current
        # Feed in write order: resourceVersions of one store grow with every write (etcd's
        # revision, the embedded store's counter), so a pod's Pulled event comes before the
        # status update that makes it Ready even when both show up in the same tick.
        changed.sort(key=lambda item: item[0])
        for _order_key, observation in changed:
            self._feed(observation)
        for observation in deleted:
            self._feed(observation)

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
