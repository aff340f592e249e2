"""Errors raised by the decision cores when the objects they are given are malformed.

    ClusterError                      (shiplane.errors)
    └── DecisionInputError            an object field cannot be interpreted
        ├── InvalidQuantity           "12Qi" is not a resource.Quantity
        ├── InvalidIntOrPercent       "25" / "x%" is not an int-or-percent value
        ├── InvalidBehaviour          a sim.shiplane.dev/* setting (sim_behaviour.py)
        ├── InvalidTransition         a container input its phase rejects (container_states.py)
        ├── RolloutStatusError        kubectl rollout status fails (rollout_client.py)
        └── RollbackError             kubectl rollout undo refuses (rollout_client.py)

The decision functions never half-apply anything: they raise before returning a plan.
"""

from __future__ import annotations

from shiplane.errors import ClusterError

__all__ = ["DecisionInputError", "InvalidIntOrPercent", "InvalidQuantity"]


class DecisionInputError(ClusterError):
    """A Kubernetes object handed to a decision core has a field that cannot be interpreted."""


class InvalidQuantity(DecisionInputError):
    """A resource quantity string does not follow resource.Quantity's grammar."""


class InvalidIntOrPercent(DecisionInputError):
    """An IntOrString field (maxSurge, minAvailable, ...) is neither an int nor "N%"."""
