"""The kubelet's CPU conversions (pkg/kubelet/cm/helpers_linux.go, cgroup_manager_linux.go) and
a container's cgroup settings and writes, without I/O."""

from __future__ import annotations

import pytest

from shiplane.cluster.decisions.cgroup_resources import (
    MAX_SHARES,
    MIN_SHARES,
    NO_QUOTA,
    CgroupSettings,
    CgroupWrite,
    cgroup_writes,
    container_cgroup_settings,
    cpu_max,
    milli_cpu_to_quota,
    milli_cpu_to_shares,
    shares_to_weight,
)


@pytest.mark.parametrize(("milli", "shares"), [
    (0, 2),  # no request: the kernel's minimum, not Docker's "unset" 1024
    (1, 2), (2, 2),  # 1.024, 2.048 truncated, then the minimum
    (3, 3),  # 3.072 truncated
    (10, 10), (100, 102), (250, 256), (500, 512), (1000, 1024), (1500, 1536),
    (255999, 262142), (256000, 262144),  # exactly MaxShares
    (256001, 262144), (10**7, 262144),  # clamped (the kernel rejects more)
])
def test_milli_cpu_to_shares(milli: int, shares: int) -> None:
    assert milli_cpu_to_shares(milli) == shares


def test_shares_exhaustively_within_bounds_monotonic_and_truncated() -> None:
    previous = MIN_SHARES
    for milli in range(0, 300_001):
        shares = milli_cpu_to_shares(milli)
        assert shares == min(MAX_SHARES, max(MIN_SHARES, (milli * 1024) // 1000))
        assert previous <= shares  # never decreases
        previous = shares


@pytest.mark.parametrize(("milli", "period", "quota"), [
    (0, 100_000, 0),  # no limit: upstream's 0, which runc leaves unset
    (1, 100_000, 1000), (5, 100_000, 1000), (9, 100_000, 1000),  # the 1 ms minimum
    (10, 100_000, 1000), (11, 100_000, 1100),
    (100, 100_000, 10_000), (200, 100_000, 20_000), (500, 100_000, 50_000),
    (1000, 100_000, 100_000), (1500, 100_000, 150_000), (64_000, 100_000, 6_400_000),
    (100, 50_000, 5000), (333, 50_000, 16_650), (15, 50_000, 1000),  # 750 → minimum
    (1, 1_000_000, 1000), (7, 1_000_000, 7000), (333, 10_007, 3332),  # 3332.331 truncated
])
def test_milli_cpu_to_quota(milli: int, period: int, quota: int) -> None:
    assert milli_cpu_to_quota(milli, period) == quota


def test_quota_exhaustively_at_least_one_ms_and_proportional() -> None:
    for milli in range(1, 100_001):
        quota = milli_cpu_to_quota(milli)
        assert quota == max(1000, milli * 100)
    assert milli_cpu_to_quota(0) == 0


@pytest.mark.parametrize(("shares", "weight"), [
    (2, 1), (3, 1), (28, 1), (29, 2),  # (27 * 9999) // 262142 = 1: the first step
    (102, 4), (256, 10), (1024, 39), (2048, 79), (262143, 9999), (262144, 10000),
])
def test_shares_to_weight(shares: int, weight: int) -> None:
    assert shares_to_weight(shares) == weight


def test_weight_exhaustively_in_range_and_monotonic() -> None:
    previous = 1
    for shares in range(MIN_SHARES, MAX_SHARES + 1):
        weight = shares_to_weight(shares)
        assert 1 <= weight <= 10_000 and previous <= weight
        previous = weight


def test_cpu_max() -> None:
    assert cpu_max(10_000) == "10000 100000"
    assert cpu_max(NO_QUOTA) == "max 100000"
    assert cpu_max(0, 50_000) == "max 50000"


@pytest.mark.parametrize(("resources", "settings"), [
    (None, CgroupSettings(2, NO_QUOTA, 100_000, None)),  # BestEffort
    ({"requests": {"cpu": "100m", "memory": "128Mi"}}, CgroupSettings(102, NO_QUOTA)),
    ({"requests": {"cpu": "250m"}, "limits": {"cpu": "1", "memory": "1Gi"}},
     CgroupSettings(256, 100_000, 100_000, 1 << 30)),
    # a limit without a request: the request defaults to it (shares from the limit)
    ({"limits": {"cpu": "500m"}}, CgroupSettings(512, 50_000)),
    ({"limits": {"cpu": "100m", "memory": "16Mi"}}, CgroupSettings(102, 10_000, 100_000, 16 << 20)),
    ({"requests": {"cpu": "0"}, "limits": {"cpu": "2"}}, CgroupSettings(2048, 200_000)),
    ({"requests": {"cpu": 0.5}}, CgroupSettings(512)),  # numbers are quantities too
    ({"limits": {"cpu": "1m"}}, CgroupSettings(2, 1000)),  # both minimums
    ({"limits": {"cpu": "0.0001"}}, CgroupSettings(2, 1000)),  # MilliValue rounds up to 1m
    ({"requests": {"cpu": "300"}}, CgroupSettings(MAX_SHARES)),
    ({"limits": {"memory": "100M"}}, CgroupSettings(memory_limit_bytes=100_000_000)),
])
def test_container_cgroup_settings(resources: dict | None, settings: CgroupSettings) -> None:
    container = {"name": "app"} if resources is None else {"name": "app", "resources": resources}
    assert container_cgroup_settings(container) == settings


def test_cgroup_writes_v1_and_v2() -> None:
    limited = CgroupSettings(102, 10_000, 100_000, 16 << 20)
    assert cgroup_writes(limited, 1) == [
        CgroupWrite("cpu", "cpu.shares", "102"),
        CgroupWrite("cpu", "cpu.cfs_period_us", "100000"),
        CgroupWrite("cpu", "cpu.cfs_quota_us", "10000"),
        CgroupWrite("memory", "memory.limit_in_bytes", "16777216"),
        CgroupWrite("memory", "memory.memsw.limit_in_bytes", "16777216", optional=True),
    ]
    assert cgroup_writes(limited, 2) == [
        CgroupWrite("cpu", "cpu.weight", "4"),
        CgroupWrite("cpu", "cpu.max", "10000 100000"),
        CgroupWrite("memory", "memory.max", "16777216"),
    ]
    best_effort = CgroupSettings()
    assert cgroup_writes(best_effort, 1) == [
        CgroupWrite("cpu", "cpu.shares", "2"),
        CgroupWrite("cpu", "cpu.cfs_period_us", "100000"),
        CgroupWrite("cpu", "cpu.cfs_quota_us", "-1"),
    ]
    assert cgroup_writes(best_effort, 2) == [
        CgroupWrite("cpu", "cpu.weight", "1"), CgroupWrite("cpu", "cpu.max", "max 100000")]
