"""What was done through the dashboard, by whom: a store with a memory and a file home.

Helm does not record who rolled a release back, and a sync's ``initiatedBy`` is only
kept in the Application's capped history, so every action the dashboard performs is
appended here (one JSON object per line in ``<state dir>/web/actions.jsonl``); the
Audit page merges it with the platform repo's log and the pipeline runs.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ActionLog", "FileActionLog", "MemoryActionLog", "action_record"]


def action_record(action: str, by: str, *, service: str = "", env: str = "", tag: str = "",
                  model: int = 0, detail: str = "", ref: str = "") -> dict[str, Any]:
    return {"when": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "action": action, "by": by, "service": service, "env": env, "tag": tag,
            "model": model, "detail": detail, "ref": ref}


class ActionLog(Protocol):
    def append(self, record: dict[str, Any]) -> None: ...

    def records(self) -> list[dict[str, Any]]:
        """Oldest first."""


class MemoryActionLog:
    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(dict(record))

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._records]


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


class FileActionLog:
    """Appends whole lines (one ``write`` each, O_APPEND), so two servers never interleave."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock, open(self.path, "ab") as handle:
            if handle.tell() and not _ends_with_newline(self.path):
                line = "\n" + line  # after a line torn by a crash: start a new one
            handle.write(line.encode("utf-8"))

    def records(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash mid-write: skip it, keep the rest
        return out
