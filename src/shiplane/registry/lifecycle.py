"""Repository rules: tag immutability and lifecycle (pure planning + an executor).

Like ECR: a repository may be ``IMMUTABLE`` (a tag, once set, never moves —
re-pushing it with other content is refused), and lifecycle rules expire
images:

* :class:`KeepLastN` — of the images with a tag starting with ``tag_prefix``,
  keep the ``count`` most recently pushed (ECR ``imageCountMoreThan``);
* :class:`ExpireUntagged` — delete untagged images pushed more than ``days``
  ago (ECR ``sinceImagePushed`` with ``tagStatus: untagged``).

:func:`plan_lifecycle` is a pure function over image records and never plans
to delete an image that is *in use*: a digest the caller says is deployed, a
child of a kept index, or a referrer (signature, SBOM) of a kept image — the
"lifecycle deleted my running image" problem (containers-roadmap #1078).
:func:`apply_lifecycle` performs a plan against a :class:`Storage`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from shiplane.registry.errors import ManifestParseError
from shiplane.registry.manifest import parse_manifest
from shiplane.registry.storage import Storage

__all__ = [
    "ExpireUntagged",
    "ImageRecord",
    "KeepLastN",
    "LifecyclePlan",
    "PlannedDeletion",
    "Reason",
    "RepositoryRules",
    "apply_lifecycle",
    "image_records",
    "plan_lifecycle",
]

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class KeepLastN:
    tag_prefix: str
    count: int


@dataclass(frozen=True, slots=True)
class ExpireUntagged:
    days: float


LifecycleRule = KeepLastN | ExpireUntagged


@dataclass(frozen=True)
class RepositoryRules:
    """Per-repository settings, matched by glob on the repository name."""

    immutable: tuple[str, ...] = ()
    lifecycle: tuple[tuple[str, tuple[LifecycleRule, ...]], ...] = ()

    def is_immutable(self, repository: str) -> bool:
        return any(fnmatch.fnmatchcase(repository, pattern) for pattern in self.immutable)

    def lifecycle_for(self, repository: str) -> tuple[LifecycleRule, ...]:
        rules: list[LifecycleRule] = []
        for pattern, found in self.lifecycle:
            if fnmatch.fnmatchcase(repository, pattern):
                rules.extend(found)
        return tuple(rules)


@dataclass(frozen=True, slots=True)
class ImageRecord:
    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    children: tuple[str, ...] = ()  # manifests of an index
    subject: str | None = None  # for referrers


class Reason(str, Enum):
    BEYOND_KEEP_LAST = "beyond-keep-last"
    UNTAGGED_EXPIRED = "untagged-expired"


@dataclass(frozen=True, slots=True)
class PlannedDeletion:
    digest: str
    reason: Reason
    detail: str


@dataclass(frozen=True)
class LifecyclePlan:
    deletions: tuple[PlannedDeletion, ...] = ()
    protected: dict[str, str] = field(default_factory=dict)  # digest → why it was kept

    @property
    def digests(self) -> list[str]:
        return [d.digest for d in self.deletions]


def plan_lifecycle(images: Iterable[ImageRecord], rules: Iterable[LifecycleRule], *,
                   now: float, in_use: Iterable[str] = ()) -> LifecyclePlan:
    """Which images the rules expire, and which were spared because they are in use."""
    images = list(images)
    by_digest = {image.digest: image for image in images}
    candidates: dict[str, PlannedDeletion] = {}
    for rule in rules:
        if isinstance(rule, KeepLastN):
            matching = [i for i in images if any(t.startswith(rule.tag_prefix) for t in i.tags)]
            matching.sort(key=lambda i: (i.pushed_at, i.digest), reverse=True)
            for image in matching[rule.count:]:
                candidates.setdefault(image.digest, PlannedDeletion(
                    image.digest, Reason.BEYOND_KEEP_LAST,
                    f"more than {rule.count} images tagged {rule.tag_prefix}*"))
        else:
            cutoff = now - rule.days * DAY
            for image in images:
                if not image.tags and image.pushed_at < cutoff:
                    candidates.setdefault(image.digest, PlannedDeletion(
                        image.digest, Reason.UNTAGGED_EXPIRED,
                        f"untagged for more than {rule.days:g} days"))
    protected: dict[str, str] = {d: "in use" for d in in_use if d in candidates}
    # Kept images protect their children and their referrers; repeat until stable.
    changed = True
    while changed:
        changed = False
        kept = {d for d in by_digest if d not in candidates or d in protected}
        for digest in kept:
            image = by_digest[digest]
            for child in image.children:
                if child in candidates and child not in protected:
                    protected[child] = f"child of kept index {digest}"
                    changed = True
        for image in images:
            if (image.digest in candidates and image.digest not in protected and image.subject
                    and image.subject in kept):
                protected[image.digest] = f"referrer of kept image {image.subject}"
                changed = True
    deletions = tuple(sorted((p for d, p in candidates.items() if d not in protected),
                             key=lambda p: p.digest))
    return LifecyclePlan(deletions, protected)


def image_records(storage: Storage, repository: str) -> list[ImageRecord]:
    """The repository's manifests as :class:`ImageRecord` (tags, children, subject)."""
    tags_by_digest: dict[str, list[str]] = {}
    for tag, digest in storage.tags(repository).items():
        tags_by_digest.setdefault(digest, []).append(tag)
    records = []
    for record in storage.manifests(repository):
        children: tuple[str, ...] = ()
        subject = None
        try:
            manifest = parse_manifest(storage.read_blob(record.digest), record.media_type)
            children = tuple(d.digest for d in manifest.manifests)
            subject = manifest.subject.digest if manifest.subject else None
        except (ManifestParseError, KeyError):
            pass
        records.append(ImageRecord(record.digest, tuple(sorted(tags_by_digest.get(record.digest, ()))),
                                   record.pushed_at, children, subject))
    return records


def apply_lifecycle(storage: Storage, repository: str, plan: LifecyclePlan) -> list[str]:
    """Delete the planned manifests (their blobs go at the next garbage collection)."""
    deleted = []
    with storage.lock:
        for deletion in plan.deletions:
            if storage.manifest(repository, deletion.digest) is not None:
                storage.delete_manifest(repository, deletion.digest)
                deleted.append(deletion.digest)
    return deleted
