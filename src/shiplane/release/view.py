"""Showing a deploy's steps: a live Rich view for people, JSON lines for CI.

Both are sinks for :class:`~shiplane.release.progress.StepEvent`; the deploy
itself knows nothing about either.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from shiplane.release.progress import StepEvent

__all__ = ["JsonLinesSink", "LiveStepView"]

_STYLE = {
    "failed": "bold red", "probe": "yellow", "ready": "green", "endpoints": "green",
    "done": "bold green", "recovered": "yellow", "rollback": "bold yellow",
    "terminating": "dim", "terminated": "dim",
}
_ICON = {"failed": "✗", "done": "✓", "ready": "✓", "rollback": "↺", "recovered": "!"}


class JsonLinesSink:
    """One JSON object per step on ``stream`` (``--output json``)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout

    def __call__(self, step: StepEvent) -> None:
        self._stream.write(json.dumps(step.as_json(), sort_keys=True) + "\n")
        self._stream.flush()

    def record(self, payload: dict[str, Any]) -> None:
        self._stream.write(json.dumps(payload, sort_keys=True) + "\n")
        self._stream.flush()


class LiveStepView:
    """A Rich Live table: one row per step, plus a per-pod summary of where each pod is."""

    def __init__(self, console: Console | None = None, title: str = "deploy") -> None:
        self.console = console or Console(highlight=False)
        self.title = title
        self.rows: list[StepEvent] = []
        self.pods: dict[str, str] = {}
        self._live: Live | None = None

    def _render(self) -> Group:
        table = Table(title=self.title, show_header=True, expand=False, title_justify="left")
        table.add_column("step")
        table.add_column("object")
        table.add_column("detail", overflow="fold")
        for row in self.rows[-40:]:
            style = _STYLE.get(row.step, "")
            table.add_row(Text(f"{_ICON.get(row.step, '•')} {row.step}", style=style),
                          row.subject, Text(row.detail, style=style))
        summary = Text(" ".join(f"{pod}: {state}" for pod, state in self.pods.items()),
                       style="dim")
        return Group(table, summary)

    def __call__(self, step: StepEvent) -> None:
        self.rows.append(step)
        if step.subject.startswith("pod/"):
            self.pods[step.subject.removeprefix("pod/")] = step.step
        if self._live is not None:
            self._live.update(self._render())
        else:
            self.console.print(f"{_ICON.get(step.step, '•')} {step.step:<11} {step.subject} "
                               f"{step.detail}", markup=False)

    def __enter__(self) -> LiveStepView:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None
