"""The live objects a controller pass compares against: each kind listed once per pass.

Argo CD keeps a watch-fed cluster cache (gitops-engine ``pkg/cache/cluster.go``) so it
does not list every kind for every app; a pass-scoped cache of lists does the same job
for a polling controller.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from typing import Any

from shiplane.gitops.tracking import resource_key
from shiplane.kube import KubeClient, KubeError
from shiplane.kube.errors import ApiError

__all__ = ["LiveCache"]

_PER_NAMESPACE = object()  # marker: a kind this client may only list per namespace


class LiveCache:
    """Live objects per kind across all namespaces, each kind listed once (one controller
    pass), then kept current from this reconciler's own applies and prunes — Argo CD keeps
    a watch-fed cluster cache for the same reason: not listing every kind for every app.
    A new cache per pass picks up changes made by others (drift) at the next pass."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._kinds: dict[tuple[str, str], Any] = {}  # objects by key | None | _PER_NAMESPACE
        self._lock = threading.Lock()
        self.namespaces: set[str] = set()  # known to exist (CreateNamespace checks)

    def objects(self, api_version: str, kind: str, namespace: str | None,
                keep: Callable[[Mapping[str, Any]], bool] = lambda obj: True) -> list[dict]:
        """The cached objects of a kind in ``namespace`` that ``keep`` accepts (shallow
        copies: callers normalise with deep copies before changing anything nested)."""
        with self._lock:
            if (api_version, kind) not in self._kinds:
                try:
                    items = self.client.list(api_version, kind, all_namespaces=True)
                except ApiError as error:
                    # 403: RBAC grants this kind per namespace only — list it per app
                    self._kinds[(api_version, kind)] = _PER_NAMESPACE if error.code == 403 \
                        else None
                except KubeError:
                    self._kinds[(api_version, kind)] = None  # not served by this cluster
                else:
                    for item in items:
                        item.setdefault("apiVersion", api_version)
                        item.setdefault("kind", kind)
                    self._kinds[(api_version, kind)] = {resource_key(i): i for i in items}
            known = self._kinds[(api_version, kind)]
        if known is None:
            raise KubeError(f"{kind} is not served")
        if known is _PER_NAMESPACE:
            return [o for o in self.client.list(api_version, kind, namespace) if keep(o)]
        with self._lock:
            return [dict(o) for k, o in known.items()
                    if (namespace is None or k[2] == namespace) and keep(o)]

    def _bucket(self, obj: Mapping[str, Any]) -> dict | None:
        bucket = self._kinds.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
        return bucket if isinstance(bucket, dict) else None

    def update(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            bucket = self._bucket(obj)
            if bucket is not None:
                bucket[resource_key(obj)] = copy.deepcopy(dict(obj))

    def remove(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            bucket = self._bucket(obj)
            if bucket is not None:
                bucket.pop(resource_key(obj), None)
