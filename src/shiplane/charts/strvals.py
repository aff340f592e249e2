"""Replay Helm's ``strvals.ParseInto`` on top of already-merged values.

Helm parses each ``--set``-family flag *into* the map built so far
(``pkg/strvals/parser.go``: ``ParseInto``, ``ParseIntoString``, ``ParseJSON``,
``ParseIntoFile``, ``ParseLiteralInto``). The SDK exposes only "parse into an
empty map", so shiplane does it in two steps and stays exact:

1. Helm parses the whole expression (its error messages and its typing rules:
   ``0123`` stays a string, ``123`` becomes an int, ``null`` deletes...);
2. :func:`split_assignments` cuts the expression into single ``key=value``
   assignments, each parsed again by Helm, and :func:`set_path` writes each
   value at its key path the way the Go parser walks ``dest``: a dotted step
   needs a map there (``data[k].(map[string]interface{})``), an index step a list
   (``setIndex`` pads with nulls, keeps the other elements), a dotted step
   after an index replaces a non-map element with a new map.

The splitter only finds where each assignment ends; it never interprets a
value (Go's own parser does that).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shiplane.charts.errors import SetExpressionError

__all__ = ["Assignment", "parse_into", "set_path", "split_assignments"]

Step = str | int  # a map key or a list index


@dataclass(frozen=True)
class Assignment:
    """One ``key=value`` of an expression: its raw text and its key path."""

    text: str
    path: tuple[Step, ...]


def _read_key(expression: str, start: int) -> tuple[tuple[Step, ...], int]:
    """Read ``a.b[0].c`` up to ``=``; returns the path and the index after ``=``."""
    path: list[Step] = []
    name: list[str] = []
    i = start
    while i < len(expression):
        char = expression[i]
        if char == "\\" and i + 1 < len(expression):
            name.append(expression[i + 1])
            i += 2
            continue
        if char not in ".=[":
            name.append(char)
            i += 1
            continue
        # a stop rune: the name read so far is a step, unless it is the empty
        # gap after an index (``a[0].b``, ``a[0][1]``, ``a[0]=``)
        if name or not path or not isinstance(path[-1], int):
            path.append("".join(name))
        name = []
        if char == "=":
            return tuple(path), i + 1
        if char == "[":
            close = expression.index("]", i)
            path.append(int(expression[i + 1 : close]))
            i = close
        i += 1
    raise ValueError("key without value")  # Helm rejected this already


def _value_end(expression: str, start: int, flavour: str) -> int:
    """Index just past the value starting at ``start`` (before any ``,``)."""
    if flavour == "set-literal":
        return len(expression)  # ParseLiteral takes the rest verbatim
    if flavour == "set-json":
        rest = expression[start:]
        stripped = rest.lstrip()
        if not stripped or stripped[0] == ",":
            return start + len(rest) - len(stripped)  # empty value means null
        _, consumed = json.JSONDecoder().raw_decode(stripped)
        return start + (len(rest) - len(stripped)) + consumed
    i = start
    if i < len(expression) and expression[i] == "{":
        stops = "}"
    else:
        stops = ","
    while i < len(expression):
        char = expression[i]
        if char == "\\":
            i += 2
            continue
        if char in stops:
            return i + 1 if char == "}" else i
        i += 1
    return len(expression)


def split_assignments(expression: str, flavour: str) -> list[Assignment]:
    """Cut a (Helm-validated) expression into its single assignments.

    Each text keeps the ``,`` that followed it: Helm reads ``a[0].b=,`` and
    ``a[0].b=`` (end of input) differently, and so must the replay.
    """
    out: list[Assignment] = []
    i = 0
    while i < len(expression):
        path, value_start = _read_key(expression, i)
        end = _value_end(expression, value_start, flavour)
        if flavour == "set-json":  # blanks may surround the separator
            while end < len(expression) and expression[end].isspace():
                end += 1
        if end < len(expression) and expression[end] == ",":
            end += 1
        out.append(Assignment(expression[i:end], path))
        i = end
    return out


_MISSING = object()


def _leaf(parsed: Any, path: tuple[Step, ...]) -> Any:
    node = parsed
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def _reaches_existing_element(dest: dict[str, Any], path: tuple[Step, ...]) -> bool:
    """Does ``dest`` already hold the list element the path's last index names?"""
    node: Any = dest
    last_index = max(i for i, step in enumerate(path) if isinstance(step, int))
    for step in path[: last_index + 1]:
        if isinstance(step, int):
            if not isinstance(node, list) or len(node) <= step:
                return False
        elif not isinstance(node, dict) or step not in node:
            return False
        node = node[step]
    return True


def _apply_partial(dest: dict[str, Any], parsed: dict[str, Any], path: tuple[Step, ...]) -> None:
    """Helm stopped part-way: ``a[0].b=`` at the very end of the input makes
    ``listItem`` return on EOF *before* ``setIndex``. An element that already
    exists was still changed in place; otherwise only the containers Helm
    created on the way remain (parsed shows them)."""
    node: Any = dest
    source: Any = parsed
    for step in path:
        try:
            source = source[step]
        except (KeyError, IndexError, TypeError):
            return
        if isinstance(node, dict) and isinstance(step, str):
            if step not in node:
                node[step] = copy.deepcopy(source)
                return
            node = node[step]
        else:
            return


def _grow(items: list[Any], index: int) -> list[Any]:
    if len(items) <= index:
        items = items + [None] * (index + 1 - len(items))
    return items


def set_path(dest: dict[str, Any], path: tuple[Step, ...], value: Any, expression: str) -> None:
    """Write ``value`` at ``path`` inside ``dest`` as Helm's parser does."""

    def fail(step: Step, found: Any, wanted: str) -> SetExpressionError:
        return SetExpressionError(
            f"{expression!r}: cannot set {wanted} at {step!r}: it holds a "
            f"{type(found).__name__} (Helm: unable to parse key)"
        )

    def into_map(node: dict[str, Any], steps: tuple[Step, ...]) -> None:
        key = steps[0]
        assert isinstance(key, str)
        if len(steps) == 1:
            node[key] = value
            return
        if isinstance(steps[1], int):
            existing = node.get(key, [])
            if not isinstance(existing, list):
                raise fail(key, existing, "a list index")
            node[key] = into_list(list(existing), steps[1:])
            return
        existing = node.get(key, {})
        if not isinstance(existing, dict):
            raise fail(key, existing, "a map key")
        node[key] = existing
        into_map(existing, steps[1:])

    def into_list(items: list[Any], steps: tuple[Step, ...]) -> list[Any]:
        index = steps[0]
        assert isinstance(index, int)
        items = _grow(items, index)
        if len(steps) == 1:
            items[index] = value
        elif isinstance(steps[1], int):
            inner = items[index] if isinstance(items[index], list) else []
            items[index] = into_list(list(inner), steps[1:])
        else:
            # "indices out of order. Initialize empty value" (listItem)
            inner = items[index] if isinstance(items[index], dict) else {}
            into_map(inner, steps[1:])
            items[index] = inner
        return items

    into_map(dest, path)


def parse_into(
    dest: dict[str, Any], expression: str, flavour: str,
    parse: Callable[[str, str], dict[str, Any]],
) -> None:
    """Parse ``expression`` with Helm (``parse(flavour, text)``) into ``dest``."""
    parse(flavour, expression)  # Helm validates the whole expression first
    for assignment in split_assignments(expression, flavour):
        parsed = parse(flavour, assignment.text)
        leaf = _leaf(parsed, assignment.path)
        if leaf is _MISSING and _reaches_existing_element(dest, assignment.path):
            set_path(dest, assignment.path, "", expression)  # in-place, value "" at EOF
        elif leaf is _MISSING:
            _apply_partial(dest, parsed, assignment.path)
        else:
            set_path(dest, assignment.path, leaf, expression)
