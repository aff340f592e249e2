"""Errors of the charts package; every ``helm_python`` error becomes one of these.

::

    ChartError                      (shiplane.errors) Helm refused a chart or values
    ├── ChartNotFoundError          the path is not a chart (no Chart.yaml, unreadable)
    ├── ChartInvalidError           Chart.yaml or a template is malformed
    ├── ValuesFileError             a -f values file is missing or not valid YAML
    ├── SetExpressionError          a --set/--set-string/--set-json/... expression is malformed
    ├── RenderError                 a template failed while rendering
    ├── LintFailedError             helm lint reported errors (the report is attached)
    ├── ReleaseFailedError          helm install/upgrade/rollback failed (or its wait timed out)
    │   ├── ReleaseNotFoundError    no such release or revision
    │   ├── ReleaseCancelledError   the operation was cancelled through its context
    │   └── ClusterUnreachableError Helm could not reach the cluster

Each names the file or expression at fault in its message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shiplane.errors import ChartError

if TYPE_CHECKING:
    from shiplane.charts.lint import LintReport

__all__ = [
    "ChartError",
    "ChartInvalidError",
    "ChartNotFoundError",
    "ClusterUnreachableError",
    "LintFailedError",
    "ReleaseCancelledError",
    "ReleaseFailedError",
    "ReleaseNotFoundError",
    "RenderError",
    "SetExpressionError",
    "ValuesFileError",
]


class ChartNotFoundError(ChartError):
    """The path does not hold a loadable chart."""


class ChartInvalidError(ChartError):
    """The chart's metadata or templates are malformed."""


class ValuesFileError(ChartError):
    """A values file (``-f``) is missing, unreadable or not a YAML mapping."""


class SetExpressionError(ChartError):
    """A ``--set``-family expression could not be parsed by Helm."""


class RenderError(ChartError):
    """Helm failed to render a template with the given values."""


class LintFailedError(ChartError):
    """``helm lint`` found errors; ``report`` holds every message."""

    def __init__(self, message: str, *, report: LintReport, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class ReleaseFailedError(ChartError):
    """A Helm release action failed; the message carries Helm's detail."""


class ReleaseNotFoundError(ReleaseFailedError):
    """The release (or the asked revision) does not exist."""


class ReleaseCancelledError(ReleaseFailedError):
    """The install/upgrade was cancelled through its Helm context."""


class ClusterUnreachableError(ReleaseFailedError):
    """Helm could not reach the cluster's API server."""
