"""A container's cgroup settings from its ``resources``, as the kubelet computes them.

The kubelet turns a container's CPU request and limit into CFS settings
(``kuberuntime_container_linux.go`` ``calculateLinuxResources``) with the helpers of
``pkg/kubelet/cm/helpers_linux.go``, and runc writes them to the container's cgroup:

* ``cpu.shares`` = ``MilliCPUToShares(request)``: ``milliCPU * 1024 / 1000`` (integer division),
  at least 2 and at most 262144 (the kernel's ``MIN_SHARES``/``MAX_SHARES``); no request → 2
  (BestEffort), and a limit without a request counts as the request (the API server defaults
  ``requests`` to ``limits``; the kubelet repeats it for objects stored before that).
* ``cpu.cfs_quota_us`` = ``MilliCPUToQuota(limit, period)``: ``milliCPU * period / 1000``,
  at least 1000 µs (the kernel's minimum), over ``cpu.cfs_period_us`` = 100000 µs (100 ms, the
  default without the ``CustomCPUCFSQuotaPeriod`` gate); no limit → upstream returns 0, which
  runc leaves unset, so the cgroup keeps the kernel's -1 (unlimited): :data:`NO_QUOTA` here.
* cgroup v2: ``cpu.weight`` = ``1 + ((shares - 2) * 9999) / 262142``
  (``pkg/kubelet/cm/cgroup_manager_linux.go`` ``CpuSharesToCpuWeight``, KEP 2254 "convert from
  cgroups v1 settings to v2") and ``cpu.max`` = ``"<quota> <period>"`` or ``"max <period>"``.
* memory: ``memory.limit_in_bytes`` (v1, plus ``memory.memsw.limit_in_bytes`` so swap adds
  nothing, as runc) / ``memory.max`` (v2) = the memory limit, unset without one.

:func:`cgroup_writes` is the list of (controller, file, value) writes for either cgroup version;
the node's adapter (:mod:`shiplane.cluster.nodes.container_cgroups`) performs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions.quantity import milli_value, value

__all__ = [
    "MAX_SHARES",
    "MIN_QUOTA_PERIOD",
    "MIN_SHARES",
    "NO_QUOTA",
    "QUOTA_PERIOD",
    "CgroupSettings",
    "CgroupWrite",
    "cgroup_writes",
    "container_cgroup_settings",
    "cpu_max",
    "milli_cpu_to_quota",
    "milli_cpu_to_shares",
    "shares_to_weight",
]

# pkg/kubelet/cm/helpers_linux.go (the kernel's limits, kernel/sched/sched.h and core.c)
MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
MILLI_CPU_TO_CPU = 1000
QUOTA_PERIOD = 100_000  # µs
MIN_QUOTA_PERIOD = 1_000  # µs
NO_QUOTA = -1  # the kernel's "no CFS bandwidth limit" (v1 cfs_quota_us; "max" in v2 cpu.max)


def milli_cpu_to_shares(milli_cpu: int) -> int:
    """``MilliCPUToShares``: CFS shares for ``milli_cpu`` (0 → 2, the kernel's minimum; the
    multiplication comes first "to improve rounding", then integer division truncates)."""
    if milli_cpu == 0:
        return MIN_SHARES
    shares = milli_cpu * SHARES_PER_CPU // MILLI_CPU_TO_CPU
    return max(MIN_SHARES, min(MAX_SHARES, shares))


def milli_cpu_to_quota(milli_cpu: int, period: int = QUOTA_PERIOD) -> int:
    """``MilliCPUToQuota``: CFS quota in µs per ``period`` µs; 0 for no limit (as upstream:
    the CRI's "unset"), at least :data:`MIN_QUOTA_PERIOD` otherwise."""
    if milli_cpu == 0:
        return 0
    return max(MIN_QUOTA_PERIOD, milli_cpu * period // MILLI_CPU_TO_CPU)


def shares_to_weight(shares: int) -> int:
    """cgroup v2 ``cpu.weight`` (1..10000) for v1 ``cpu.shares`` (2..262144): upstream's
    ``CpuSharesToCpuWeight`` (so 2 → 1, 1024 → 39, 262144 → 10000)."""
    return (shares - 2) * 9999 // 262142 + 1


def cpu_max(quota: int, period: int = QUOTA_PERIOD) -> str:
    """cgroup v2 ``cpu.max``: ``"<quota> <period>"``, ``"max <period>"`` without a quota."""
    return f"{'max' if quota <= 0 else quota} {period}"


@dataclass(frozen=True)
class CgroupSettings:
    """What a container's cgroup gets: shares always, a quota and a memory limit when set."""

    cpu_shares: int = MIN_SHARES
    cpu_quota_us: int = NO_QUOTA
    cpu_period_us: int = QUOTA_PERIOD
    memory_limit_bytes: int | None = None


def container_cgroup_settings(container: Mapping[str, Any]) -> CgroupSettings:
    """The kubelet's ``calculateLinuxResources`` for one container spec (``cpuCFSQuota`` on,
    the default)."""
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    cpu_request = milli_value(requests["cpu"]) if requests.get("cpu") is not None else 0
    cpu_limit = milli_value(limits["cpu"]) if limits.get("cpu") is not None else 0
    memory_limit = value(limits["memory"]) if limits.get("memory") is not None else 0
    shares = milli_cpu_to_shares(cpu_limit if cpu_request == 0 and cpu_limit else cpu_request)
    quota = milli_cpu_to_quota(cpu_limit, QUOTA_PERIOD)
    return CgroupSettings(cpu_shares=shares, cpu_quota_us=quota or NO_QUOTA,
                          cpu_period_us=QUOTA_PERIOD, memory_limit_bytes=memory_limit or None)


@dataclass(frozen=True)
class CgroupWrite:
    controller: str  # "cpu" | "memory": which v1 hierarchy (v2 has one folder for both)
    file: str
    value: str
    optional: bool = False  # a failure is ignored (memsw exists only with swap accounting)


def cgroup_writes(settings: CgroupSettings, version: int) -> list[CgroupWrite]:
    """The files runc would write for ``settings`` in cgroup ``version`` 1 or 2, in order
    (v1: the period before the quota, since the kernel checks the quota against it)."""
    writes: list[CgroupWrite] = []
    memory = settings.memory_limit_bytes
    if version == 1:
        writes += [CgroupWrite("cpu", "cpu.shares", str(settings.cpu_shares)),
                   CgroupWrite("cpu", "cpu.cfs_period_us", str(settings.cpu_period_us)),
                   CgroupWrite("cpu", "cpu.cfs_quota_us", str(settings.cpu_quota_us))]
        if memory:
            writes += [CgroupWrite("memory", "memory.limit_in_bytes", str(memory)),
                       CgroupWrite("memory", "memory.memsw.limit_in_bytes", str(memory),
                                   optional=True)]
    else:
        writes += [CgroupWrite("cpu", "cpu.weight", str(shares_to_weight(settings.cpu_shares))),
                   CgroupWrite("cpu", "cpu.max",
                               cpu_max(settings.cpu_quota_us, settings.cpu_period_us))]
        if memory:
            writes.append(CgroupWrite("memory", "memory.max", str(memory)))
    return writes
