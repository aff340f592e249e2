"""``helm lint`` through the SDK, with its findings as data."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from shiplane.charts import _sdk
from shiplane.charts.errors import LintFailedError
from shiplane.charts.values import ValueOverrides, merge_values

__all__ = ["LintMessage", "LintReport", "Severity", "lint_chart"]


class Severity(enum.IntEnum):
    """Helm's ``support.Severity`` (pkg/lint/support/message.go)."""

    UNKNOWN = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


@dataclass(frozen=True)
class LintMessage:
    severity: Severity
    path: str
    text: str

    def __str__(self) -> str:
        return f"[{self.severity.name}] {self.path}: {self.text}"


@dataclass(frozen=True)
class LintReport:
    chart: Path
    messages: tuple[LintMessage, ...]

    @property
    def errors(self) -> tuple[LintMessage, ...]:
        return tuple(m for m in self.messages if m.severity >= Severity.ERROR)

    @property
    def warnings(self) -> tuple[LintMessage, ...]:
        return tuple(m for m in self.messages if m.severity == Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors


def lint_chart(
    chart: Path,
    overrides: ValueOverrides | None = None,
    *,
    strict: bool = False,
    namespace: str = "default",
    raise_on_error: bool = False,
) -> LintReport:
    """Lint ``chart`` with values merged as Helm would (``-f``/``--set`` flags).

    With ``strict`` warnings count as errors (``helm lint --strict``). With
    ``raise_on_error`` a failing report raises :class:`LintFailedError`.
    """
    values = merge_values(overrides or ValueOverrides())
    raw = _sdk.lint(Path(chart), values, strict=strict, namespace=namespace)
    messages = [
        LintMessage(Severity(int(m.get("severity", 0))), str(m.get("path", "")), str(m["error"]))
        for m in raw.get("messages", [])
    ]
    # Errors that are not tied to a file (e.g. chart not found) come separately.
    known = {m.text for m in messages}
    messages += [
        LintMessage(Severity.ERROR, str(chart), str(text))
        for text in raw.get("errors", []) if str(text) not in known
    ]
    if strict:
        messages = [
            LintMessage(Severity.ERROR, m.path, m.text) if m.severity == Severity.WARNING else m
            for m in messages
        ]
    report = LintReport(Path(chart), tuple(messages))
    if raise_on_error and not report.ok:
        first = report.errors[0]
        raise LintFailedError(
            f"helm lint {chart}: {len(report.errors)} error(s), first: {first.path}: {first.text}",
            report=report,
        )
    return report
