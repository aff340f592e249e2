"""IntOrString values scaled against a total (k8s apimachinery util/intstr
``GetScaledValueFromIntOrPercent``): ``3`` stays 3, ``"25%"`` of 10 is 2.5, rounded up or down
as the caller asks (maxSurge and PDB minAvailable round up, maxUnavailable rounds down).
"""

from __future__ import annotations

import math

from shiplane.cluster.decisions.errors import InvalidIntOrPercent

__all__ = ["scaled_value"]


def scaled_value(
    raw: int | str | None, total: int, *, round_up: bool, default: int | str = 0
) -> int:
    """``raw`` (an int or ``"N%"``; a digit string is refused like upstream) scaled to
    ``total``."""
    if raw is None:
        raw = default
    if isinstance(raw, bool):
        raise InvalidIntOrPercent(f"invalid value for IntOrString: {raw!r}")
    if isinstance(raw, int):
        return raw
    if not isinstance(raw, str) or not raw.endswith("%"):
        # intstr.go: "invalid type: string is not a percentage"
        raise InvalidIntOrPercent(
            f"invalid value for IntOrString: invalid type: string is not a percentage ({raw!r})",
            hint='write an integer (3) or a percentage ("25%")',
        )
    try:
        percent = int(raw[:-1])
    except ValueError:
        raise InvalidIntOrPercent(f'invalid value "{raw}": not an integer percentage') from None
    scaled = percent * total / 100
    # upstream computes math.Ceil/Floor over float64(v)*float64(total)/100 as well
    return math.ceil(scaled) if round_up else math.floor(scaled)
