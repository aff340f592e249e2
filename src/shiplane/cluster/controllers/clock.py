"""The cluster clock every controller and simulated node reads (defined in
:mod:`shiplane.cluster.clock`, shared with the API server so both agree on cluster time)."""

from __future__ import annotations

from shiplane.cluster.clock import ClusterClock

__all__ = ["ClusterClock"]
