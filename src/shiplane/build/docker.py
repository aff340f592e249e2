"""Delegating a build to a Docker engine when asked (``--builder docker``).

The docker CLI talks to whatever daemon ``DOCKER_HOST`` names (default
``unix:///var/run/docker.sock``). Steps:

1. ``docker build`` with ``-f``, ``--build-arg``, ``--label`` (the same OCI labels the embedded
   builder writes), ``--target``, ``--no-cache``/``--pull`` and ``--network none`` unless
   ``--network host`` was asked for — RUN gets no network by default, as in the embedded
   builder. ``--iidfile`` names the exact image built, so concurrent builds cannot mix up a
   shared tag. The classic builder is used (``DOCKER_BUILDKIT=0``) unless the caller's
   environment sets ``DOCKER_BUILDKIT``: BuildKit needs the buildx CLI plugin, which Debian's
   ``docker.io`` does not ship.
2. ``docker save`` of that image (a docker-archive tarball, streamed from the daemon), then
   ``skopeo copy docker-archive:… oci:<layout>:<tag>``, which gzips the layers and writes an OCI
   manifest. The rest of ``shiplane build`` (tags, local refs, push through shiplane's registry
   client, printed digest) is then identical whichever builder ran.

   Why not ``docker push`` to the target registry: it needs a registry even when only
   ``--output-layout`` is asked for, the registry must be reachable from the daemon (which may be
   remote), and it would bypass shiplane's push path and its digest bookkeeping.

The classic builder ignores ``SOURCE_DATE_EPOCH``: docker-built images are not reproducible
(config ``created`` and layer mtimes are wall-clock times).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from shiplane.build.errors import BuildError, RunFailed

__all__ = ["DOCKER_UNREACHABLE_MARKERS", "build_with_docker", "docker_build_command",
           "docker_environment", "docker_failure"]

# What the docker CLI prints when it cannot reach the daemon (socket missing, refused, no access).
DOCKER_UNREACHABLE_MARKERS = (
    "Cannot connect to the Docker daemon",
    "permission denied while trying to connect to the Docker daemon",
    "error during connect",
)
# Classic builder: "The command '/bin/sh -c …' returned a non-zero code: 3"
_RUN_FAILED = re.compile(r"The command '(?P<command>.*)' returned a non-zero code: (?P<code>\d+)")
# BuildKit: "process \"/bin/sh -c …\" did not complete successfully: exit code: 3"
_RUN_FAILED_BUILDKIT = re.compile(r"did not complete successfully: exit code: (?P<code>\d+)")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _daemon_address(environ: Mapping[str, str]) -> str:
    return environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST is not set)"


def docker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The docker CLI's environment: the caller's, with the classic builder unless chosen."""
    env = dict(environ)
    env.setdefault("DOCKER_BUILDKIT", "0")
    return env


def docker_build_command(binary: str, context: Path, dockerfile: Path, *, image: str,
                         iidfile: Path, build_args: Mapping[str, str],
                         labels: Mapping[str, str], no_cache: bool = False, pull: bool = False,
                         network: str = "default", target: str | None = None) -> list[str]:
    command = [binary, "build", "-f", str(dockerfile), "-t", image, "--iidfile", str(iidfile),
               "--network", "host" if network == "host" else "none"]
    for key, value in sorted(build_args.items()):
        command += ["--build-arg", f"{key}={value}"]
    for key, value in sorted(labels.items()):
        command += ["--label", f"{key}={value}"]
    if no_cache:
        command.append("--no-cache")
    if pull:
        command.append("--pull")
    if target:
        command += ["--target", target]
    return [*command, str(context)]


def docker_failure(action: str, returncode: int, output: str,
                   environ: Mapping[str, str]) -> BuildError:
    """The error for a failed docker CLI call: daemon unreachable, a failing RUN, or other."""
    if any(marker in output for marker in DOCKER_UNREACHABLE_MARKERS):
        return BuildError(
            f"--builder docker: cannot reach the Docker daemon at {_daemon_address(environ)}:\n"
            f"{_tail(output, 3)}",
            hint="start dockerd, or set DOCKER_HOST to its socket (e.g. "
                 "DOCKER_HOST=unix:///run/docker.sock); or use --builder embedded")
    tail = _tail(output)
    for pattern in (_RUN_FAILED, _RUN_FAILED_BUILDKIT):
        found = pattern.search(output)
        if found:
            code = int(found.group("code"))
            return RunFailed(f"docker build: a RUN step exited with code {code}; last output "
                             f"lines:\n{tail}", exit_code=code, output_tail=tail)
    return BuildError(f"{action} failed (exit {returncode}):\n{tail}")


def _run(command: Sequence[str], action: str, env: Mapping[str, str]) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False,
                            env=dict(env))
    if result.returncode != 0:
        raise docker_failure(action, result.returncode, result.stdout + result.stderr, env)


def build_with_docker(context: Path, dockerfile: Path, layout: Path, tag: str, *,
                      build_args: Mapping[str, str], labels: Mapping[str, str] | None = None,
                      no_cache: bool = False, pull: bool = False, network: str = "default",
                      target: str | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Build with the Docker engine at ``DOCKER_HOST`` and write the image to ``layout`` under
    ``tag`` (an OCI layout with gzip layers)."""
    env = docker_environment(os.environ if environ is None else environ)
    binary = shutil.which("docker", path=env.get("PATH"))
    if binary is None:
        raise BuildError("--builder docker: the docker CLI is not installed",
                         hint="apt-get install docker.io (and run dockerd), or use "
                              "--builder embedded")
    skopeo = shutil.which("skopeo", path=env.get("PATH"))
    if skopeo is None:
        raise BuildError("--builder docker needs skopeo to convert the image to OCI",
                         hint="apt-get install skopeo")
    layout.mkdir(parents=True, exist_ok=True)
    iidfile = layout.parent / f".{layout.name}.iid"
    archive = layout.parent / f".{layout.name}.docker.tar"
    try:
        _run(docker_build_command(binary, context, dockerfile, image=f"shiplane-build:{tag}",
                                  iidfile=iidfile, build_args=build_args, labels=labels or {},
                                  no_cache=no_cache, pull=pull, network=network, target=target),
             "docker build", env)
        image_id = iidfile.read_text().strip()
        _run([binary, "save", "-o", str(archive), image_id], "docker save", env)
        _run([skopeo, "copy", "--quiet", f"docker-archive:{archive}", f"oci:{layout}:{tag}"],
             "skopeo copy (docker-archive → OCI layout)", env)
    finally:
        iidfile.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
