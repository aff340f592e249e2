"""Names, tags, digests and image references — pure parsing, no I/O.

Grammar from distribution-spec ("Pulling manifests") and distribution's
``reference/regexp.go``:

* repository name: ``[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*``,
  at most 255 characters in all (distribution ``NameTotalLengthMax``);
* tag: ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``;
* digest: ``sha256:<64 lowercase hex>`` or ``sha512:<128 lowercase hex>``.

An :class:`ImageReference` is ``[host[:port]/]repo[:tag][@digest]``. Docker Hub
normalisation follows distribution ``reference/normalize.go``: a first component
without ``.``/``:`` and not ``localhost`` is a path on ``docker.io``; one-part
names on Docker Hub live under ``library/``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shiplane.registry.errors import ReferenceInvalid

__all__ = [
    "DOCKER_HUB",
    "Digest",
    "ImageReference",
    "digest_of",
    "is_valid_name",
    "is_valid_tag",
    "parse_digest",
    "validate_name",
    "validate_tag",
]

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
DIGEST_RE = re.compile(r"(sha256|sha512):([a-f0-9]+)")
NAME_MAX = 255
DOCKER_HUB = "docker.io"
_HOST_RE = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?")


def is_valid_name(name: str) -> bool:
    return len(name) <= NAME_MAX and NAME_RE.fullmatch(name) is not None


def is_valid_tag(tag: str) -> bool:
    return TAG_RE.fullmatch(tag) is not None


def validate_name(name: str) -> str:
    """Return ``name`` or raise :class:`ReferenceInvalid` saying why it is not one."""
    if not name:
        raise ReferenceInvalid("repository name is empty")
    if len(name) > NAME_MAX:
        raise ReferenceInvalid(f"repository name is {len(name)} characters long (at most {NAME_MAX})")
    if NAME_RE.fullmatch(name) is None:
        raise ReferenceInvalid(
            f"invalid repository name {name!r}",
            hint="lowercase letters, digits and separators . _ __ - between components split by /",
        )
    return name


def validate_tag(tag: str) -> str:
    if TAG_RE.fullmatch(tag) is None:
        raise ReferenceInvalid(
            f"invalid tag {tag!r}", hint="tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
        )
    return tag


@dataclass(frozen=True, slots=True)
class Digest:
    """A content digest ``algorithm:hex``."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def hasher(self) -> "hashlib._Hash":
        return hashlib.new(self.algorithm)


def parse_digest(text: str) -> Digest:
    """Parse ``sha256:<hex>``; raise :class:`ReferenceInvalid` on anything else."""
    match = DIGEST_RE.fullmatch(text)
    if match is None or len(match.group(2)) != _HEX_LENGTH[match.group(1)]:
        raise ReferenceInvalid(
            f"invalid digest {text!r}", hint="expected sha256:<64 lowercase hex characters>"
        )
    return Digest(match.group(1), match.group(2))


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def _split_host(text: str) -> tuple[str | None, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first, rest
    return None, text


@dataclass(frozen=True, slots=True)
class ImageReference:
    """``registry/repository[:tag][@digest]`` with Docker Hub normalisation."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str, *, default_registry: str = DOCKER_HUB) -> "ImageReference":
        """Parse a reference; a missing tag and digest means ``latest``."""
        original = text
        if not text or text != text.strip():
            raise ReferenceInvalid(f"invalid image reference {original!r}")
        for prefix in ("docker://", "oci://"):
            if text.startswith(prefix):
                text = text[len(prefix):]
        digest = None
        if "@" in text:
            text, digest = text.rsplit("@", 1)
            parse_digest(digest)
        host, path = _split_host(text)
        tag = None
        last = path.rsplit("/", 1)[-1]
        if ":" in last:
            path, tag = path.rsplit(":", 1)
            validate_tag(tag)
        if host is not None and _HOST_RE.fullmatch(host) is None:
            raise ReferenceInvalid(f"invalid registry host {host!r} in {original!r}")
        registry = host or default_registry
        if registry in ("index.docker.io", "registry-1.docker.io"):
            registry = DOCKER_HUB
        if registry == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        try:
            validate_name(path)
        except ReferenceInvalid as error:
            raise ReferenceInvalid(f"{error.message} in image reference {original!r}", hint=error.hint) from None
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry, path, tag, digest)

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        """The host that serves the API (Docker Hub's API lives elsewhere)."""
        return "registry-1.docker.io" if self.registry == DOCKER_HUB else self.registry

    def with_tag(self, tag: str) -> "ImageReference":
        return ImageReference(self.registry, self.repository, validate_tag(tag), None)

    def with_digest(self, digest: str) -> "ImageReference":
        parse_digest(digest)
        return ImageReference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text
