"""Run a built image without a container engine: unpack its rootfs, start it in bubblewrap.

Used by tests and by ``shiplane build --run``-style smoke checks: the image's Entrypoint +
Cmd run as its User in its WorkingDir with its Env, in new pid/ipc/uts namespaces and, when
``network_host`` is set, the host's network (so a test can reach a loopback port).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from shiplane.build.errors import BuildError
from shiplane.build.layers import apply_layer
from shiplane.build.oci import Image
from shiplane.build.sandbox import (
    check_reachable,
    prepare_mountpoints,
    resolve_user,
    sandbox_command,
)
from shiplane.build.store import BlobStore

__all__ = ["start_image", "unpack_rootfs"]


def unpack_rootfs(blobs: BlobStore, image: Image, destination: Path) -> Path:
    """Apply every layer of ``image`` (whiteouts included) into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    os.chmod(destination, 0o755)
    for layer in image.layers:
        with blobs.open(layer["digest"]) as handle:
            apply_layer(destination, handle)
    return destination


def start_image(rootfs: Path, image: Image, *, command: Sequence[str] | None = None,
                env: Mapping[str, str] | None = None, network_host: bool = True,
                **popen: object) -> subprocess.Popen[bytes]:
    """Start the image's process (Entrypoint + Cmd, or ``command``) and return it."""
    config = image.config.get("config", {})
    argv = list(config.get("Entrypoint") or []) + list(
        command if command is not None else config.get("Cmd") or [])
    if not argv:
        raise BuildError("the image has neither Entrypoint nor Cmd, and no command was given")
    environment = dict(item.split("=", 1) for item in config.get("Env", []))
    environment.update(env or {})
    uid, gid = resolve_user(rootfs, config.get("User", ""))
    check_reachable(rootfs, uid)
    prepare_mountpoints(rootfs)
    drop = os.geteuid() == 0 and uid != 0
    cmd = sandbox_command(rootfs, argv, workdir=config.get("WorkingDir") or "/",
                          network_host=network_host, as_root=os.geteuid() == 0 and not drop)
    return subprocess.Popen(  # type: ignore[call-overload]
        cmd, env=environment, user=uid if drop else None, group=gid if drop else None,
        extra_groups=[] if drop else None, **popen)
