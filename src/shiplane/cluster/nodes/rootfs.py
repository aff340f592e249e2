"""Root filesystems for process pods: image layers unpacked once per image, copied per pod.

:class:`RootfsCache` unpacks a pulled image's layers (blobs from the node's
:class:`~shiplane.cluster.nodes.images.ContentStore`) in order into
``<dir>/images/<digest>/rootfs``, honouring OCI whiteouts (image-spec layer.md: ``.wh.<name>``
deletes ``<name>`` from lower layers, ``.wh..wh..opq`` hides a directory's lower content), and
never writing outside the root: every path is resolved inside the root, following the image's
own symlinks as the image sees them (``/bin -> usr/bin``). The unpacked tree is published by
rename, so a half-unpacked image is never used.

Each container of a pod then gets its own tree made of hard links to the cached one
(``cp -al``): cheap, but an in-place write to an existing image file would reach the cached
copy — new files, renames and deletions stay private to the pod. (The installed bubblewrap,
0.8, has no ``--overlay``; with 0.10+ an overlay would be the better copy.) The tree outlives
container restarts of the same pod and is removed with the pod.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

from shiplane.cluster.nodes.images import ContentStore, PulledImage
from shiplane.errors import ClusterError

__all__ = ["RootfsCache", "RootfsError", "apply_layer", "resolve_in_root", "resolve_user"]

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_MAX_LINKS = 40


class RootfsError(ClusterError):
    """An image could not be unpacked (unreadable layer, unsafe entry)."""


def resolve_in_root(root: Path, rel: str, *, follow_last: bool = True) -> Path:
    """``rel`` inside ``root`` with symlinks resolved as if ``root`` were ``/``."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = root.joinpath(*done, part)
        if candidate.is_symlink() and (parts or follow_last):
            hops += 1
            if hops > _MAX_LINKS:
                raise RootfsError(f"too many symlinks resolving {rel!r} in the image")
            target = os.readlink(candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    return root.joinpath(*done)


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _member_name(name: str) -> str | None:
    clean = posixpath.normpath("/" + name).lstrip("/")
    return clean or None


def apply_layer(root: Path, layer: Path) -> None:
    """Unpack one (gzip or plain) tar layer into ``root`` with OCI whiteouts, in one pass.

    Whiteouts only hide lower layers: a path this layer itself wrote is never removed by a
    whiteout or an opaque marker of the same layer, whatever their order in the archive."""
    written: set[str] = set()
    try:
        with open(layer, "rb") as handle, tarfile.open(fileobj=handle, mode="r|*") as tar:
            for member in tar:
                name = _member_name(member.name)
                if name is None:
                    continue
                parent, base = posixpath.split(name)
                if base == OPAQUE:
                    target = resolve_in_root(root, parent)
                    if target.is_dir() and not target.is_symlink():
                        for child in target.iterdir():
                            if posixpath.join(parent, child.name) not in written:
                                _remove(child)
                elif base.startswith(WHITEOUT):
                    hidden = posixpath.join(parent, base[len(WHITEOUT):])
                    target = resolve_in_root(root, parent).joinpath(base[len(WHITEOUT):])
                    if hidden not in written and (target.exists() or target.is_symlink()):
                        _remove(target)
                else:
                    _extract(tar, member, root, name)
                    written.add(name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RootfsError(f"cannot unpack layer {layer.name}: {exc}") from None


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, name: str) -> None:
    parent_rel, base = posixpath.split(name)
    parent = resolve_in_root(root, parent_rel)
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / base
    if member.isdir():
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            _remove(path)
        path.mkdir(exist_ok=True)
    else:
        if path.is_symlink() or path.exists():
            _remove(path)
        if member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            source = resolve_in_root(root, _member_name(member.linkname) or "", follow_last=False)
            os.link(source, path)
            return
        elif member.isfile():
            source = tar.extractfile(member)
            assert source is not None
            with open(path, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        elif member.isfifo():
            os.mkfifo(path)
        else:
            return  # device nodes: /dev comes from the sandbox
    if os.geteuid() == 0:
        os.lchown(path, member.uid, member.gid)
    if not member.issym():
        os.chmod(path, member.mode & 0o7777)
        os.utime(path, (member.mtime, member.mtime))


def resolve_user(rootfs: Path, user: str) -> tuple[int, int]:
    """``name``, ``uid``, ``name:group`` or ``uid:gid`` → numeric ids via the image's /etc."""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")

    def table(rel: str) -> list[list[str]]:
        try:
            text = resolve_in_root(rootfs, rel).read_text(errors="replace")
        except OSError:
            return []
        return [line.split(":") for line in text.splitlines() if line and line[0] != "#"]

    uid = gid = None
    if name.isdigit():
        uid = int(name)
        gid = next((int(r[3]) for r in table("etc/passwd") if len(r) > 3 and r[2] == name), uid)
    else:
        row = next((r for r in table("etc/passwd") if len(r) > 3 and r[0] == name), None)
        if row is None:
            raise RootfsError(f"unable to find user {name}: no matching entries in "
                                      "passwd file")
        uid, gid = int(row[2]), int(row[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            row = next((r for r in table("etc/group") if len(r) > 2 and r[0] == group), None)
            if row is None:
                raise RootfsError(f"unable to find group {group}: no matching entries "
                                          "in group file")
            gid = int(row[2])
    return uid, gid


class RootfsCache:
    """Unpacked images under ``directory/images``, pod copies under ``directory/pods``."""

    def __init__(self, directory: Path, content: ContentStore) -> None:
        self.directory = directory
        self.content = content
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, digest: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(digest, threading.Lock())

    def image_config(self, image: PulledImage) -> dict:
        """The OCI image config's ``config`` object (Entrypoint, Cmd, Env, WorkingDir, User)."""
        if not image.config_digest:
            return {}
        try:
            data = json.loads(self.content.blob_path(image.config_digest).read_bytes())
        except (OSError, ValueError) as exc:
            raise RootfsError(f"cannot read the config of {image.reference}: {exc}") from None
        return data.get("config") or {}

    def unpacked(self, image: PulledImage) -> Path:
        """The image's root filesystem, unpacked on first use (blocking: run in a thread)."""
        target = self.directory / "images" / image.digest.replace(":", "-") / "rootfs"
        if target.is_dir():
            return target
        with self._lock(image.digest):
            if target.is_dir():
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
            try:
                os.chmod(work, 0o755)
                for digest in image.layer_digests:
                    apply_layer(work, self.content.blob_path(digest))
                for mount, mode in (("proc", 0o555), ("dev", 0o755), ("tmp", 0o1777)):
                    point = work / mount
                    if not point.exists() and not point.is_symlink():
                        point.mkdir()
                        os.chmod(point, mode)
                os.rename(work, target)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        return target

    def pod_copy(self, image: PulledImage, pod_uid: str, container: str) -> Path:
        """The container's own tree (hard links to the cached image; blocking)."""
        source = self.unpacked(image)
        target = self.directory / "pods" / pod_uid / container / "rootfs"
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        for folder in (self.directory / "pods", self.directory / "pods" / pod_uid, target.parent):
            os.chmod(folder, 0o711)  # non-root users must reach their rootfs
        staging = target.with_name(".rootfs-copy")
        shutil.rmtree(staging, ignore_errors=True)
        done = subprocess.run(["cp", "-al", str(source), str(staging)], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RootfsError(f"cannot copy the root filesystem of {image.reference}: "
                              f"{done.stderr.strip()}")
        os.rename(staging, target)
        return target

    def remove_pod(self, pod_uid: str) -> None:
        shutil.rmtree(self.directory / "pods" / pod_uid, ignore_errors=True)

    def pod_dir(self, pod_uid: str) -> Path:
        return self.directory / "pods" / pod_uid


def is_world_searchable(path: Path) -> bool:
    for parent in [path, *path.parents]:
        try:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True
