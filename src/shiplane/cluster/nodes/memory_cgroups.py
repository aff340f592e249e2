"""Memory cgroups for process containers: ``resources.limits.memory`` enforced, OOMKilled told.

When this process' memory cgroup (cgroup v1 ``/sys/fs/cgroup/memory/<ours>`` or the v2
unified hierarchy) lets us create children, every container gets its own child cgroup
(``shiplane-<pod uid>-<container>-<restart>``) with ``memory.limit_in_bytes`` (v1) /
``memory.max`` (v2) set to the container's memory limit, if any. The container's process joins
it before it execs (a ``sh`` prefix writes its pid to ``cgroup.procs``), so every process the
app starts is in it. After the container exits, the cgroup's OOM-kill counter
(``memory.oom_control`` ``oom_kill`` in v1, ``memory.events`` ``oom_kill`` in v2) says whether
the kernel's OOM killer ended it: the kubelet's ``OOMKilled`` reason. Without a writable
hierarchy nothing is limited and ``OOMKilled`` is never reported (documented limitation).
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

__all__ = ["MemoryCgroups"]

log = logging.getLogger(__name__)


def _own_memory_cgroup() -> tuple[Path, int] | None:
    """(our memory cgroup's folder, cgroup version) when we may create children in it."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            return (base, 1) if base.is_dir() else None
    for line in lines:
        if line.startswith("0::"):
            base = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
            if (base / "cgroup.controllers").exists() and "memory" in (
                    base / "cgroup.subtree_control").read_text().split():
                return base, 2
    return None


class MemoryCgroups:
    def __init__(self) -> None:
        found = _own_memory_cgroup()
        self.base: Path | None = None
        self.version = 0
        if found is not None:
            base, version = found
            probe = base / f"shiplane-probe-{uuid.uuid4().hex[:8]}"
            try:
                probe.mkdir()
                probe.rmdir()
                self.base, self.version = base, version
            except OSError:
                log.info("memory cgroups not writable at %s: no limits, no OOMKilled", base)

    @property
    def available(self) -> bool:
        return self.base is not None

    def create(self, name: str, limit_bytes: int | None) -> Path | None:
        if self.base is None:
            return None
        path = self.base / name
        try:
            path.mkdir(exist_ok=True)
            if limit_bytes:
                target = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
                (path / target).write_text(str(limit_bytes))
                if self.version == 1:  # no swap beyond the limit, as the kubelet's runc does
                    with contextlib.suppress(OSError):
                        (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
        except OSError as exc:
            log.warning("cgroup %s: %s", path, exc)
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return path

    def oom_killed(self, path: Path | None) -> bool:
        if path is None:
            return False
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value or 0) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def remove(self, path: Path | None) -> None:
        if path is None:
            return
        with contextlib.suppress(OSError):
            os.rmdir(path)
