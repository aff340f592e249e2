"""Errors of Model 1 releases::

    ReleaseError (shiplane.errors)
    ├── ReleaseTargetError      the environment, service repo, chart or image ref is wrong
    ├── ReleaseBusyError        another deploy of the release is in progress (live pending)
    ├── ReleaseStorageError     a Helm release Secret cannot be read or repaired
    └── DeployFailedError       the release did not become ready; carries the diagnosis
        (and whether it was rolled back)

Helm's own errors arrive as ``shiplane.charts`` ``ChartError``s and are passed through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shiplane.errors import ReleaseError

if TYPE_CHECKING:
    from shiplane.release.diagnosis import Diagnosis

__all__ = [
    "DeployFailedError",
    "ReleaseBusyError",
    "ReleaseError",
    "ReleaseStorageError",
    "ReleaseTargetError",
]


class ReleaseTargetError(ReleaseError):
    """The environment, service repository, chart or image reference is wrong."""


class ReleaseBusyError(ReleaseError):
    """Another operation on the release is in progress."""


class ReleaseStorageError(ReleaseError):
    """A Helm release Secret cannot be decoded or rewritten."""


class DeployFailedError(ReleaseError):
    """The deploy failed; ``diagnosis`` says why, ``rolled_back_to`` where it went back to."""

    def __init__(
        self,
        message: str,
        *,
        diagnosis: Diagnosis | None = None,
        rolled_back_to: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.diagnosis = diagnosis
        self.rolled_back_to = rolled_back_to
