"""Desired vs live, normalised, to a sync status per resource and per app (pure).

Theory of operation. Argo CD compares what git renders with what the cluster
holds after normalising both (argo-cd ``controller/state.go`` CompareAppState,
gitops-engine ``pkg/diff``):

1. server-set metadata (uid, resourceVersion, generation, timestamps,
   managedFields, ...) and ``status`` never count;
2. fields the server *defaults* never count: the desired object is compared as
   a subset of the live one (a key only in live is a default; a list keeps its
   length, so an added or removed item is a difference);
3. ``ignoreDifferences`` fields are removed from both sides (``ignore``);
   quantities compare by value (``quantity``: ``1000m`` == ``1``); a field our
   field manager applied before, still live but gone from git, is a difference
   (``removed``: the next apply drops it);
4. a resource in git and not live is OutOfSync (missing); a live resource with
   our tracking mark that git no longer has is OutOfSync and ``requires_pruning``.

The app is Synced when every resource is, OutOfSync otherwise, and Unknown when
the desired state could not be produced (``compare(..., error=...)``).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shiplane.gitops.application import IgnoreDifference
from shiplane.gitops.ignore import apply_ignores
from shiplane.gitops.quantity import QUANTITY_FIELDS, QUANTITY_MAPS, same_quantity
from shiplane.gitops.removed import owned_fields, removed_fields
from shiplane.gitops.tracking import ResourceKey, owned_by, resource_key

__all__ = [
    "FIELD_MANAGER",
    "Comparison",
    "ResourceDiff",
    "SyncStatus",
    "compare",
    "differences",
    "normalise",
]

FIELD_MANAGER = "shiplane-gitops"  # server-side apply field manager of the reconciler
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                    "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
_SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",
                       "deployment.kubernetes.io/revision")


class SyncStatus(str, enum.Enum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ResourceDiff:
    key: ResourceKey
    status: SyncStatus
    desired: dict[str, Any] | None
    live: dict[str, Any] | None
    paths: tuple[str, ...] = ()  # differing fields, e.g. "spec.replicas: 3 != 5"
    requires_pruning: bool = False

    @property
    def kind(self) -> str:
        return self.key[1]

    @property
    def name(self) -> str:
        return self.key[3]


@dataclass(frozen=True)
class Comparison:
    status: SyncStatus
    resources: tuple[ResourceDiff, ...] = ()
    message: str = ""

    @property
    def out_of_sync(self) -> tuple[ResourceDiff, ...]:
        return tuple(r for r in self.resources if r.status is SyncStatus.OUT_OF_SYNC)

    def get(self, kind: str, name: str) -> ResourceDiff:
        for resource in self.resources:
            if resource.kind == kind and resource.name == name:
                return resource
        raise KeyError(f"{kind}/{name} is not part of this comparison")


def normalise(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without status and server-set metadata."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in _SERVER_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for key in _SERVER_ANNOTATIONS:
                annotations.pop(key, None)
            if not annotations:
                meta.pop("annotations")
    return out


def _fmt(path: tuple[Any, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def _same_scalar(desired: Any, live: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return float(desired) == float(live)  # YAML 1 vs JSON 1.0
    return bool(desired == live)


def _quantity_path(path: tuple[Any, ...]) -> bool:
    return bool(path) and (path[-1] in QUANTITY_FIELDS or
                           (len(path) > 1 and path[-2] in QUANTITY_MAPS))


def differences(desired: Any, live: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """Where ``live`` does not contain ``desired`` (a key only in live is a default)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [f"{_fmt(path)}: expected a map"]
        out: list[str] = []
        for key, value in desired.items():
            if key not in live:
                if value in (None, {}, [], ""):
                    continue  # an empty value is what the server drops
                out.append(f"{_fmt((*path, key))}: missing in live")
            else:
                out.extend(differences(value, live[key], (*path, key)))
        return out
    if isinstance(desired, list):
        if not isinstance(live, list):
            return [f"{_fmt(path)}: expected a list"]
        if len(desired) != len(live):
            return [f"{_fmt(path)}: {len(desired)} items in git, {len(live)} live"]
        out = []
        for index, (a, b) in enumerate(zip(desired, live, strict=True)):
            out.extend(differences(a, b, (*path, index)))
        return out
    if desired is None and live is None:
        return []
    if _quantity_path(path) and same_quantity(desired, live):
        return []  # 1000m == 1, 1Gi == 1073741824
    if not _same_scalar(desired, live):
        return [f"{_fmt(path)}: {desired!r} in git, {live!r} live"]
    return []


def compare(
    desired: Sequence[Mapping[str, Any]],
    live: Sequence[Mapping[str, Any]],
    *,
    app_name: str,
    ignore_differences: Sequence[IgnoreDifference] = (),
    tracking_method: str = "annotation",
    error: str | None = None,
    field_manager: str | None = FIELD_MANAGER,
) -> Comparison:
    """Compare rendered ``desired`` objects (namespaces filled in) with ``live`` ones.

    ``live`` may hold any objects of the destination; only those matching a desired
    key or carrying ``app_name``'s tracking mark take part. Fields ``field_manager``
    applied before (live managedFields) that git no longer has count as differences.
    """
    if error is not None:
        return Comparison(SyncStatus.UNKNOWN, (), error)
    rules = tuple(ignore_differences)
    live_by_key = {resource_key(obj): obj for obj in live}
    results: list[ResourceDiff] = []
    seen: set[ResourceKey] = set()
    for obj in desired:
        key = resource_key(obj)
        seen.add(key)
        current = live_by_key.get(key)
        if current is None:
            results.append(ResourceDiff(key, SyncStatus.OUT_OF_SYNC, dict(obj), None,
                                        ("missing in live",)))
            continue
        want, have = normalise(obj), normalise(current)
        apply_ignores(want, have, rules, managed_from=current)
        paths = tuple(differences(want, have))
        if field_manager:  # what we applied before and git no longer has
            paths += tuple(removed_fields(want, have, owned_fields(current, field_manager)))
        status = SyncStatus.OUT_OF_SYNC if paths else SyncStatus.SYNCED
        results.append(ResourceDiff(key, status, dict(obj), dict(current), paths))
    for key, obj in live_by_key.items():
        if key not in seen and owned_by(obj, app_name, tracking_method):
            results.append(ResourceDiff(key, SyncStatus.OUT_OF_SYNC, None, dict(obj),
                                        ("not in git",), requires_pruning=True))
    status = SyncStatus.OUT_OF_SYNC if any(
        r.status is SyncStatus.OUT_OF_SYNC for r in results) else SyncStatus.SYNCED
    return Comparison(status, tuple(results))
