"""Object metadata the server owns: uid, timestamps, generation, names, deletion.

Pure functions over object dicts (``now`` and the random source are passed in).
Upstream: k8s.io/apiserver/pkg/registry/rest/create.go (BeforeCreate),
update.go (BeforeUpdate), delete.go (BeforeDelete), and
k8s.io/apiserver/pkg/storage/names/generate.go (generateName).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "DeletionPlan",
    "NAME_ALPHABET",
    "format_time",
    "generate_name",
    "plan_deletion",
    "prepare_create",
    "prepare_update",
    "spec_changed",
]

# apimachinery/pkg/util/rand: SafeEncodeString's alphabet (no vowels, no 0/1/3).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_GENERATED_LENGTH = 5
_MAX_NAME_LENGTH = 63
_SYSTEM_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")
_NOT_SPEC = ("metadata", "status", "apiVersion", "kind")


def format_time(moment: datetime) -> str:
    """RFC 3339 with second precision, the way metav1.Time serialises."""
    utc = moment.astimezone(timezone.utc)
    date = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
    return f"{date}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def generate_name(prefix: str, rng: random.Random | None = None) -> str:
    """``prefix`` + 5 random characters; the prefix is cut so the name fits 63 chars."""
    rng = rng or random
    prefix = prefix[: _MAX_NAME_LENGTH - _GENERATED_LENGTH]
    return prefix + "".join(rng.choice(NAME_ALPHABET) for _ in range(_GENERATED_LENGTH))


def spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Generation moves when anything but metadata and status changes."""
    keys = (set(old) | set(new)) - set(_NOT_SPEC)
    return any(old.get(k) != new.get(k) for k in keys)


def prepare_create(obj: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Stamp a new object's system fields; client-supplied ones are overwritten."""
    meta = obj.setdefault("metadata", {})
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = format_time(now)
    meta["generation"] = 1
    for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(field, None)
    return obj


def prepare_update(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Carry the system fields over from ``old`` and bump generation on spec changes."""
    old_meta = old.get("metadata", {})
    meta = new.setdefault("metadata", {})
    for field in _SYSTEM_FIELDS:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    generation = old_meta.get("generation", 1)
    meta["generation"] = generation + 1 if spec_changed(old, new) else generation
    meta.pop("selfLink", None)
    return new


@dataclass(frozen=True)
class DeletionPlan:
    """What a DELETE does: remove the object now, or mark it and wait.

    ``obj`` is the marked object when ``remove`` is False.
    """

    remove: bool
    obj: dict[str, Any]


def plan_deletion(
    obj: dict[str, Any],
    *,
    now: datetime,
    propagation: str | None,
    grace_period: int | None,
    graceful: bool = False,
) -> DeletionPlan:
    """Decide a DELETE the way the generic registry does (rest.BeforeDelete + finalizers).

    Foreground adds the ``foregroundDeletion`` finalizer and Orphan the ``orphan``
    finalizer for the garbage collector; an object with finalizers, or a graceful
    object (a scheduled pod) with a grace period, only gets ``deletionTimestamp``.
    """
    meta = obj.setdefault("metadata", {})
    finalizers = list(meta.get("finalizers") or [])
    if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
        finalizers.append("foregroundDeletion")
    if propagation == "Orphan" and "orphan" not in finalizers:
        finalizers.append("orphan")
    grace = grace_period if graceful else 0
    if grace is not None and grace < 0:
        grace = 0
    if meta.get("deletionTimestamp"):
        # Already terminating: only a shorter grace period (or finalizers gone) moves it on.
        current = meta.get("deletionGracePeriodSeconds") or 0
        if not finalizers and (grace == 0 or current == 0):
            return DeletionPlan(True, obj)
        if grace is not None and grace < current:
            meta["deletionGracePeriodSeconds"] = grace
        if finalizers:
            meta["finalizers"] = finalizers
        return DeletionPlan(False, obj)
    if not finalizers and not grace:
        return DeletionPlan(True, obj)
    if finalizers:
        meta["finalizers"] = finalizers
    meta["deletionTimestamp"] = format_time(now + timedelta(seconds=grace or 0))
    meta["deletionGracePeriodSeconds"] = grace or 0
    meta["generation"] = meta.get("generation", 1) + 1
    return DeletionPlan(False, obj)
