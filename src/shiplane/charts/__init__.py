"""Helm charts through Helm itself (the ``helm-python-sdk`` binding of Helm 4's Go SDK).

This package is the only part of shiplane that imports ``helm_python``
(boundary module ``_sdk``). It lints charts, composes values exactly as the
``helm`` command does (``values`` / ``strvals``), and renders charts to
Kubernetes objects (``render``) and installs, upgrades, rolls back and lists
releases (``releases``). Errors are the :class:`ChartError` subtree
of ``errors``.
"""

from shiplane.charts._sdk import helm_version
from shiplane.charts.errors import (
    ChartError,
    ChartInvalidError,
    ChartNotFoundError,
    ClusterUnreachableError,
    LintFailedError,
    ReleaseCancelledError,
    ReleaseFailedError,
    ReleaseNotFoundError,
    RenderError,
    SetExpressionError,
    ValuesFileError,
)
from shiplane.charts.lint import LintMessage, LintReport, Severity, lint_chart
from shiplane.charts.render import (
    INSTALL_ORDER,
    RenderedChart,
    environment_overrides,
    render_chart,
    render_environment,
)
from shiplane.charts.repositories import (
    index_repository,
    package_chart,
    pull_chart,
    push_chart,
)
from shiplane.charts.releases import (
    ClusterAccess,
    ReleaseCanceller,
    install_or_upgrade,
    release_history,
    release_manifest,
    rollback_release,
)
from shiplane.charts.values import SET_FLAVOURS, ValueOverrides, merge_maps, merge_values

__all__ = [
    "INSTALL_ORDER",
    "SET_FLAVOURS",
    "ChartError",
    "ChartInvalidError",
    "ChartNotFoundError",
    "ClusterAccess",
    "ClusterUnreachableError",
    "LintFailedError",
    "ReleaseCancelledError",
    "ReleaseCanceller",
    "ReleaseFailedError",
    "ReleaseNotFoundError",
    "LintMessage",
    "LintReport",
    "RenderError",
    "RenderedChart",
    "SetExpressionError",
    "Severity",
    "ValueOverrides",
    "ValuesFileError",
    "environment_overrides",
    "helm_version",
    "index_repository",
    "install_or_upgrade",
    "package_chart",
    "pull_chart",
    "push_chart",
    "lint_chart",
    "merge_maps",
    "merge_values",
    "release_history",
    "release_manifest",
    "render_chart",
    "render_environment",
    "rollback_release",
]
