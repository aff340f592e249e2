""".dockerignore: table-driven cases following moby/patternmatcher (MatchesOrParentMatches)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.build.context import scan_context
from shiplane.build.dockerignore import parse_dockerignore

CASES = [
    # (patterns, path, excluded)
    ("*.go", "main.go", True),
    ("*.go", "sub/main.go", False),  # * never crosses /
    ("**/*.go", "sub/main.go", True),
    ("**/*.go", "main.go", True),  # **/ also matches zero directories
    ("**", "anything/at/all", True),
    ("**/file", "file", True),
    ("**/file", "dir/dir/file", True),
    ("**file", "dir/myfile", True),  # suffix match: HasSuffix(path, "file")
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/a/b", True),
    ("dir/**", "other/file", False),
    ("dir/**/file", "dir/file", True),
    ("dir/**/file", "dir/a/b/file", True),
    ("abc", "abc/def", True),  # a matching parent directory excludes its contents
    ("abc", "abcd", False),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("[a-c]x", "bx", True),
    ("[a-c]x", "dx", False),
    ("[^a]x", "bx", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("/rooted", "rooted", True),  # a leading / is dropped
    ("./dir/../file", "file", True),  # patterns are filepath.Clean-ed
    ("file.txt", "file_txt", False),  # . is literal
    ("a+b", "a+b", True),  # regexp metacharacters are literal
    ("(x)", "(x)", True),
    ("*/tmp", "a/tmp", True),
    ("*/tmp", "a/b/tmp", False),
    ("*.md\n!README.md", "README.md", False),
    ("*.md\n!README.md", "CHANGES.md", True),
    ("docs\n!docs/keep.md", "docs/keep.md", False),
    ("docs\n!docs/keep.md", "docs/other.md", True),
    ("!keep\n*", "keep", True),  # the last matching pattern decides
    ("*\n!keep", "keep", False),
    ("*\n!keep", "keep/inner", False),  # an exception for a directory re-includes its contents
    ("**/__pycache__\n**/*.pyc", "src/__pycache__/m.cpython-311.pyc", True),
    ("**/__pycache__\n**/*.pyc", "src/m.py", False),
    ("# a comment\nsecret", "# a comment", False),
    ("  secret  ", "secret", True),  # surrounding whitespace is trimmed
    (" #notcomment", "#notcomment", True),  # only a leading # starts a comment
    ("*", ".", False),  # the context root is never excluded
]


@pytest.mark.parametrize("patterns,path,excluded", CASES)
def test_docker_pattern_rules(patterns: str, path: str, excluded: bool) -> None:
    assert parse_dockerignore(patterns).excludes(path) is excluded


def test_lone_exclamation_mark_is_rejected() -> None:
    with pytest.raises(ValueError, match="line 2: illegal exclusion pattern"):
        parse_dockerignore("a\n!\n")


def test_context_scan_applies_rules_and_exceptions(tmp_path: Path) -> None:
    for name in ("src/main.py", "src/__pycache__/main.pyc", "tests/test_x.py", "docs/keep.md",
                 "docs/drop.md", ".git/HEAD", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / ".dockerignore").write_text(
        ".git\ntests\n**/__pycache__\ndocs\n!docs/keep.md\n*.md\n")
    files = scan_context(tmp_path).files
    assert "src/main.py" in files
    assert "docs/keep.md" in files  # the exception; "*.md" only matches top-level names
    assert not any(p.startswith((".git", "tests", "src/__pycache__")) for p in files)
    assert "README.md" not in files and "docs/drop.md" not in files
    assert ".dockerignore" in files


def test_context_scan_keeps_excluded_dir_holding_an_exception(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.md").write_text("k")
    (tmp_path / "docs" / "drop.md").write_text("d")
    (tmp_path / ".dockerignore").write_text("docs\n!docs/keep.md\n")
    files = scan_context(tmp_path).files
    assert "docs" in files and "docs/keep.md" in files and "docs/drop.md" not in files
