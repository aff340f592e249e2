"""Cgroups for process containers: CPU shares and quota, memory limit, OOMKilled told.

Theory of operation, mirroring the kubelet (``cgroupsPerQOS``) and runc:

* **Where**: in this process' own cgroup of each controller (cgroup v1: the ``cpu`` and
  ``memory`` hierarchies under ``/sys/fs/cgroup/<controller>/<ours>``; v2: the unified
  hierarchy, when our cgroup delegates ``cpu``/``memory`` to children), if we may create
  children there. Nothing is needed beyond that: no systemd, no cgroup driver.
* **kubepods**: each control plane's runtime makes one parent,
  ``shiplane-kubepods-<pid namespace>-<pid>-<id>``
  (the kubelet's ``/kubepods``), with ``cpu.shares = MilliCPUToShares(host CPUs * 1000)``
  (v2: its ``cpu.weight``), which is what the kubelet writes for node-allocatable CPU on this
  host without reservations. All the pods of all the control plane's process nodes share it,
  since they share this host's CPUs: together they weigh what a kubelet's pods weigh against
  the host's other processes (here the API server, control plane and Service proxy, as
  ``system.slice`` would hold on a node), however many pods run. The kubelet's QoS level
  (``burstable``/``besteffort``) and pod level (``pod<uid>``) are left out: with sibling
  containers weighted by their own requests, a pod's containers together get the sum of their
  shares as the pod level would give, and BestEffort containers get 2 shares each.
* **Container**: a child ``shiplane-<pod uid>-<container>-<restart>`` of kubepods with the
  settings of :func:`shiplane.cluster.decisions.cgroup_resources.cgroup_writes` (shares,
  CFS quota/period, memory limit). The container's process joins it before it execs (a ``sh``
  prefix writes its pid to each ``cgroup.procs``), so every process the app starts is in it.
  After the container exits, the OOM-kill counter (``memory.oom_control`` / ``memory.events``
  ``oom_kill``) says whether the kernel's OOM killer ended it: the kubelet's ``OOMKilled``.
* **Clean-up**: a container's cgroup is removed when it exits (rmdir; one that still holds
  exiting processes is retried at the next create/remove/close), kubepods when the runtime
  closes; kubepods folders of processes that are gone (a crash, SIGKILL; same pid namespace
  only) are removed, with their empty children, when the next runtime starts on this host.
* **Degrading**: without a writable hierarchy for a controller, that controller's settings are
  not applied (logged once): no CPU limits/shares, or no memory limit and no ``OOMKilled``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from shiplane.cluster.decisions.cgroup_resources import (
    CgroupSettings,
    cgroup_writes,
    milli_cpu_to_shares,
    shares_to_weight,
)

__all__ = ["ContainerCgroup", "ContainerCgroups", "cgroup_writable"]

log = logging.getLogger(__name__)

CONTROLLERS = ("cpu", "memory")
_ROOT = Path("/sys/fs/cgroup")
_KUBEPODS = re.compile(r"shiplane-kubepods-(\d+)-(\d+)-[0-9a-f]+")  # pid namespace, pid
_LEGACY_AGE = 60.0  # s: a flat shiplane-<pod uid>-... cgroup (older versions) this old is stale


def _own_cgroup(controller: str) -> tuple[Path, int] | None:
    """(our cgroup folder for ``controller``, cgroup version), if the controller is there."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            for mount in (controller, controllers):  # "cpu" is often a link to "cpu,cpuacct"
                base = _ROOT / mount / path.lstrip("/")
                if base.is_dir():
                    return base, 1
            return None
    for line in lines:
        if line.startswith("0::"):
            base = _ROOT / line[3:].lstrip("/")
            with contextlib.suppress(OSError):
                if (base / "cgroup.controllers").exists() and controller in (
                        base / "cgroup.subtree_control").read_text().split():
                    return base, 2
    return None


def cgroup_writable(controller: str) -> bool:
    """Whether containers can get a ``controller`` ("cpu", "memory") cgroup on this host."""
    found = _own_cgroup(controller)
    if found is None:
        return False
    probe = found[0] / f"shiplane-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return False
    return True


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _pid_namespace() -> int:
    """Our pid namespace's inode: a kubepods folder's pid means something only in its own."""
    try:
        return int(os.readlink("/proc/self/ns/pid").split("[")[1].rstrip("]"))
    except (OSError, IndexError, ValueError):
        return 0


def _sweep_stale(base: Path) -> None:
    """Remove kubepods folders whose process is gone (and their empty children), and flat
    container cgroups of older shiplane versions that have stood empty a while."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    now, namespace = time.time(), _pid_namespace()
    for entry in entries:
        name = entry.name
        if not name.startswith("shiplane-") or name.startswith("shiplane-probe-"):
            continue
        match = _KUBEPODS.fullmatch(name)
        with contextlib.suppress(OSError):
            if match is not None:
                owner = int(match.group(2))
                if (int(match.group(1)) != namespace or owner == os.getpid()
                        or _pid_alive(owner)):
                    continue  # alive, or another pid namespace's: not ours to judge
                for child in entry.iterdir():
                    if child.is_dir():
                        with contextlib.suppress(OSError):
                            child.rmdir()
                entry.rmdir()
            elif entry.is_dir() and now - entry.stat().st_mtime > _LEGACY_AGE:
                entry.rmdir()  # fails (EBUSY) while processes are in it


@dataclass(frozen=True)
class ContainerCgroup:
    """One container's cgroup: the folders its process joins (v1: one per controller; v2:
    one), and which holds each controller's files."""

    paths: tuple[Path, ...]
    cpu: Path | None
    memory: Path | None
    version: int


class ContainerCgroups:
    """The kubepods cgroup of one control plane's process runtime and its containers'."""

    def __init__(self, host_milli_cpu: int | None = None) -> None:
        self.version = 0
        self.parents: dict[str, Path] = {}  # controller -> our kubepods folder
        self._lingering: set[Path] = set()  # container folders whose rmdir failed (EBUSY)
        name = f"shiplane-kubepods-{_pid_namespace()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        created: dict[Path, Path] = {}  # our cgroup -> kubepods in it (v2: one for both)
        for controller in CONTROLLERS:
            found = _own_cgroup(controller)
            if found is None:
                log.info("no %s cgroup to delegate: containers get no %s limits", controller,
                         controller)
                continue
            base, version = found
            if base not in created:
                _sweep_stale(base)
                try:
                    (base / name).mkdir()
                except OSError as exc:
                    log.info("%s cgroups not writable at %s (%s): no %s limits%s", controller,
                             base, exc, controller,
                             ", no OOMKilled" if controller == "memory" else "")
                    continue
                created[base] = base / name
            self.parents[controller] = created[base]
            self.version = version
        if self.version == 2 and self.parents:  # delegate the controllers to the containers
            parent = next(iter(self.parents.values()))
            try:
                (parent / "cgroup.subtree_control").write_text(
                    " ".join(f"+{c}" for c in self.parents))
            except OSError as exc:
                log.warning("cgroup %s: cannot enable %s: %s", parent, list(self.parents), exc)
                self.parents.clear()
                self._rmdir(parent)
        shares = milli_cpu_to_shares(host_milli_cpu or (os.cpu_count() or 1) * 1000)
        if "cpu" in self.parents:
            file, value = (("cpu.shares", shares) if self.version == 1
                           else ("cpu.weight", shares_to_weight(shares)))
            try:
                (self.parents["cpu"] / file).write_text(str(value))
            except OSError as exc:
                log.warning("cgroup %s: %s", self.parents["cpu"], exc)

    @property
    def available(self) -> bool:
        return bool(self.parents)

    def create(self, name: str, settings: CgroupSettings) -> ContainerCgroup | None:
        """The container's cgroup with ``settings`` applied; None when there is no hierarchy
        (or it could not be set up: logged, the container then runs unlimited)."""
        self._retry_lingering()
        if not self.parents:
            return None
        folders = {c: parent / name for c, parent in self.parents.items()}
        made: list[Path] = []
        try:
            for folder in dict.fromkeys(folders.values()):
                folder.mkdir(exist_ok=True)
                made.append(folder)
            for write in cgroup_writes(settings, self.version):
                folder = folders.get(write.controller)
                if folder is None:
                    continue
                try:
                    (folder / write.file).write_text(write.value)
                except OSError:
                    if not write.optional:
                        raise
        except OSError as exc:
            log.warning("cgroup %s: %s", name, exc)
            for folder in made:
                self._rmdir(folder)
            return None
        return ContainerCgroup(tuple(made), folders.get("cpu"), folders.get("memory"),
                               self.version)

    @staticmethod
    def join_command(shell: str, cgroup: ContainerCgroup | None) -> list[str]:
        """The ``sh`` prefix that moves the container's process into ``cgroup`` and then
        execs the rest of the command line (nothing without a cgroup)."""
        if cgroup is None:
            return []
        script = ('while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; '
                  'done; shift; exec "$@"')
        return [shell, "-c", script, "sh", *map(str, cgroup.paths), "--"]

    def oom_killed(self, cgroup: ContainerCgroup | None) -> bool:
        if cgroup is None or cgroup.memory is None:
            return False
        name = "memory.oom_control" if cgroup.version == 1 else "memory.events"
        try:
            for line in (cgroup.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value or 0) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def remove(self, cgroup: ContainerCgroup | None) -> None:
        if cgroup is not None:
            for folder in cgroup.paths:
                self._rmdir(folder)
        self._retry_lingering()

    def close(self) -> None:
        """Remove every container cgroup left and kubepods itself (best effort)."""
        self._retry_lingering()
        for parent in dict.fromkeys(self.parents.values()):
            with contextlib.suppress(OSError):
                for child in parent.iterdir():
                    if child.is_dir():
                        self._rmdir(child, retry=False)
            self._rmdir(parent, retry=False)
        self.parents.clear()

    def _rmdir(self, folder: Path, *, retry: bool = True) -> None:
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError:  # EBUSY: its processes are still exiting
            if retry:
                self._lingering.add(folder)
            else:
                log.info("cgroup %s still holds processes; left in place", folder)
        else:
            self._lingering.discard(folder)

    def _retry_lingering(self) -> None:
        for folder in list(self._lingering):
            self._lingering.discard(folder)
            self._rmdir(folder)
