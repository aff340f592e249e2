"""Pod volumes of the process runtime as host directories, bind-mounted into the containers.

Theory of operation: the pod worker sets the volumes up once, before the sandbox (the
kubelet's volume manager order), under ``<runtime dir>/pods/<pod uid>/volumes/<name>`` — next
to the pod's root filesystems, so they go when the pod's folder goes:

* emptyDir: an empty directory, mode 0777 (pkg/volume/emptydir), shared by every container
  that mounts it;
* configMap / secret: the files of :func:`~shiplane.cluster.decisions.pod_volumes.projected_files`
  written once with their modes (not refreshed when the source changes later: unlike the
  kubelet's atomic writer, no ``..data`` symlink swap).

:func:`bind_args` turns a container's mounts into bubblewrap ``--bind``/``--ro-bind`` options,
creating the mount points inside the container's (per-pod) root filesystem first, so a
read-only root (``securityContext.readOnlyRootFilesystem``) still gets its mounts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shiplane.cluster.decisions.pod_volumes import (
    Mount,
    VolumeSetupError,
    projected_files,
    volume_kind,
)

__all__ = ["bind_args", "setup_volumes"]


def setup_volumes(pod_dir: Path, pod: Mapping[str, Any],
                  sources: Mapping[tuple[str, str], Any]) -> dict[str, Path]:
    """Create the pod's volumes (blocking); ``{volume name: host directory}``. Nothing is left
    half-written on :class:`VolumeSetupError`."""
    volumes = list((pod.get("spec") or {}).get("volumes") or [])
    plans = [(v["name"], volume_kind(v), projected_files(v, sources)) for v in volumes]
    root = pod_dir / "volumes"
    root.mkdir(parents=True, exist_ok=True)
    for folder in (pod_dir.parent, pod_dir, root):
        os.chmod(folder, 0o711)  # non-root container users must reach their volumes
    paths: dict[str, Path] = {}
    for name, kind, files in plans:
        target = root / name
        if target.is_dir():  # set up before (a retried pod start)
            paths[name] = target
            continue
        staging = root / f".{name}.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        os.chmod(staging, 0o777 if kind == "emptyDir" else 0o755)
        for item in files:
            path = staging / item.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(item.data)
            os.chmod(path, item.mode & 0o777)
        os.rename(staging, target)
        paths[name] = target
    return paths


def _mount_point(rootfs: Path, mount_path: str, is_dir: bool) -> None:
    """Create ``mount_path`` inside ``rootfs`` (a directory, or an empty file for a file
    subPath); refuse paths that go through a symlink (it would resolve on the host)."""
    current = rootfs
    parts = [p for p in mount_path.split("/") if p]
    for i, part in enumerate(parts):
        current = current / part
        if current.is_symlink():
            raise VolumeSetupError(f"mountPath {mount_path}: {'/' + '/'.join(parts[:i + 1])} is "
                                   "a symlink in the image (not supported by the process runtime)")
        last = i == len(parts) - 1
        if not current.exists():
            if last and not is_dir:
                current.touch()
            else:
                current.mkdir()


def bind_args(rootfs: Path, mounts: list[Mount], volumes: Mapping[str, Path]) -> list[str]:
    """bwrap options mounting ``mounts`` (parents before children); blocking."""
    args: list[str] = []
    for mount in sorted(mounts, key=lambda m: m.mount_path.count("/")):
        source = volumes[mount.volume]
        if mount.sub_path:
            source = source / mount.sub_path
            if not source.exists():  # the kubelet creates a missing subPath directory
                source.mkdir(parents=True)
                os.chmod(source, 0o777)
        _mount_point(rootfs, mount.mount_path, source.is_dir())
        args += ["--ro-bind" if mount.read_only else "--bind", str(source), mount.mount_path]
    return args
