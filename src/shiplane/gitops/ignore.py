"""``ignoreDifferences`` as path removal (pure).

Argo CD removes the ignored fields from both the desired and the live object
before diffing (argo-cd ``util/argo/normalizers/diff_normalizer.go``). Three
ways of naming fields are supported:

- ``jsonPointers``: RFC 6901 pointers (``/spec/replicas``, ``~1`` for ``/``);
- ``jqPathExpressions``: a documented subset of jq paths — ``.a.b``, ``.["a.b"]``,
  ``.a[]``, ``.a[0]``, and ``select(.k == "v")`` / ``select(.k != "v")`` stages
  joined by ``|`` (e.g. ``.spec.template.spec.containers[] | select(.name == "app")
  | .image``). Anything else is refused with a clear error, never silently ignored;
- ``managedFieldsManagers``: every field the named managers own in the live
  object's ``metadata.managedFields`` (``fieldsV1``: ``f:`` field, ``k:`` list item
  by key, ``v:`` set value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from shiplane.gitops.application import IgnoreDifference
from shiplane.gitops.errors import ApplicationInvalid

__all__ = ["apply_ignores", "jq_paths", "managed_paths", "pointer_path", "remove_path"]

Path = tuple[Any, ...]


def pointer_path(pointer: str) -> Path:
    """``/spec/template/metadata/annotations/a~1b`` → (spec, template, ..., "a/b")."""
    if pointer == "":
        return ()
    parts = pointer.split("/")[1:]
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in parts)


def remove_path(obj: Any, path: Path) -> None:
    """Delete ``path`` from ``obj`` in place; a missing path is not an error."""
    if not path:
        return
    node = obj
    for part in path[:-1]:
        node = _step(node, part)
        if node is None:
            return
    last = path[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
    elif isinstance(node, list):
        index = _index(last)
        if index is not None and 0 <= index < len(node):
            node[index] = _REMOVED


class _Removed:
    """A list item that was ignored: kept as a placeholder so indexes stay aligned."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Removed)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<ignored>"


_REMOVED = _Removed()


def _index(part: Any) -> int | None:
    if isinstance(part, int):
        return part
    return int(part) if isinstance(part, str) and part.isdigit() else None


def _step(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list):
        index = _index(part)
        return node[index] if index is not None and 0 <= index < len(node) else None
    return None


# -- jq subset ---------------------------------------------------------------------------------
_TOKEN = re.compile(
    r'\s*(?:\.\["(?P<quoted>[^"]+)"\]|\.(?P<field>[A-Za-z_][A-Za-z0-9_-]*)'
    r"|\[(?P<index>\d+)\]|(?P<all>\[\])|(?P<dot>\.)(?=\s*$))"
)
_SELECT = re.compile(r'^\s*select\(\s*(?P<path>\.[^=!]+?)\s*(?P<op>==|!=)\s*(?P<value>.+?)\s*\)\s*$')


def _parse_path(text: str, expression: str) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ApplicationInvalid(
                f"jqPathExpression {expression!r}: unsupported syntax at {text[pos:]!r}",
                hint='supported: .a.b, .["a.b"], .a[], .a[0], select(.k == "v"), joined by |')
        if match.group("quoted") is not None:
            steps.append(("key", match.group("quoted")))
        elif match.group("field") is not None:
            steps.append(("key", match.group("field")))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("all") is not None:
            steps.append(("all", None))
        pos = match.end()
    return steps


def _walk(node: Any, path: Path, steps: list[tuple[str, Any]]) -> Iterator[tuple[Path, Any]]:
    if not steps:
        yield path, node
        return
    (op, arg), rest = steps[0], steps[1:]
    if op == "key" and isinstance(node, dict) and arg in node:
        yield from _walk(node[arg], (*path, arg), rest)
    elif op == "index" and isinstance(node, list) and arg < len(node):
        yield from _walk(node[arg], (*path, arg), rest)
    elif op == "all" and isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, (*path, i), rest)
    elif op == "all" and isinstance(node, dict):
        for key, item in node.items():
            yield from _walk(item, (*path, key), rest)


def jq_paths(obj: Any, expression: str) -> list[Path]:
    """The concrete paths an expression of the supported jq subset selects in ``obj``."""
    current: list[tuple[Path, Any]] = [((), obj)]
    for stage in expression.split("|"):
        select = _SELECT.match(stage)
        if select:
            try:
                wanted = json.loads(select.group("value"))
            except json.JSONDecodeError:
                raise ApplicationInvalid(
                    f"jqPathExpression {expression!r}: select value must be a JSON literal"
                ) from None
            inner = _parse_path(select.group("path"), expression)
            kept = []
            for path, node in current:
                found = [value for _, value in _walk(node, (), inner)]
                value = found[0] if found else None
                if (value == wanted) == (select.group("op") == "=="):
                    kept.append((path, node))
            current = kept
            continue
        steps = _parse_path(stage, expression)
        current = [hit for path, node in current for hit in _walk(node, path, steps)]
    return [path for path, _ in current if path]


# -- managedFields -----------------------------------------------------------------------------
def _fields_paths(fields: Mapping[str, Any], node: Any, path: Path) -> Iterator[Path]:
    for key, sub in fields.items():
        if key == ".":
            continue
        kind, _, name = key.partition(":")
        if kind == "f":
            child: Any = node.get(name) if isinstance(node, dict) else None
            child_path: Path = (*path, name)
        elif kind == "k" and isinstance(node, list):
            wanted = json.loads(name)
            index = next((i for i, item in enumerate(node) if isinstance(item, dict)
                          and all(item.get(k) == v for k, v in wanted.items())), None)
            if index is None:
                continue
            child, child_path = node[index], (*path, index)
        elif kind == "v" and isinstance(node, list):
            value = json.loads(name)
            if value not in node:
                continue
            index = node.index(value)
            child, child_path = node[index], (*path, index)
        else:
            continue
        leaves = [k for k in (sub or {}) if k != "."]
        if leaves:
            yield from _fields_paths(sub, child, child_path)
        else:
            yield child_path


def managed_paths(live: Mapping[str, Any], managers: tuple[str, ...],
                  target: Any = None) -> list[Path]:
    """Leaf paths owned by ``managers`` per ``live``'s managedFields, resolved in ``target``
    (default ``live``; list items named by key are looked up in ``target`` itself)."""
    target = live if target is None else target
    paths: list[Path] = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") in managers and entry.get("fieldsType", "FieldsV1") == "FieldsV1":
            paths.extend(_fields_paths(entry.get("fieldsV1") or {}, target, ()))
    return paths


def apply_ignores(desired: dict[str, Any] | None, live: dict[str, Any] | None,
                  rules: tuple[IgnoreDifference, ...],
                  managed_from: Mapping[str, Any] | None = None) -> None:
    """Remove ignored fields from both objects in place (either may be ``None``).

    ``managed_from`` is the live object with its managedFields (``live`` may be a
    normalised copy without them). Paths are resolved in each object separately, so a ``select`` or a managedFields
    list key finds the right item even when the two lists are ordered differently.
    """
    reference = live or desired
    if reference is None:
        return
    for rule in rules:
        if not rule.matches(reference):
            continue
        for obj in (desired, live):
            if obj is None:
                continue
            paths: list[Path] = [pointer_path(p) for p in rule.json_pointers]
            for expression in rule.jq_path_expressions:
                paths.extend(jq_paths(obj, expression))
            owner = managed_from if managed_from is not None else live
            if owner is not None and rule.managed_fields_managers:
                paths.extend(managed_paths(owner, rule.managed_fields_managers, obj))
            # deepest first; removed list items become placeholders so indexes hold
            for path in sorted(set(paths), key=lambda p: (-len(p), [str(x) for x in p])):
                remove_path(obj, path)
