"""Online garbage collection: mark from every manifest, sweep after a grace delay.

Theory of operation. distribution's GC is offline because a blob uploaded for a
manifest that is not pushed yet looks unreferenced, so GC during a push deletes
it (distribution #4939, "pushing during GC corrupts images"). Here:

* **mark** — roots are every manifest revision of every repository (tagged or
  not; referrers are manifests too, so signatures and SBOMs are roots) plus
  every tag target; from each root we mark its config and layers and, for an
  index, its child manifests, transitively.
* **grace** — a blob is a candidate only if unmarked *and* untouched for
  ``grace_seconds``. Commit and ``HEAD`` (the client's "skip, it exists") and
  mount all touch the blob, so a push in progress — blobs uploaded or found,
  manifest not yet written — is always younger than the grace delay.
* **sweep under the store lock** — manifest PUT checks its blobs and stores
  itself under ``storage.lock``; GC re-marks and deletes under the same lock,
  so a manifest can never be accepted referencing a blob that is being swept.
* upload sessions live outside ``blobs/`` and are only expired after
  ``upload_max_age`` of inactivity.

:func:`plan_sweep` is the pure decision; :func:`collect_garbage` runs one
cycle; :class:`GarbageCollector` repeats it on a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shiplane.registry.errors import ManifestParseError
from shiplane.registry.manifest import parse_manifest
from shiplane.registry.storage import BlobStat, Storage

__all__ = ["GarbageCollector", "GcReport", "collect_garbage", "mark", "plan_sweep"]


@dataclass(frozen=True)
class GcReport:
    marked: int
    deleted: tuple[str, ...]
    kept_young: int
    expired_uploads: tuple[str, ...]


def mark(storage: Storage) -> set[str]:
    """Every digest reachable from a manifest or tag in any repository."""
    marked: set[str] = set()
    pending: list[tuple[str, str | None]] = []
    for repository in storage.repositories():
        for record in storage.manifests(repository):
            pending.append((record.digest, record.media_type))
        pending.extend((digest, None) for digest in storage.tags(repository).values())
    while pending:
        digest, media_type = pending.pop()
        if digest in marked:
            continue
        marked.add(digest)
        try:
            manifest = parse_manifest(storage.read_blob(digest), media_type)
        except (KeyError, ManifestParseError):
            continue
        marked.update(d.digest for d in manifest.blobs)
        pending.extend((d.digest, d.media_type) for d in manifest.manifests)
    return marked


def plan_sweep(blobs: Mapping[str, BlobStat], marked: Iterable[str], *, now: float,
               grace_seconds: float) -> list[str]:
    """Blobs to delete: unmarked and untouched for at least ``grace_seconds``."""
    keep = set(marked)
    return sorted(d for d, stat in blobs.items()
                  if d not in keep and now - stat.touched_at >= grace_seconds)


def collect_garbage(storage: Storage, *, grace_seconds: float = 3600.0,
                    upload_max_age: float = 86400.0, dry_run: bool = False) -> GcReport:
    """One online GC cycle; safe while pushes and pulls go on."""
    now = storage.clock()
    stats = {d: s for d in storage.list_blobs() if (s := storage.blob_stat(d)) is not None}
    marked = mark(storage)
    candidates = plan_sweep(stats, marked, now=now, grace_seconds=grace_seconds)
    deleted: list[str] = []
    with storage.lock:
        if candidates:
            marked = mark(storage)  # re-mark: manifests may have arrived since the first pass
            for digest in candidates:
                stat = storage.blob_stat(digest)
                if stat is None or digest in marked or storage.clock() - stat.touched_at < grace_seconds:
                    continue
                if not dry_run:
                    storage.delete_blob(digest)
                deleted.append(digest)
            if deleted and not dry_run:
                gone = set(deleted)
                for repository in storage.repositories():
                    for digest in gone:
                        storage.unlink_blob(repository, digest)
    expired = []
    for upload in storage.list_uploads():
        if now - upload.started_at >= upload_max_age:
            if not dry_run:
                storage.cancel_upload(upload.id)
            expired.append(upload.id)
    kept_young = sum(1 for d, s in stats.items()
                     if now - s.touched_at < grace_seconds and d not in marked)
    return GcReport(len(marked), tuple(deleted), kept_young, tuple(expired))


class GarbageCollector:
    """Run :func:`collect_garbage` every ``interval`` seconds on a daemon thread."""

    def __init__(self, storage: Storage, *, interval: float = 600.0,
                 grace_seconds: float = 3600.0) -> None:
        self.storage = storage
        self.interval = interval
        self.grace_seconds = grace_seconds
        self.last_report: GcReport | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "GarbageCollector":
        self._thread = threading.Thread(target=self._run, name="shiplane-registry-gc", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.last_report = collect_garbage(self.storage, grace_seconds=self.grace_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
