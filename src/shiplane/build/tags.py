"""The guide's CI tag set as a pure function.

"Tagging usually includes: semantic version, Git SHA, build number" (delivery-models-guide,
step 3). For one build :func:`compute_tags` returns, in this order and without duplicates:

* the semver (``1.5.0``; a leading ``v`` is dropped; validated against semver.org 2.0.0),
* ``sha-<7 hex>`` of git HEAD, with ``-dirty`` when the work tree has changes,
* ``build-<n>`` (``GITHUB_RUN_NUMBER`` in CI, a local counter otherwise),
* the UTC build time ``YYYYMMDDHHMMSS``,
* any extra tags asked for; ``latest`` is refused for staging and prod, where deploys must
  name an immutable tag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from shiplane.build.errors import TagError

__all__ = ["PROTECTED_ENVIRONMENTS", "TagInputs", "compute_tags", "parse_semver"]

# semver.org 2.0.0 "suggested regular expression"
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
# OCI distribution-spec tag grammar
_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
PROTECTED_ENVIRONMENTS = frozenset({"staging", "prod", "production"})


@dataclass(frozen=True)
class TagInputs:
    version: str | None = None
    git_sha: str | None = None
    dirty: bool = False
    build_number: int | None = None
    time: datetime | None = None
    environment: str | None = None
    extra: Sequence[str] = field(default_factory=tuple)


def parse_semver(text: str) -> str:
    """``v1.5.0`` / ``1.5.0`` → ``1.5.0``; build metadata ``+x`` becomes ``_x`` (tags have no +)."""
    version = text.strip()
    version = version[1:] if version[:1] in ("v", "V") else version
    if not _SEMVER.match(version):
        raise TagError(f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])")
    return version.replace("+", "_")


def compute_tags(inputs: TagInputs) -> list[str]:
    tags: list[str] = []
    if inputs.version:
        tags.append(parse_semver(inputs.version))
    if inputs.git_sha:
        sha = inputs.git_sha.lower()
        if not _SHA.match(sha):
            raise TagError(f"{inputs.git_sha!r} is not a git commit id")
        tags.append(f"sha-{sha[:7]}" + ("-dirty" if inputs.dirty else ""))
    if inputs.build_number is not None:
        if inputs.build_number < 0:
            raise TagError(f"build number {inputs.build_number} is negative")
        tags.append(f"build-{inputs.build_number}")
    if inputs.time is not None:
        moment = inputs.time
        if moment.tzinfo is None:
            raise TagError("the build time must be timezone-aware")
        tags.append(moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S"))
    environment = (inputs.environment or "").lower()
    for tag in inputs.extra:
        if tag == "latest" and environment in PROTECTED_ENVIRONMENTS:
            raise TagError(
                f"the tag 'latest' is refused for {environment}",
                hint="deploy an immutable tag (semver, sha-<7>) or a digest",
            )
        tags.append(tag)
    for tag in tags:
        if not _TAG.match(tag):
            raise TagError(f"{tag!r} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})")
    seen: set[str] = set()
    return [t for t in tags if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]
