"""Delegating a build to buildah when asked (``--builder buildah``).

buildah runs daemonless as root here: ``buildah --storage-driver vfs bud --isolation chroot``;
the result is pushed into an OCI layout (``buildah push … oci:<layout>:<tag>``) so the rest of
``shiplane build`` (tags, push, digest) is the same whichever builder ran.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from shiplane.build.errors import BuildError

__all__ = ["buildah_command", "build_with_buildah"]


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def buildah_command(context: Path, dockerfile: Path, image: str, *,
                    build_args: Mapping[str, str], no_cache: bool = False, network: str = "default",
                    insecure: bool = False, root: Path | None = None,
                    source_date_epoch: int | None = None, target: str | None = None) -> list[str]:
    binary = shutil.which("buildah")
    if binary is None:
        raise BuildError("buildah is not installed", hint="apt-get install buildah, or use "
                         "--builder embedded")
    command = [binary, "--storage-driver", "vfs"]
    if root is not None:
        command += ["--root", str(root / "storage"), "--runroot", str(root / "run")]
    command += ["bud", "--isolation", "chroot", "--layers", "-f", str(dockerfile), "-t", image]
    for key, value in sorted(build_args.items()):
        command += ["--build-arg", f"{key}={value}"]
    if no_cache:
        command.append("--no-cache")
    if network in ("host", "none"):
        command.append(f"--network={network}")
    if insecure:
        command.append("--tls-verify=false")
    if source_date_epoch is not None:
        command += ["--source-date-epoch", str(source_date_epoch)]
    if target:
        command += ["--target", target]
    return [*command, str(context)]


def build_with_buildah(context: Path, dockerfile: Path, layout: Path, tag: str, *,
                       build_args: Mapping[str, str], no_cache: bool = False,
                       network: str = "default", insecure: bool = False,
                       root: Path | None = None, source_date_epoch: int | None = None,
                       target: str | None = None) -> None:
    """Build with buildah and write the image to ``layout`` under ``tag``."""
    image = f"localhost/shiplane-build:{tag}"
    command = buildah_command(context, dockerfile, image, build_args=build_args,
                              no_cache=no_cache, network=network, insecure=insecure, root=root,
                              source_date_epoch=source_date_epoch, target=target)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"buildah bud failed (exit {result.returncode}):\n"
                         f"{_tail(result.stdout + result.stderr)}")
    push = [command[0], "--storage-driver", "vfs"]
    if root is not None:
        push += ["--root", str(root / "storage"), "--runroot", str(root / "run")]
    push += ["push", "--quiet", image, f"oci:{layout}:{tag}"]
    pushed = subprocess.run(push, capture_output=True, text=True, check=False)
    if pushed.returncode != 0:
        raise BuildError(f"buildah push to {layout} failed: {_tail(pushed.stderr)}")
