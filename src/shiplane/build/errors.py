"""Errors of the image builder, all under :class:`shiplane.errors.BuildError`::

    BuildError
    ├── DockerfileError          the Dockerfile cannot be parsed (names the line)
    │   └── UnsupportedInstruction   valid Docker syntax this builder refuses (ONBUILD, RUN --mount)
    ├── ContextError             a COPY/ADD source is missing or escapes the build context
    ├── ArchiveRejected          an ADD archive is too big, too many entries or escapes its root
    ├── BaseImageError           a FROM / COPY --from image cannot be found or pulled
    ├── RunFailed                a RUN instruction exited non-zero (exit code, line, output tail)
    ├── SandboxError             bubblewrap is missing or cannot start
    ├── TagError                 the tag set is invalid (bad semver, ``latest`` for staging/prod)
    └── PushError                the image could not be pushed
"""

from __future__ import annotations

from shiplane.errors import BuildError

__all__ = [
    "ArchiveRejected",
    "BaseImageError",
    "BuildError",
    "ContextError",
    "DockerfileError",
    "PushError",
    "RunFailed",
    "SandboxError",
    "TagError",
    "UnsupportedInstruction",
]


class DockerfileError(BuildError):
    """The Dockerfile is malformed; the message starts with ``Dockerfile:<line>:``."""

    def __init__(self, line: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"Dockerfile:{line}: {message}", hint=hint)
        self.line = line


class UnsupportedInstruction(DockerfileError):
    """Docker accepts it, this builder does not (never silently ignored)."""


class ContextError(BuildError):
    """A COPY/ADD source is missing or points outside the build context."""


class ArchiveRejected(BuildError):
    """An archive given to ADD exceeds the size / entry caps or escapes its root."""


class BaseImageError(BuildError):
    """A base image cannot be resolved, pulled or verified."""


class RunFailed(BuildError):
    """A RUN step exited non-zero."""

    def __init__(self, message: str, *, exit_code: int, output_tail: str) -> None:
        super().__init__(message, hint="the last lines of the command's output are shown above")
        self.exit_code = exit_code
        self.output_tail = output_tail


class SandboxError(BuildError):
    """The RUN sandbox (bubblewrap) is unavailable or failed to start."""


class TagError(BuildError):
    """The requested tags are invalid for this build."""


class PushError(BuildError):
    """Pushing the built image to a registry failed."""
