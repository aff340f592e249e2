"""Image layers unpacked for the process runtime: order, OCI whiteouts, confinement, copies."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from shiplane.cluster.nodes.images import ContentStore, PulledImage
from shiplane.cluster.nodes.rootfs import RootfsCache, RootfsError, apply_layer, resolve_in_root


def _tar(entries: list[tuple]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, kind, *rest in entries:
            info = tarfile.TarInfo(name)
            info.mode = 0o755 if kind == "dir" else 0o644
            data = b""
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, rest[0]
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, rest[0]
            else:
                data = rest[0] if rest else b""
                info.size = len(data)
                info.uid = info.gid = 1234
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


BASE = [("bin", "dir"), ("bin/a", "file", b"A"), ("bin/b", "file", b"B"), ("usr", "dir"),
        ("usr/lib", "dir"), ("lib", "sym", "usr/lib"), ("data", "dir"), ("data/old", "dir"),
        ("data/old/one", "file", b"1"), ("data/old/two", "file", b"2"),
        ("etc", "dir"), ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n"),
        ("keep", "dir"), ("keep/old", "file", b"o")]
TOP = [("bin/.wh.a", "file"), ("data/old/.wh..wh..opq", "file"), ("data/old/new", "file", b"N"),
       ("lib/libfoo.so", "file", b"so"), ("bin/b2", "link", "bin/b"),
       ("evil", "sym", "/"), ("evil/etc/owned", "file", b"x"), ("../../escape", "file", b"e"),
       ("keep/fresh", "file", b"F"), ("keep/.wh..wh..opq", "file")]  # marker after content


@pytest.fixture
def image(tmp_path: Path) -> tuple[ContentStore, PulledImage]:
    store = ContentStore(directory=tmp_path / "blobs")
    digests = []
    for layer in (BASE, TOP):
        data = _tar(layer)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = store.blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        store.blobs[digest] = len(data)
        digests.append(digest)
    return store, PulledImage("reg/img:1", "sha256:" + "ab" * 32, 0, (), "", tuple(digests))


def test_layers_apply_in_order_with_whiteouts_and_stay_inside_the_root(image, tmp_path):
    store, pulled = image
    root = RootfsCache(tmp_path / "rt", store).unpacked(pulled)
    assert not (root / "bin/a").exists() and (root / "bin/b").read_bytes() == b"B"
    assert sorted(os.listdir(root / "data/old")) == ["new"]  # opaque: lower content hidden
    assert sorted(os.listdir(root / "keep")) == ["fresh"]  # ...never this layer's own
    assert (root / "usr/lib/libfoo.so").read_bytes() == b"so"  # through the image's symlink
    assert os.stat(root / "bin/b2").st_ino == os.stat(root / "bin/b").st_ino
    assert (root / "etc/owned").read_bytes() == b"x"  # "/" meant the image's root
    assert (root / "escape").exists() and not (tmp_path / "escape").exists()
    assert os.stat(root / "bin/b").st_uid == (1234 if os.geteuid() == 0 else os.geteuid())
    for mount in ("proc", "dev", "tmp"):
        assert (root / mount).is_dir()
    assert oct(os.stat(root / "tmp").st_mode & 0o7777) == "0o1777"


def test_pod_copies_share_inodes_but_not_new_files(image, tmp_path):
    store, pulled = image
    cache = RootfsCache(tmp_path / "rt", store)
    one = cache.pod_copy(pulled, "pod-1", "web")
    two = cache.pod_copy(pulled, "pod-2", "web")
    assert os.stat(one / "bin/b").st_ino == os.stat(two / "bin/b").st_ino
    (one / "created").write_text("mine")
    (one / "bin/b").unlink()
    assert not (two / "created").exists() and (two / "bin/b").exists()
    assert cache.pod_copy(pulled, "pod-1", "web") == one  # kept across container restarts
    cache.remove_pod("pod-1")
    assert not one.exists() and two.exists()


def test_resolve_in_root_follows_symlinks_as_the_image_sees_them(tmp_path):
    (tmp_path / "usr/bin").mkdir(parents=True)
    os.symlink("usr/bin", tmp_path / "bin")
    os.symlink("/../../..", tmp_path / "up")
    assert resolve_in_root(tmp_path, "bin/sh") == tmp_path / "usr/bin/sh"
    assert resolve_in_root(tmp_path, "up/etc") == tmp_path / "etc"
    assert resolve_in_root(tmp_path, "bin", follow_last=False) == tmp_path / "bin"


def test_a_broken_layer_is_a_clear_error(tmp_path):
    bad = tmp_path / "layer"
    bad.write_bytes(b"not a tar at all" * 10)
    with pytest.raises(RootfsError, match="cannot unpack layer layer"):
        apply_layer(tmp_path / "root", bad)
