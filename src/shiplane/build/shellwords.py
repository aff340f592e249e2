"""Variable substitution and word splitting for Dockerfile arguments.

Matches BuildKit's ``shell.Lex`` (frontend/dockerfile/shell/lex.go) for what Dockerfiles use:
single quotes are literal, double quotes allow ``$`` expansion and escape only ``"``, ``$`` and
the escape character, outside quotes the escape character makes the next character literal.
Expansions: ``$VAR``, ``${VAR}``, ``${VAR:-word}`` / ``${VAR-word}`` (default),
``${VAR:+word}`` / ``${VAR+word}`` (alternative), ``${VAR:?msg}`` / ``${VAR?msg}`` (required).
The colon forms treat an empty value like an unset one. Unset variables expand to "".
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SubstitutionError", "expand_word", "expand_words"]

_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class SubstitutionError(ValueError):
    """A ``${...}`` expression is malformed or a required variable is missing."""


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    # -- words ---------------------------------------------------------------------------
    def words(self, split: bool) -> list[str]:
        words: list[str] = []
        current: list[str] = []
        in_word = False
        while self.pos < len(self.text):
            ch = self.peek()
            if split and ch in " \t\r\n":
                self.next()
                if in_word:
                    words.append("".join(current))
                    current, in_word = [], False
                continue
            in_word = True
            if ch == "'":
                self.next()
                current.append(self.single_quoted())
            elif ch == '"':
                self.next()
                current.append(self.double_quoted())
            elif ch == "$":
                self.next()
                current.append(self.dollar())
            elif ch == self.escape:
                self.next()
                nxt = self.next()
                current.append(nxt)  # a trailing escape is dropped
            else:
                current.append(self.next())
        if in_word or not split:
            words.append("".join(current))
        return words

    def single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise SubstitutionError("unexpected end of text: missing closing single quote")
        value = self.text[self.pos : end]
        self.pos = end + 1
        return value

    def double_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if ch == "":
                raise SubstitutionError("unexpected end of text: missing closing double quote")
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
            elif ch == self.escape:
                if self.peek() in ('"', "$", self.escape):
                    out.append(self.next())
                elif self.peek() == "":
                    continue
                else:
                    out.append(ch)
            else:
                out.append(ch)

    # -- expansion -----------------------------------------------------------------------
    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def dollar(self) -> str:
        if self.peek() == "{":
            self.next()
            return self.braced()
        name = self.name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def braced(self) -> str:
        name = self.name()
        if not name:
            raise SubstitutionError(f"bad substitution at column {self.pos + 1}: missing name")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        op = self.next() if colon else ch
        if op not in ("-", "+", "?"):
            raise SubstitutionError(f"unsupported modifier {(':' if colon else '') + op!r} in ${{{name}}}")
        word = self.braced_word()
        value = self.env.get(name)
        present = value is not None and (value != "" or not colon)
        if op == "-":
            return value if present else word  # type: ignore[return-value]
        if op == "+":
            return word if present else ""
        if not present:
            raise SubstitutionError(f"{name}: {word or 'is not allowed to be unset'}")
        return value  # type: ignore[return-value]

    def braced_word(self) -> str:
        out: list[str] = []
        while True:
            ch = self.peek()
            if ch == "":
                raise SubstitutionError("missing '}' in variable expression")
            if ch == "}":
                self.next()
                return "".join(out)
            if ch == "$":
                self.next()
                out.append(self.dollar())
            elif ch == "'":
                self.next()
                out.append(self.single_quoted())
            elif ch == '"':
                self.next()
                out.append(self.double_quoted())
            elif ch == self.escape:
                self.next()
                out.append(self.next())
            else:
                out.append(self.next())


def expand_word(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand variables and remove quotes; whitespace is kept (one word)."""
    return _Lexer(text, env, escape).words(split=False)[0]


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, then expand and unquote each word."""
    return _Lexer(text, env, escape).words(split=True)
