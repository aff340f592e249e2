""".dockerignore patterns with Docker's exact rules.

Reading follows moby/patternmatcher ``ignorefile.ReadAll``: lines starting with ``#`` are
comments (before trimming), whitespace is trimmed, blank lines skipped, ``!`` marks an
exception, each pattern is ``filepath.Clean``-ed and a leading ``/`` dropped.

Matching follows ``PatternMatcher.MatchesOrParentMatches``: patterns are tried in order, a
pattern matches a path when it matches the path itself or any of its parent directories, and
the last matching pattern decides (an exception re-includes). ``*`` and ``?`` never cross
``/``; ``**`` crosses any number of directories (``**/`` also matches zero); ``\\`` escapes.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IgnoreRules", "parse_dockerignore", "read_dockerignore"]

_REGEX_SPECIAL = set(".+()|{}$")  # patternmatcher shouldEscape


def _clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash paths (``posixpath.normpath`` keeps a leading ``//``)."""
    if path == "":
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        return self.regex.match(path) is not None


def _compile(pattern: str) -> re.Pattern[str]:
    # Same translation as patternmatcher Pattern.compile (exact/prefix/suffix are special
    # cases of this regex: "a/**" is a prefix match, "**/a" a suffix match that also matches "a").
    out = "^"
    i = 0
    n = len(pattern)
    if pattern.startswith("**") and not any(c in pattern[2:] for c in "*?[]\\"):
        # patternmatcher "suffixMatch": HasSuffix(path, rest), and "**/foo" also matches "foo"
        rest = pattern[2:]
        if rest.startswith("/"):
            return re.compile("^(?:.*" + re.escape(rest) + "|" + re.escape(rest[1:]) + ")$", re.S)
        return re.compile("^.*" + re.escape(rest) + "$", re.S)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                if i >= n:
                    out += ".*"
                else:
                    out += "(.*/)?"
                continue
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\":
            if i + 1 < n:
                i += 1
                out += re.escape(pattern[i])
            else:
                out += r"\\"
        elif ch in "[]":
            out += ch
        elif ch in _REGEX_SPECIAL:
            out += "\\" + ch
        else:
            out += ch
        i += 1
    try:
        return re.compile(out + "$", re.S)
    except re.error as error:
        raise ValueError(f"bad pattern {pattern!r}: {error}") from None


@dataclass(frozen=True)
class IgnoreRules:
    """Compiled .dockerignore patterns; :meth:`excludes` answers for a slash path."""

    patterns: tuple[_Pattern, ...] = ()

    @property
    def has_exceptions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excludes(self, path: str) -> bool:
        path = _clean(path)
        if path == ".":
            return False  # "Don't let them exclude everything" (patternmatcher)
        parts = path.split("/")
        parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.matches(path) or any(pattern.matches(p) for p in parents)
            if hit:
                matched = not pattern.exclusion
        return matched


def parse_dockerignore(text: str) -> IgnoreRules:
    """Parse the text of a .dockerignore file (``ValueError`` for an invalid pattern)."""
    patterns: list[_Pattern] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if number == 1:
            raw = raw.removeprefix("\ufeff")
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
            if not line:
                raise ValueError(f".dockerignore line {number}: illegal exclusion pattern '!'")
        line = _clean(line)
        if len(line) > 1 and line.startswith("/"):
            line = line[1:]
        try:
            patterns.append(_Pattern(line, exclusion, _compile(line)))
        except ValueError as error:
            raise ValueError(f".dockerignore line {number}: {error}") from None
    return IgnoreRules(tuple(patterns))


def read_dockerignore(context: Path) -> IgnoreRules:
    """The rules of ``<context>/.dockerignore`` (no file: nothing excluded)."""
    path = context / ".dockerignore"
    if not path.is_file():
        return IgnoreRules()
    return parse_dockerignore(path.read_text(encoding="utf-8", errors="replace"))
