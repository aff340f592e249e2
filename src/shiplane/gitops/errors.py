"""Errors of the GitOps controller and promotion::

    ShiplaneError
    └── GitOpsError                    gitops/
        ├── ApplicationInvalid         an Application/AppProject document is malformed
        ├── ProjectViolation           the AppProject does not allow this source/destination
        ├── SourceUnavailable          a source repo or value file cannot be found
        ├── SyncFailed                 applying or pruning failed (carries the results)
        ├── RollbackRefused            rollback while automated sync is on
        ├── SyncRefused                a sync window or project role forbids this sync now
        ├── OperationInterrupted       the controller stopped mid-operation (it resumes)
        └── PromotionError             promotion cannot be made
            └── GateRefused            one or more promotion gates failed (carries them)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shiplane.errors import ShiplaneError

__all__ = [
    "ApplicationInvalid",
    "GateRefused",
    "GitOpsError",
    "OperationInterrupted",
    "ProjectViolation",
    "PromotionError",
    "RollbackRefused",
    "SourceUnavailable",
    "SyncFailed",
    "SyncRefused",
]


class GitOpsError(ShiplaneError):
    """A GitOps reconcile, sync or promotion failed."""


class ApplicationInvalid(GitOpsError):
    """An ``Application`` or ``AppProject`` document is malformed."""


class ProjectViolation(GitOpsError):
    """The Application's AppProject does not permit its source or destination."""


class SourceUnavailable(GitOpsError):
    """A source repository, chart path or value file is missing."""


class SyncFailed(GitOpsError):
    def __init__(self, message: str, *, results: Sequence[Any] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.results = list(results)


class RollbackRefused(GitOpsError):
    """Rollback is not allowed while automated sync would undo it (as in Argo CD)."""


class SyncRefused(GitOpsError):
    """The AppProject forbids this sync now: a sync window, or the user's roles."""


class OperationInterrupted(GitOpsError):
    """The controller is stopping while an operation waits: the operation stays Running in
    ``status.operationState`` and the next controller resumes it (as Argo CD's does)."""


class PromotionError(GitOpsError):
    """A promotion could not be made (unknown service, environment, branch...)."""


class GateRefused(PromotionError):
    def __init__(self, message: str, *, gates: Sequence[Any] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.gates = list(gates)
