"""Dockerfile parsing and variable substitution."""

from __future__ import annotations

import pytest

from shiplane.build.dockerfile import parse_dockerfile
from shiplane.build.errors import DockerfileError, UnsupportedInstruction
from shiplane.build.shellwords import SubstitutionError, expand_word, expand_words


def test_continuations_comments_and_lines() -> None:
    df = parse_dockerfile(
        "# syntax=docker/dockerfile:1\n"
        "FROM scratch\n"
        "\n"
        "RUN echo a \\\n"
        "    # a comment inside the continuation\n"
        "\n"
        "    && echo b\n"
        "  cmd [\"x\"]\n"
    )
    assert df.directives == {"syntax": "docker/dockerfile:1"}
    run = df.instructions[1]
    assert (run.keyword, run.line) == ("RUN", 4)
    assert run.rest == "echo a     && echo b"
    assert df.instructions[2].keyword == "CMD" and df.instructions[2].line == 8
    assert df.instructions[2].exec_form == ("x",)


def test_escape_directive_backtick() -> None:
    df = parse_dockerfile("# escape=`\nFROM scratch\nRUN echo \\path `\n  more\n")
    assert df.escape == "`"
    assert df.instructions[1].rest == "echo \\path   more"


def test_directive_after_comment_is_just_a_comment() -> None:
    df = parse_dockerfile("# hello\n# escape=`\nFROM scratch\n")
    assert df.escape == "\\" and df.directives == {}


def test_json_and_shell_forms() -> None:
    df = parse_dockerfile('FROM scratch\nCMD ["a", "b c"]\nCMD [not json\nENTRYPOINT exec me\n')
    assert df.instructions[1].exec_form == ("a", "b c")
    assert df.instructions[2].exec_form is None  # invalid JSON falls back to the shell form
    assert df.instructions[3].exec_form is None and df.instructions[3].rest == "exec me"


def test_flags_are_split() -> None:
    df = parse_dockerfile("FROM --platform=linux/amd64 scratch AS a\n"
                          "COPY --from=a --chown=1:2 --chmod=0755 x /y\n")
    copy = df.instructions[1]
    assert copy.flags == (("from", "a"), ("chown", "1:2"), ("chmod", "0755"))
    assert copy.rest == "x /y"


@pytest.mark.parametrize("text,line,message", [
    ("FROM scratch\nFROOM x\n", 2, "unknown instruction: FROOM"),
    ("FROM scratch\nONBUILD RUN x\n", 2, "ONBUILD triggers are not supported"),
    ("FROM scratch\n\nRUN --mount=type=cache,target=/x true\n", 3, "RUN --mount is not supported"),
    ("FROM scratch\nRUN <<EOF\necho\nEOF\n", 2, "heredocs"),
    ("FROM scratch\nCOPY --link a b\n", 2, "COPY --link is not supported"),
    ("FROM scratch\nCOPY --nope a b\n", 2, "unknown flag --nope"),
    ("RUN x\n", 1, "first instruction"),
    ("FROM scratch\nSHELL /bin/bash -c\n", 2, "SHELL requires the JSON form"),
    ("# escape=x\nFROM scratch\n", 1, "invalid escape"),
    ("", 1, "no instructions"),
])
def test_bad_dockerfiles_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"Dockerfile:{line}:")
    assert message in str(info.value)


def test_unsupported_is_its_own_class() -> None:
    with pytest.raises(UnsupportedInstruction):
        parse_dockerfile("FROM scratch\nONBUILD RUN x\n")


ENV = {"A": "x", "EMPTY": "", "SPACE": "a b"}


@pytest.mark.parametrize("text,expected", [
    ("$A", "x"),
    ("${A}", "x"),
    ("pre${A}post", "prexpost"),
    ("${UNSET}", ""),
    ("${UNSET:-def}", "def"),
    ("${EMPTY:-def}", "def"),
    ("${EMPTY-def}", ""),  # without the colon only unset counts
    ("${A:+alt}", "alt"),
    ("${UNSET:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET:-${A}y}", "xy"),  # nested
    ("'$A'", "$A"),  # single quotes are literal
    ('"$A b"', "x b"),
    ('"\\$A"', "$A"),  # escaped dollar in double quotes
    ("\\$A", "$A"),
    ("$", "$"),
    ("$1x", ""),
])
def test_substitution(text: str, expected: str) -> None:
    assert expand_word(text, ENV) == expected


def test_words_split_on_unquoted_space_only() -> None:
    assert expand_words('a "b c" d\\ e ${SPACE}', ENV) == ["a", "b c", "d e", "a b"]


@pytest.mark.parametrize("text", ["${A", "${:-x}", "'open", '"open', "${UNSET:?must be set}",
                                  "${A/x/y}"])
def test_bad_substitutions(text: str) -> None:
    with pytest.raises(SubstitutionError):
        expand_word(text, ENV)
