"""The build context as data: every file the Dockerfile may COPY, with its digest.

:func:`scan_context` walks the context folder once, applying .dockerignore, and returns a
:class:`ContextMap` (relative slash path → :class:`ContextFile`). Everything after that is pure:
:func:`resolve_source` turns a COPY/ADD source (a path or a ``filepath.Match`` glob) into context
entries, refusing anything outside the context (``..``, absolute paths, symlinks whose target
leaves the context).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from shiplane.build.dockerignore import IgnoreRules, read_dockerignore
from shiplane.build.errors import ContextError

__all__ = ["ContextFile", "ContextMap", "has_glob", "resolve_source", "scan_context"]

_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


@dataclass(frozen=True)
class ContextFile:
    path: str  # relative slash path, "." for the root
    kind: str  # "file" | "dir" | "symlink"
    mode: int  # permission bits
    size: int = 0
    digest: str = ""  # sha256:<hex> of the content (files), of the target (symlinks)
    target: str = ""  # symlink target
    mtime: int = 0
    archive: bool = False  # gzip/bzip2/xz/tar content: ADD extracts it


@dataclass(frozen=True)
class ContextMap:
    root: Path
    files: dict[str, ContextFile]

    def digest(self) -> str:
        """One digest over every path, kind, mode and content digest."""
        h = hashlib.sha256()
        for path in sorted(self.files):
            f = self.files[path]
            h.update(f"{path}\0{f.kind}\0{f.mode:o}\0{f.digest}\0{f.target}\n".encode())
        return "sha256:" + h.hexdigest()

    def children(self, directory: str) -> list[ContextFile]:
        prefix = "" if directory == "." else directory + "/"
        return [f for p, f in self.files.items() if p != "." and p.startswith(prefix)]


def _hash_file(path: str) -> tuple[str, bool]:
    h = hashlib.sha256()
    archive = False
    with open(path, "rb") as handle:
        first = handle.read(1 << 20)
        archive = first.startswith(_ARCHIVE_MAGIC) or first[257:262] == b"ustar"
        h.update(first)
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest(), archive


def scan_context(root: Path, rules: IgnoreRules | None = None) -> ContextMap:
    """Walk ``root`` (not following symlinks), skipping what .dockerignore excludes."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ContextError(f"build context {root} is not a directory")
    rules = rules if rules is not None else read_dockerignore(root)
    files: dict[str, ContextFile] = {".": ContextFile(".", "dir", 0o755)}
    prune = not rules.has_exceptions

    def walk(directory: str, rel: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            raise ContextError(f"cannot read {directory}: {error.strerror}") from None
        for entry in entries:
            path = entry.name if rel == "." else f"{rel}/{entry.name}"
            st = entry.stat(follow_symlinks=False)
            excluded = rules.excludes(path)
            if stat.S_ISDIR(st.st_mode):
                if excluded and prune:
                    continue
                before = len(files)
                files[path] = ContextFile(path, "dir", stat.S_IMODE(st.st_mode),
                                          mtime=int(st.st_mtime))
                walk(entry.path, path)
                if excluded and len(files) == before + 1:
                    del files[path]  # excluded and no exception re-included anything inside
                continue
            if excluded:
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(entry.path)
                files[path] = ContextFile(path, "symlink", 0o777, target=target,
                                          digest="sha256:" + hashlib.sha256(target.encode()).hexdigest(),
                                          mtime=int(st.st_mtime))
            elif stat.S_ISREG(st.st_mode):
                digest, archive = _hash_file(entry.path)
                files[path] = ContextFile(path, "file", stat.S_IMODE(st.st_mode), st.st_size,
                                          digest, mtime=int(st.st_mtime), archive=archive)
            # sockets, fifos and devices are not part of a build context

    walk(str(root), ".")
    return ContextMap(root, files)


_GLOB = re.compile(r"[*?\[]")


def has_glob(pattern: str) -> bool:
    return bool(_GLOB.search(pattern))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    # Go filepath.Match: * and ? never match "/", [...] classes with ^ negation, \ escapes.
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("^", "!") else i + 1)
            if end < 0:
                raise ContextError(f"bad source pattern {pattern!r}: unclosed '['")
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out += "[" + body.replace("\\", "\\\\") + "]"
            i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + r"\Z")


def _clean_source(source: str) -> str:
    if source.startswith("/"):
        raise ContextError(
            f"COPY/ADD source {source!r} is an absolute path",
            hint="sources are paths relative to the build context",
        )
    cleaned = posixpath.normpath(source)
    if cleaned == ".." or cleaned.startswith("../"):
        raise ContextError(f"COPY/ADD source {source!r} is outside the build context")
    return cleaned


def _follow(context: ContextMap, path: str, depth: int = 0) -> ContextFile:
    """Look ``path`` up, following symlinks (in every component) inside the context only."""
    if depth > 40:
        raise ContextError(f"too many levels of symbolic links resolving {path!r}")
    parts = [] if path == "." else path.split("/")
    current = "."
    for index, part in enumerate(parts):
        candidate = part if current == "." else f"{current}/{part}"
        entry = context.files.get(candidate)
        if entry is None:
            raise ContextError(
                f"{path!r} not found in the build context (or excluded by .dockerignore)"
            )
        if entry.kind == "symlink":
            target = entry.target
            if target.startswith("/"):
                raise ContextError(
                    f"{candidate!r} is a symlink to {target!r}, outside the build context"
                )
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(candidate), target))
            if joined == ".." or joined.startswith("../"):
                raise ContextError(
                    f"{candidate!r} is a symlink to {target!r}, outside the build context"
                )
            rest = parts[index + 1 :]
            full = posixpath.normpath("/".join([joined, *rest])) if rest else joined
            return _follow(context, full, depth + 1)
        current = candidate
    return context.files[current]


def resolve_source(context: ContextMap, source: str) -> list[tuple[str, ContextFile]]:
    """``(name, entry)`` for each path a COPY/ADD source names (globs sorted by path).

    ``name`` is the path as written (a followed symlink keeps its own name); ``entry`` is what
    it resolves to."""
    cleaned = _clean_source(source)
    if has_glob(cleaned):
        regex = _glob_regex(cleaned)
        matches = [f for p, f in sorted(context.files.items()) if p != "." and regex.match(p)]
        if not matches:
            raise ContextError(f"no source files were specified: {source!r} matches nothing")
        return [(m.path, _follow(context, m.path) if m.kind == "symlink" else m) for m in matches]
    return [(cleaned, _follow(context, cleaned))]
