"""Layers: reproducible bytes, whiteouts when applying, diffs, archive caps."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from shiplane.build.errors import ArchiveRejected
from shiplane.build.layers import (
    ArchiveLimits,
    TarEntry,
    apply_layer,
    diff_entries,
    secure_join,
    snapshot,
    write_layer,
)


def _tar(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, content or None for a dir, linkname for symlinks) → gzip tar bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue())


def test_same_entries_same_bytes_regardless_of_order(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("bb")
    entries = [TarEntry("x/a", "file", 0o644, size=1, source=str(tmp_path / "a"), mtime=5),
               TarEntry("x", "dir", 0o755), TarEntry("x/b", "file", 0o600, 1000, 1000, 5, 2,
                                                     source=str(tmp_path / "b"))]
    one = write_layer(entries, tmp_path)
    two = write_layer(list(reversed(entries)), tmp_path)
    assert one.digest == two.digest and one.diff_id == two.diff_id
    assert one.path.read_bytes() == two.path.read_bytes()
    with tarfile.open(one.path) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["x", "x/a", "x/b"]
    assert all(m.uname == "" and m.gname == "" for m in members)
    assert (members[2].uid, members[2].gid, members[2].mtime) == (1000, 1000, 5)
    assert one.path.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header mtime 0


def test_whiteouts_and_opaque_directories(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    apply_layer(root, io.BytesIO(_tar([("etc", None, ""), ("etc/a", b"1", ""),
                                       ("etc/b", b"2", ""), ("opq", None, ""),
                                       ("opq/old", b"o", ""), ("gone", b"g", "")])))
    apply_layer(root, io.BytesIO(_tar([("etc/.wh.a", b"", ""), (".wh.gone", b"", ""),
                                       ("opq/new", b"n", ""), ("opq/.wh..wh..opq", b"", "")])))
    assert sorted(os.listdir(root / "etc")) == ["b"]
    assert not (root / "gone").exists()
    assert os.listdir(root / "opq") == ["new"]  # lower content hidden, same-layer entry kept


def test_layers_never_write_outside_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    apply_layer(root, io.BytesIO(_tar([("evil", None, str(outside)), ("evil/x", b"pwn", ""),
                                       ("../escape", b"x", "")])))
    assert os.listdir(outside) == []
    assert (root / str(outside).lstrip("/") / "x").read_bytes() == b"pwn"
    assert (root / "escape").exists() and not (tmp_path / "escape").exists()
    assert secure_join(root, "../../etc") == root / "etc"


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            out[str(path.relative_to(root))] = "" if path.is_dir() else path.read_text()
    return out


def test_diff_emits_changes_whiteouts_and_opaque(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "root"
    for name in ("keep/a", "del/x", "del/y", "edit", "replace/old"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    lower = tmp_path / "lower"
    shutil.copytree(root, lower)
    before = snapshot(root)
    (root / "keep" / "new").write_text("n")
    shutil.rmtree(root / "del")
    (root / "edit").write_text("changed")
    shutil.rmtree(root / "replace")
    (root / "replace").mkdir()
    (root / "replace" / "fresh").write_text("f")
    entries = {e.path: e for e in diff_entries(root, before, snapshot(root), epoch=0)}
    assert ".wh.del" in entries and "del/.wh.x" not in entries  # one whiteout for the dir
    # a recreated dir: opaque marker if it got a new inode, else a whiteout of its old child
    assert ("replace/.wh..wh..opq" in entries) != ("replace/.wh.old" in entries)
    assert {"keep", "keep/new", "edit", "replace", "replace/fresh"} <= set(entries)
    assert "keep/a" not in entries
    assert all(e.mtime == 0 for e in entries.values())
    layer = write_layer(entries.values(), tmp_path)
    with open(layer.path, "rb") as handle:
        apply_layer(lower, handle)
    assert _tree(lower) == _tree(root)  # lower + diff == upper


def test_opaque_marker_hides_lower_entries(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "old").write_text("o")
    before = snapshot(root)
    before["d"] = before["d"][:6] + (before["d"][6] + 1,)  # as if the dir had another inode
    (root / "d" / "old").unlink()
    (root / "d" / "new").write_text("n")
    entries = {e.path for e in diff_entries(root, before, snapshot(root), epoch=0)}
    assert "d/.wh..wh..opq" in entries and "d/.wh.old" not in entries


@pytest.mark.parametrize("members,limits,message", [
    ([(f"f{i}", b"x", "") for i in range(20)], ArchiveLimits(max_entries=10), "more than 10 entries"),
    ([("big", b"x" * 5000, "")], ArchiveLimits(max_bytes=4096), "more than 4096 bytes"),
    ([("../../etc/passwd", b"x", "")], ArchiveLimits(), "outside the archive root"),
    ([("/abs", b"x", "")], ArchiveLimits(), "outside the archive root"),
])
def test_archive_caps(tmp_path: Path, members, limits: ArchiveLimits, message: str) -> None:
    with pytest.raises(ArchiveRejected, match=message):
        apply_layer(tmp_path, io.BytesIO(_tar(members)), limits=limits, label="ADD x.tgz")


def test_gzip_bomb_is_stopped_by_the_byte_cap(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = 64 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    bomb = gzip.compress(raw.getvalue(), compresslevel=9)
    assert len(bomb) < 1 << 20
    with pytest.raises(ArchiveRejected, match="tar bomb"):
        apply_layer(tmp_path, io.BytesIO(bomb), limits=ArchiveLimits(max_bytes=8 << 20))
    assert not (tmp_path / "zeros").exists()
