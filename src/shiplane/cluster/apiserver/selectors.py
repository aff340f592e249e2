"""Label and field selectors: parsing the query strings and matching objects.

Label grammar from k8s.io/apimachinery/pkg/labels/selector.go: comma-separated
requirements ``key``, ``!key``, ``key=v``, ``key==v``, ``key!=v``, ``key in (a,b)``,
``key notin (a,b)``, ``key>n``, ``key<n``. ``!=`` and ``notin`` also match objects
without the key. Field selectors (fields/selector.go) are ``f=v``, ``f==v``, ``f!=v``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.store.errors import BadRequest

__all__ = ["FieldSelector", "LabelSelector", "parse_field_selector", "parse_label_selector"]

_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|<|>|[^\s=!(),<>]+)")


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        try:
            number = int(value) if value is not None else None
        except ValueError:
            return False
        if number is None:
            return False
        bound = int(self.values[0])
        return number > bound if self.op == "gt" else number < bound


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def parse_label_selector(text: str | None) -> LabelSelector:
    text = (text or "").strip()
    if not text:
        return LabelSelector()
    tokens = _TOKEN.findall(text)
    if "".join(tokens).replace(" ", "") != text.replace(" ", ""):
        raise BadRequest(f"unable to parse requirement: invalid label selector {text!r}")
    pos = 0
    requirements: list[LabelRequirement] = []

    def fail(why: str) -> BadRequest:
        return BadRequest(f"unable to parse requirement: {why}")

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise fail(f"found '', expected more in {text!r}")
        pos += 1
        return tokens[pos - 1]

    while pos < len(tokens):
        token = take()
        if token == "!":
            requirements.append(LabelRequirement(take(), "!"))
        else:
            key = token
            if pos >= len(tokens) or tokens[pos] == ",":
                requirements.append(LabelRequirement(key, "exists"))
            else:
                op = take()
                if op in ("=", "=="):
                    value = "" if pos >= len(tokens) or tokens[pos] == "," else take()
                    requirements.append(LabelRequirement(key, "=", (value,)))
                elif op == "!=":
                    value = "" if pos >= len(tokens) or tokens[pos] == "," else take()
                    requirements.append(LabelRequirement(key, "!=", (value,)))
                elif op in ("in", "notin"):
                    if take() != "(":
                        raise fail(f"found '{tokens[pos - 1]}', expected: '('")
                    values: list[str] = []
                    while True:
                        item = take()
                        if item == ")":
                            break
                        if item == ",":
                            continue
                        values.append(item)
                    requirements.append(LabelRequirement(key, op, tuple(values)))
                elif op in ("<", ">"):
                    bound = take()
                    if not bound.lstrip("-").isdigit():
                        raise fail("for 'Gt', 'Lt' operators, the value must be an integer")
                    requirements.append(
                        LabelRequirement(key, "gt" if op == ">" else "lt", (bound,))
                    )
                else:
                    raise fail(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise fail(f"found '{tokens[pos]}', expected: ',' or 'end of string'")
            pos += 1
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: dict[str, Any]) -> bool:
        for r in self.requirements:
            equal = _field_value(obj, r.field) == r.value
            if equal == r.negate:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self.requirements

    def exact(self, field: str) -> str | None:
        for r in self.requirements:
            if r.field == field and not r.negate:
                return r.value
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == sep:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_field_selector(text: str | None, allowed: tuple[str, ...]) -> FieldSelector:
    text = (text or "").strip()
    if not text:
        return FieldSelector()
    requirements = []
    for part in _split_unescaped(text, ","):
        match = re.match(r"^([^=!]+)(==|!=|=)(.*)$", part.strip())
        if not match:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.group(1).strip(), match.group(2), _unescape(match.group(3))
        if field not in ("metadata.name", "metadata.namespace") and field not in allowed:
            raise BadRequest(f"field label not supported: {field}")
        requirements.append(FieldRequirement(field, value, op == "!="))
    return FieldSelector(tuple(requirements))
