"""Printer columns: a JSONPath subset and ``meta.k8s.io/v1`` Table output for custom resources.

Columns (apiextensions-apiserver ``pkg/registry/customresource/tableconvertor``): ``Name``
first, then the version's ``additionalPrinterColumns``; without any, ``Name`` and ``Age``
(``.metadata.creationTimestamp``). ``date`` cells are shown as ages with apimachinery's
``duration.HumanDuration`` rules. Upstream evaluates a column's JSONPath and prints all
results joined by ``,``; missing values are empty cells (``nil`` in JSON).

The JSONPath subset (k8s.io/client-go ``util/jsonpath``) covers what CRD columns use:
``.a.b``, ``.a[0]``, ``.a[*].b``, ``.a[?(@.type=="Ready")].status``, ``['x.y']`` and the
``{...}`` wrapper.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shiplane.cluster.crd.definition import PrinterColumn, VersionInfo

__all__ = ["JSONPathError", "evaluate_jsonpath", "human_duration", "row_cells", "table", "table_columns"]


class JSONPathError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_\-]+)
      | \[(?P<index>-?\d+|\*)\]
      | \[\?\(@\.(?P<ffield>[A-Za-z0-9_.\-]+)\s*(?P<op>==|!=)\s*(?P<fval>"[^"]*"|'[^']*'|[^)\s]+)\)\]
      | \[['"](?P<quoted>[^'"]+)['"]\]
    """,
    re.VERBOSE,
)


def _steps(path: str) -> list[tuple[str, Any]]:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JSONPathError(f"unsupported JSONPath {path!r} at {text[pos:]!r}")
        if match.group("field") is not None:
            steps.append(("field", match.group("field")))
        elif match.group("quoted") is not None:
            steps.append(("field", match.group("quoted")))
        elif match.group("index") is not None:
            steps.append(("index", match.group("index")))
        else:
            value = match.group("fval").strip("'\"")
            steps.append(("filter", (match.group("ffield").split("."), match.group("op"), value)))
        pos = match.end()
    return steps


def evaluate_jsonpath(obj: Any, path: str) -> list[Any]:
    """Every value the path selects (empty when nothing matches)."""
    current = [obj]
    for kind, arg in _steps(path):
        nxt: list[Any] = []
        for value in current:
            if kind == "field":
                if isinstance(value, dict) and arg in value:
                    nxt.append(value[arg])
            elif kind == "index":
                if isinstance(value, list):
                    if arg == "*":
                        nxt.extend(value)
                    else:
                        i = int(arg)
                        if -len(value) <= i < len(value):
                            nxt.append(value[i])
            else:
                fields, op, expected = arg
                for item in value if isinstance(value, list) else []:
                    got: Any = item
                    for f in fields:
                        got = got.get(f) if isinstance(got, dict) else None
                    if (str(got) == expected if got is not None else False) == (op == "=="):
                        nxt.append(item)
        current = nxt
    return current


def human_duration(seconds: float) -> str:
    """apimachinery ``util/duration.HumanDuration``."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    s = int(seconds)
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        rest = days % 365
        return f"{days // 365}y{rest}d" if rest else f"{days // 365}y"
    return f"{hours // 24 // 365}y"


_NAME = {"name": "Name", "type": "string", "format": "name", "priority": 0,
         "description": "Name must be unique within a namespace. Is required when creating resources, "
                        "although some resources may allow a client to request the generation of an "
                        "appropriate name automatically. Name is primarily intended for creation "
                        "idempotence and configuration definition. Cannot be updated."}
_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")


def table_columns(version: VersionInfo) -> list[PrinterColumn]:
    return list(version.printer_columns) or [_AGE]


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def _cell(obj: dict[str, Any], column: PrinterColumn, now: datetime) -> Any:
    try:
        values = evaluate_jsonpath(obj, column.json_path)
    except JSONPathError:
        return None
    if not values:
        return None
    if column.type == "date":
        when = _parse_time(values[0]) if isinstance(values[0], str) else None
        return human_duration((now - when).total_seconds()) if when else None
    if len(values) == 1 and not isinstance(values[0], (dict, list)):
        return values[0]
    return ",".join(str(v) if not isinstance(v, (dict, list)) else repr(v) for v in values)


def row_cells(obj: dict[str, Any], version: VersionInfo, now: datetime) -> list[Any]:
    """One Table row: the name, then a cell per column of :func:`table_columns`."""
    return [(obj.get("metadata") or {}).get("name", "")] + [_cell(obj, c, now) for c in table_columns(version)]


def table(objects: list[dict[str, Any]], version: VersionInfo, now: datetime, *,
          include_object: str = "Metadata", resource_version: str = "") -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table (``include_object``: None, Metadata or Object)."""
    columns = table_columns(version)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        row: dict[str, Any] = {"cells": row_cells(obj, version, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version} if resource_version else {},
        "columnDefinitions": [_NAME] + [
            {"name": c.name, "type": c.type, "format": c.format, "description": c.description,
             "priority": c.priority}
            for c in columns
        ],
        "rows": rows,
    }
