"""Run a built image without a container engine: unpack its rootfs, start it in bubblewrap.

Used by tests and by ``shiplane build --run``-style smoke checks: the image's Entrypoint +
Cmd run as its User in its WorkingDir with its Env, in new pid/ipc/uts namespaces and, when
``network_host`` is set, the host's network (so a test can reach a loopback port).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

__all__ = ["RunningImage", "start_image", "unpack_rootfs"]


def unpack_rootfs(blobs: BlobStore, image: Image, destination: Path) -> Path:
    """Apply every layer of ``image`` (whiteouts included) into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    os.chmod(destination, 0o755)
    for layer in image.layers:
        with blobs.open(layer["digest"]) as handle:
            apply_layer(destination, handle)
    return destination


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


@dataclass
class RunningImage:
    """A started image; :meth:`stop` signals the image's own process, not bwrap."""

    process: subprocess.Popen[bytes]

    def app_pids(self) -> list[int]:
        """The leaves under bwrap (its pid-namespace helper and the command)."""
        leaves, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            children = _children(pid)
            if not children and pid != self.process.pid:
                leaves.append(pid)
            todo.extend(children)
        return leaves

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM the image's process (like ``docker stop``), SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            for pid in self.app_pids():
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def start_image(rootfs: Path, image: Image, *, command: Sequence[str] | None = None,
                env: Mapping[str, str] | None = None, network_host: bool = True,
                **popen: object) -> RunningImage:
    """Start the image's process (Entrypoint + Cmd, or ``command``) in bubblewrap."""
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
    return RunningImage(subprocess.Popen(  # type: ignore[call-overload]
        cmd, env=environment, user=uid if drop else None, group=gid if drop else None,
        extra_groups=[] if drop else None, **popen))
