"""Dockerfile text → instructions, with the line each one starts on.

An own parser (the same rules as BuildKit's ``frontend/dockerfile/parser``) so every
instruction keeps its line number for error messages:

* parser directives (``# escape=`` / ``# syntax=`` / ``# check=``) only at the very top,
  before any comment, blank line or instruction; ``escape`` is ``\\`` or a backtick;
* comment lines (first non-blank character ``#``) are dropped, also inside continuations;
* a line ending in the escape character (trailing blanks allowed) continues on the next one;
  blank lines inside a continuation are skipped;
* leading ``--name=value`` flags are split off for the instructions that take them;
* JSON arrays of strings select the exec form for RUN/CMD/ENTRYPOINT/SHELL/COPY/ADD/VOLUME.

Heredocs (``RUN <<EOF``) and ONBUILD are refused with the line number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from shiplane.build.errors import DockerfileError, UnsupportedInstruction

__all__ = ["Dockerfile", "Instruction", "KEYWORDS", "exec_form_of", "parse_dockerfile"]

KEYWORDS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)

# Flags each instruction accepts; others Docker knows are refused explicitly below.
_FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "COPY": frozenset({"from", "chown", "chmod"}),
    "ADD": frozenset({"chown", "chmod"}),
    "RUN": frozenset({"network"}),
    "HEALTHCHECK": frozenset(
        {"interval", "timeout", "start-period", "start-interval", "retries"}
    ),
}
_KNOWN_UNSUPPORTED_FLAGS = {
    "RUN": {"mount", "security", "device"},
    "COPY": {"link", "parents", "exclude"},
    "ADD": {"checksum", "keep-git-dir", "link", "exclude", "unpack"},
}
_EXEC_FORM = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")


@dataclass(frozen=True)
class Instruction:
    """One instruction: ``keyword`` upper-case, ``rest`` the text after the flags."""

    keyword: str
    line: int
    rest: str
    flags: tuple[tuple[str, str], ...] = ()
    exec_form: tuple[str, ...] | None = None
    original: str = ""

    def flag(self, name: str) -> str | None:
        for key, value in self.flags:
            if key == name:
                return value
        return None

    def error(self, message: str, *, hint: str | None = None) -> DockerfileError:
        return DockerfileError(self.line, f"{self.keyword}: {message}", hint=hint)


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)


def _split_flags(keyword: str, line: int, rest: str) -> tuple[tuple[tuple[str, str], ...], str]:
    flags: list[tuple[str, str]] = []
    allowed = _FLAGS.get(keyword, frozenset())
    while True:
        match = re.match(r"\s*--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?=\s|$)", rest)
        if not match or keyword not in _FLAGS:
            break
        name, value = match.group(1), match.group(2)
        if name not in allowed:
            if name in _KNOWN_UNSUPPORTED_FLAGS.get(keyword, ()):
                raise UnsupportedInstruction(
                    line, f"{keyword} --{name} is not supported by the embedded builder",
                    hint="use --builder buildah for this Dockerfile",
                )
            raise DockerfileError(line, f"unknown flag --{name} for {keyword}")
        if value is None:
            raise DockerfileError(line, f"{keyword} --{name} needs a value (--{name}=...)")
        flags.append((name, value))
        rest = rest[match.end():]
    return tuple(flags), rest.strip()


def exec_form_of(rest: str) -> tuple[str, ...] | None:
    text = rest.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None  # Docker falls back to the shell form
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _instruction(text: str, line: int) -> Instruction:
    stripped = text.strip()
    keyword_text, _, rest = stripped.partition(" ")
    if "\t" in keyword_text:
        keyword_text, _, more = keyword_text.partition("\t")
        rest = more + " " + rest
    keyword = keyword_text.upper()
    if keyword not in KEYWORDS:
        raise DockerfileError(
            line, f"unknown instruction: {keyword_text}",
            hint="valid instructions: " + ", ".join(sorted(KEYWORDS - {"ONBUILD"})),
        )
    if keyword == "ONBUILD":
        raise UnsupportedInstruction(line, "ONBUILD triggers are not supported")
    flags, rest = _split_flags(keyword, line, rest)
    if keyword in ("RUN", "COPY", "ADD") and _HEREDOC.search(rest) and not exec_form_of(rest):
        raise UnsupportedInstruction(line, f"heredocs in {keyword} are not supported")
    exec_form = exec_form_of(rest) if keyword in _EXEC_FORM else None
    if keyword == "SHELL" and exec_form is None:
        raise DockerfileError(line, 'SHELL requires the JSON form, e.g. SHELL ["/bin/sh", "-c"]')
    if not rest and keyword not in ("RUN",):
        raise DockerfileError(line, f"{keyword} requires at least one argument")
    return Instruction(keyword, line, rest, flags, exec_form, stripped)


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse Dockerfile text; raises :class:`DockerfileError` naming the line."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    directives: dict[str, str] = {}
    index = 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        if not match:
            break
        key = match.group(1).lower()
        if key in directives:
            raise DockerfileError(index + 1, f"only one {key} parser directive can be used")
        directives[key] = match.group(2)
        index += 1
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(1, f"invalid escape token {escape!r}: must be \\ or `")
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")

    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number in range(index, len(lines)):
        raw = lines[number]
        bare = raw.strip()
        if not bare or bare.startswith("#"):
            continue  # comments and blank lines, also inside a continuation
        match = continuation.search(raw)
        if not pending:
            start = number + 1
        if match:
            pending.append(raw[: match.start()])
            continue
        pending.append(raw)
        instructions.append(_instruction("".join(pending), start))
        pending = []
    if pending:
        instructions.append(_instruction("".join(pending), start))
    if not instructions:
        raise DockerfileError(1, "the Dockerfile has no instructions")
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        line = first.line if first else instructions[0].line
        raise DockerfileError(line, "the first instruction (after global ARGs) must be FROM")
    return Dockerfile(tuple(instructions), escape, directives)
