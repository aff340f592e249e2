"""Proportional scaling of a Deployment's ReplicaSets when its replicas change mid-rollout
(k8s pkg/controller/deployment/sync.go scale, util/deployment_util.go GetReplicaSetProportion,
getReplicaSetFraction, FindActiveOrLatest, IsSaturated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.cluster.decisions import deployment_util as du

__all__ = ["active", "find_active_or_latest", "is_saturated", "proportional_sizes"]

Obj = Mapping[str, Any]


def active(rss: Sequence[Obj | None]) -> list:
    """controller.FilterActiveReplicaSets: spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and du.replicas_of(rs) > 0]


def find_active_or_latest(new_rs: Obj | None, old: Sequence[Obj]) -> Obj | None:
    """The only active ReplicaSet, or the newest one when none is active; None if several are."""
    if new_rs is None and not old:
        return None
    newest_old = du.sort_by_creation(old, newest_first=True)
    running = active([*newest_old, new_rs])
    if len(running) == 1:
        return running[0]
    if not running:
        return new_rs if new_rs is not None else newest_old[0]
    return None


def is_saturated(deployment: Obj, new_rs: Obj | None) -> bool:
    desired = du.replicas_of(deployment)
    return (
        new_rs is not None
        and du.desired_replicas_annotation(new_rs) == desired
        and du.replicas_of(new_rs) == desired
        and du.status_int(new_rs, "availableReplicas") == desired
    )


def _round_half_away(value: float) -> int:
    # integer.RoundToInt32 = math.Round: halves away from zero
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def _proportion(deployment: Obj, rs: Obj, to_add: int, added: int) -> int:
    """GetReplicaSetProportion / getReplicaSetFraction."""
    if du.replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    desired = du.replicas_of(deployment)
    if desired == 0:
        fraction = -du.replicas_of(rs)
    else:
        annotated = du.max_replicas_annotation(rs) or du.status_int(deployment, "replicas")
        maximum = desired + du.max_surge(deployment)
        new_size = du.replicas_of(rs) * maximum / annotated if annotated else 0
        fraction = _round_half_away(new_size) - du.replicas_of(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_sizes(deployment: Obj, running: Sequence[Obj]) -> list[tuple[Obj, int]]:
    """New sizes for the active ReplicaSets of a RollingUpdate Deployment, in the order upstream
    updates them: replicas + maxSurge spread in proportion to each RS's share of the previous
    maximum (max-replicas annotation); leftovers to the largest; ties scale newer RSs up first
    and older RSs down first."""
    desired = du.replicas_of(deployment)
    current = sum(du.replicas_of(rs) for rs in running)
    allowed = desired + du.max_surge(deployment) if desired > 0 else 0
    to_add = allowed - current
    ordered = list(running)
    if to_add > 0:  # ReplicaSetsBySizeNewer
        ordered = sorted(
            du.sort_by_creation(ordered, newest_first=True), key=du.replicas_of, reverse=True
        )
    elif to_add < 0:  # ReplicaSetsBySizeOlder
        ordered = sorted(du.sort_by_creation(ordered), key=du.replicas_of, reverse=True)
    sizes = []
    added = 0
    for rs in ordered:
        proportion = _proportion(deployment, rs, to_add, added) if to_add else 0
        sizes.append(du.replicas_of(rs) + proportion)
        added += proportion
    if ordered and to_add:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return list(zip(ordered, sizes))
