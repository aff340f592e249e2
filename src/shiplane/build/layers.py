"""Filesystem layers: reproducible tar+gzip writing, safe applying, and RUN diffs.

* :func:`write_layer` sorts the entries, writes a PAX tar with numeric owners only (no user
  or group names, no atime/ctime), mtimes clamped to SOURCE_DATE_EPOCH, and gzips it with
  mtime 0 and no file name — the same input gives the same bytes (image-spec "reproducible").
  The uncompressed sha256 is the DiffID, the compressed one the blob digest.
* :func:`apply_layer` unpacks a layer into a root folder, honouring OCI whiteouts
  (``.wh.<name>`` deletes a lower path, ``.wh..wh..opq`` empties a lower directory) and never
  writing outside the root: every parent path is resolved with :func:`secure_join`.
* :func:`snapshot` / :func:`diff_entries` turn the change a RUN made into layer entries.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from shiplane.build.errors import ArchiveRejected, BuildError

__all__ = [
    "ArchiveLimits",
    "LayerBlob",
    "TarEntry",
    "apply_layer",
    "diff_entries",
    "secure_join",
    "snapshot",
    "write_layer",
]

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
_IS_ROOT = os.geteuid() == 0


@dataclass(frozen=True)
class TarEntry:
    """One tar member to write; ``source`` is the host file for regular files."""

    path: str  # relative slash path, no leading "/"
    kind: str  # file | dir | symlink | hardlink | fifo
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    size: int = 0
    linkname: str = ""
    source: str = ""


@dataclass(frozen=True)
class LayerBlob:
    path: Path  # the gzip file (a temp file until moved into a blob store)
    digest: str  # sha256 of the gzip bytes
    diff_id: str  # sha256 of the tar bytes
    size: int


class _Hashing:
    def __init__(self, target: Any) -> None:
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.target.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass


def _sort_key(entry: TarEntry) -> list[str]:
    return entry.path.split("/")


def write_layer(entries: Iterable[TarEntry], directory: Path, *, compresslevel: int = 6) -> LayerBlob:
    """Write a reproducible gzip layer into a temp file inside ``directory``."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".layer-", suffix=".tar.gz")
    try:
        with os.fdopen(fd, "wb") as raw:
            compressed = _Hashing(raw)
            with gzip.GzipFile(filename="", mode="wb", fileobj=compressed,  # type: ignore[arg-type]
                               compresslevel=compresslevel, mtime=0) as gz:
                plain = _Hashing(gz)
                with tarfile.open(fileobj=plain, mode="w",  # type: ignore[call-overload]
                                  format=tarfile.PAX_FORMAT) as tar:
                    for entry in sorted(entries, key=_sort_key):
                        _add(tar, entry)
        return LayerBlob(Path(tmp), "sha256:" + compressed.hash.hexdigest(),
                         "sha256:" + plain.hash.hexdigest(), compressed.size)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _add(tar: tarfile.TarFile, entry: TarEntry) -> None:
    info = tarfile.TarInfo(entry.path)
    info.mode = entry.mode & 0o7777
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    info.mtime = int(entry.mtime)
    if entry.kind == "file":
        info.type = tarfile.REGTYPE
        if not entry.source:  # whiteouts and other empty files
            tar.addfile(info)
            return
        info.size = entry.size
        with open(entry.source, "rb") as handle:
            tar.addfile(info, handle)
        return
    info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                 "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[entry.kind]
    info.linkname = entry.linkname
    tar.addfile(info)


def whiteout(path: str) -> TarEntry:
    parent, name = posixpath.split(path)
    return TarEntry(posixpath.join(parent, WHITEOUT_PREFIX + name), "file", mode=0)


# -- applying -------------------------------------------------------------------------------


def secure_join(root: Path | str, rel: str, *, follow_last: bool = True) -> Path:
    """``root/rel`` with symlinks resolved as if ``root`` were ``/`` (never leaves root)."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    root = str(root)
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if (parts or follow_last) and os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise BuildError(f"too many levels of symbolic links in {rel!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return Path(root, *resolved)


def _member_path(name: str) -> str | None:
    cleaned = posixpath.normpath("/" + name).lstrip("/")
    return cleaned or None


def _remove(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _set_owner_mode(path: Path, member: tarfile.TarInfo) -> None:
    if _IS_ROOT:
        os.lchown(path, member.uid, member.gid)
    if not member.issym():
        os.chmod(path, member.mode & 0o7777)


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps for untrusted archives (ADD): total bytes, entry count; ``..`` is refused."""

    max_bytes: int = 1 << 30
    max_entries: int = 100_000


def _check(member: tarfile.TarInfo, limits: ArchiveLimits, seen: list[int], label: str) -> None:
    seen[0] += 1
    seen[1] += max(member.size, 0)
    if seen[0] > limits.max_entries:
        raise ArchiveRejected(f"{label}: more than {limits.max_entries} entries (tar bomb?)")
    if seen[1] > limits.max_bytes:
        raise ArchiveRejected(
            f"{label}: unpacks to more than {limits.max_bytes} bytes (tar bomb?)")
    names = [member.name] + ([member.linkname] if member.islnk() else [])
    for name in names:
        if name.startswith("/") or ".." in name.split("/"):
            raise ArchiveRejected(f"{label}: entry {name!r} points outside the archive root")


def apply_layer(root: Path, fileobj: IO[bytes], *, limits: ArchiveLimits | None = None,
                label: str = "layer") -> None:
    """Unpack a (compressed) tar stream into ``root``; OCI whiteouts apply unless
    ``limits`` is given (an ADD archive, checked against the caps instead)."""
    added: set[str] = set()
    seen = [0, 0]
    try:
        tar = tarfile.open(fileobj=fileobj, mode="r|*")
    except tarfile.TarError as error:
        raise ArchiveRejected(f"{label}: not a readable tar archive ({error})") from None
    with tar:
        for member in _members(tar, label):
            if limits is not None:
                _check(member, limits, seen, label)
            name = _member_path(member.name)
            if name is None:
                continue
            parent_rel, base = posixpath.split(name)
            parent = secure_join(root, parent_rel)
            if base == OPAQUE and limits is None:
                if parent.is_dir():
                    prefix = parent_rel + "/" if parent_rel else ""
                    for child in os.listdir(parent):
                        if prefix + child not in added:
                            _remove(parent / child)
                continue
            if base.startswith(WHITEOUT_PREFIX) and limits is None:
                _remove(parent / base[len(WHITEOUT_PREFIX):])
                continue
            parent.mkdir(parents=True, exist_ok=True)
            target = parent / base
            added.add(name)
            existing = None
            try:
                existing = os.lstat(target)
            except FileNotFoundError:
                pass
            if existing is not None and not (member.isdir() and stat.S_ISDIR(existing.st_mode)):
                _remove(target)
            if member.isdir():
                target.mkdir(exist_ok=True)
            elif member.isreg():
                source = tar.extractfile(member)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)  # type: ignore[misc]
            elif member.issym():
                os.symlink(member.linkname, target)
            elif member.islnk():
                link = _member_path(member.linkname)
                if link is None:
                    raise BuildError(f"layer entry {name!r} is a hard link to the root")
                os.link(secure_join(root, link, follow_last=False), target)
            elif member.isfifo():
                os.mkfifo(target)
            else:
                continue  # device nodes: the runtime provides /dev
            _set_owner_mode(target, member)


def _members(tar: tarfile.TarFile, label: str) -> Iterable[tarfile.TarInfo]:
    while True:
        try:
            member = tar.next()
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ArchiveRejected(f"{label}: corrupt archive ({error})") from None
        if member is None:
            return
        yield member


# -- RUN diffs ------------------------------------------------------------------------------

Snapshot = dict[str, tuple[int, int, int, int, int, int, int]]


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` with (mode, uid, gid, size, mtime, ctime, inode)."""
    result: Snapshot = {}

    def walk(directory: str, rel: str) -> None:
        for entry in os.scandir(directory):
            path = entry.name if not rel else f"{rel}/{entry.name}"
            st = entry.stat(follow_symlinks=False)
            result[path] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns,
                            st.st_ctime_ns, st.st_ino)
            if stat.S_ISDIR(st.st_mode):
                walk(entry.path, path)

    walk(str(root), "")
    return result


def entry_for(root: Path, rel: str, epoch: int) -> TarEntry | None:
    full = os.path.join(root, rel)
    st = os.lstat(full)
    mtime = min(int(st.st_mtime), epoch)
    uid, gid = (st.st_uid, st.st_gid) if _IS_ROOT else (0, 0)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return TarEntry(rel, "dir", mode, uid, gid, mtime)
    if stat.S_ISLNK(st.st_mode):
        return TarEntry(rel, "symlink", 0o777, uid, gid, mtime, linkname=os.readlink(full))
    if stat.S_ISREG(st.st_mode):
        return TarEntry(rel, "file", mode, uid, gid, mtime, st.st_size, source=full)
    if stat.S_ISFIFO(st.st_mode):
        return TarEntry(rel, "fifo", mode, uid, gid, mtime)
    return None  # sockets and devices are not kept in layers


def diff_entries(root: Path, before: Snapshot, after: Snapshot, epoch: int) -> list[TarEntry]:
    """Layer entries for what changed between two snapshots of ``root``."""
    entries: list[TarEntry] = []
    deleted = sorted(p for p in before if p not in after)
    gone: set[str] = set()
    for path in deleted:
        parent = posixpath.dirname(path)
        if any(parent == g or parent.startswith(g + "/") for g in gone if g):
            continue  # a deleted parent's whiteout covers it
        if parent and parent in after and stat.S_ISDIR(after[parent][0]) and \
                before.get(parent, (0,) * 7)[6] != after[parent][6]:
            continue  # the parent was replaced: its opaque marker covers it
        gone.add(path)
        entries.append(whiteout(path))
    first_link: dict[int, str] = {}
    for path in sorted(after, key=lambda p: p.split("/")):
        now, then = after[path], before.get(path)
        if then == now:
            continue
        entry = entry_for(root, path, epoch)
        if entry is None:
            continue
        if entry.kind == "dir" and then is not None and stat.S_ISDIR(then[0]) and then[6] != now[6]:
            entries.append(TarEntry(posixpath.join(path, OPAQUE), "file", mode=0))
        if entry.kind == "file" and os.lstat(entry.source).st_nlink > 1:
            inode = now[6]
            if inode in first_link:
                entry = TarEntry(path, "hardlink", entry.mode, entry.uid, entry.gid, entry.mtime,
                                 linkname=first_link[inode])
            else:
                first_link[inode] = path
        entries.append(entry)
    return entries
