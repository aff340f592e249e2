"""Helm charts through Helm itself (the ``helm-python-sdk`` binding of Helm 4's Go SDK).

This package is the only part of shiplane that imports ``helm_python``
(boundary module ``_sdk``). It lints charts, composes values exactly as the
``helm`` command does (``values`` / ``strvals``), and renders charts to
Kubernetes objects (``render``). Errors are the :class:`ChartError` subtree
of ``errors``.
"""

from shiplane.charts._sdk import helm_version
from shiplane.charts.errors import (
    ChartError,
    ChartInvalidError,
    ChartNotFoundError,
    LintFailedError,
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
from shiplane.charts.values import SET_FLAVOURS, ValueOverrides, merge_maps, merge_values

__all__ = [
    "INSTALL_ORDER",
    "SET_FLAVOURS",
    "ChartError",
    "ChartInvalidError",
    "ChartNotFoundError",
    "LintFailedError",
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
    "lint_chart",
    "merge_maps",
    "merge_values",
    "render_chart",
    "render_environment",
]
