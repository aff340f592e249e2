"""Run a command on a root folder inside bubblewrap: RUN steps and running built images.

As root, bwrap gets new mount, pid, ipc, uts, net (and cgroup) namespaces but no user
namespace, so a RUN can ``chown`` to any uid like in Docker; capabilities are cut to Docker's
default set. For a non-root USER the process drops to that uid before bwrap starts and bwrap
adds a user namespace (``--unshare-all``), so files it writes really belong to that uid.
The network namespace is only shared with ``network_host=True`` (``--network host``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shiplane.build.errors import SandboxError
from shiplane.build.layers import secure_join

__all__ = [
    "RunResult",
    "check_reachable",
    "prepare_mountpoints",
    "resolve_user",
    "run_sandboxed",
    "sandbox_command",
    "traversable",
]

# Docker's default capability set (moby oci/caps/defaults.go) minus CAP_MKNOD: without the
# device cgroup Docker relies on, mknod of a host disk would be reachable as real root.
_DEFAULT_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                 "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                 "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: bytes


def _bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError("bubblewrap (bwrap) is not installed; RUN needs it",
                           hint="apt-get install bubblewrap, or use --builder buildah")
    return path


def prepare_mountpoints(rootfs: Path) -> None:
    """Create /proc and /dev (bwrap mounts over them); they are never part of a layer."""
    for name in ("proc", "dev"):
        path = rootfs / name
        if not path.exists() and not path.is_symlink():
            path.mkdir(mode=0o755)


def resolve_user(rootfs: Path, user: str, what: str = "USER") -> tuple[int, int]:
    """``USER`` (``name``, ``uid``, ``name:group``, ``uid:gid``) → numeric ids via /etc files."""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")

    def table(path: str) -> list[list[str]]:
        try:
            text = secure_join(rootfs, path).read_text(errors="replace")
        except OSError:
            return []
        return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]

    uid = gid = None
    if name.isdigit():
        uid = int(name)
        for row in table("etc/passwd"):
            if len(row) > 3 and row[2] == name:
                gid = int(row[3])
        gid = uid if gid is None else gid
    else:
        for row in table("etc/passwd"):
            if len(row) > 3 and row[0] == name:
                uid, gid = int(row[2]), int(row[3])
        if uid is None:
            raise SandboxError(f"{what} {user}: no user {name!r} in the image's /etc/passwd")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            match = [row for row in table("etc/group") if len(row) > 2 and row[0] == group]
            if not match:
                raise SandboxError(f"{what} {user}: no group {group!r} in the image's /etc/group")
            gid = int(match[0][2])
    return uid, gid if gid is not None else uid


def traversable(path: Path) -> bool:
    """Can any user reach ``path`` (search permission on every ancestor)?"""
    path = Path(path).resolve()
    for parent in [path, *path.parents]:
        if not os.stat(parent).st_mode & 0o001:
            return False
    return True


def check_reachable(rootfs: Path, uid: int) -> None:
    if uid != 0 and os.geteuid() == 0 and not traversable(rootfs):
        raise SandboxError(
            f"{rootfs} cannot be reached by uid {uid} (a parent folder is not world-searchable)",
            hint="keep root folders for non-root USERs under a world-searchable folder like /tmp",
        )


def sandbox_command(rootfs: Path, argv: Sequence[str], *, workdir: str = "/",
                    network_host: bool = False, as_root: bool = True) -> list[str]:
    command = [_bwrap(), "--die-with-parent", "--new-session"]
    if as_root:
        command += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if not network_host:
            command.append("--unshare-net")
        command += ["--cap-drop", "ALL"]
        for cap in _DEFAULT_CAPS:
            command += ["--cap-add", cap]
    else:
        command.append("--unshare-all")
        if network_host:
            command.append("--share-net")
    command += ["--hostname", "shiplane", "--bind", str(rootfs), "/", "--proc", "/proc",
                "--dev", "/dev", "--chdir", workdir or "/", "--", *argv]
    return command


def run_sandboxed(rootfs: Path, argv: Sequence[str], env: Mapping[str, str], *,
                  workdir: str = "/", user: str = "", network_host: bool = False,
                  timeout: float | None = None) -> RunResult:
    """Run ``argv`` with ``rootfs`` as ``/``; stdout and stderr are captured together."""
    uid, gid = resolve_user(rootfs, user)
    check_reachable(rootfs, uid)
    euid = os.geteuid()
    drop = euid == 0 and uid != 0
    command = sandbox_command(rootfs, argv, workdir=workdir, network_host=network_host,
                              as_root=euid == 0 and not drop)
    env = dict(env)
    env.setdefault("HOME", "/root" if uid == 0 else "/")
    try:
        completed = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=timeout,
            user=uid if drop else None, group=gid if drop else None,
            extra_groups=[] if drop else None, check=False,
        )
    except subprocess.TimeoutExpired as error:
        return RunResult(124, (error.stdout or b"") + b"\n[timed out]\n")
    except OSError as error:
        raise SandboxError(f"cannot start bubblewrap: {error}") from None
    return RunResult(completed.returncode, completed.stdout)
