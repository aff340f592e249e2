"""DELETE options: propagation policy, grace period and preconditions.

Parsed from the DeleteOptions body or the query string (k8s.io/apimachinery
metav1.DeleteOptions); the policy is recorded for the garbage collector as the
``foregroundDeletion`` / ``orphan`` finalizer by :func:`~shiplane.cluster.store.plan_deletion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.cluster.store.errors import BadRequest, FieldError, Invalid

__all__ = ["DeleteOptions"]


@dataclass(frozen=True)
class DeleteOptions:
    propagation_policy: str | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None

    @classmethod
    def parse(cls, body: Any, query: dict[str, str]) -> DeleteOptions:
        body = body if isinstance(body, dict) else {}
        pre = body.get("preconditions") or {}
        grace = body.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
        policy = body.get("propagationPolicy") or query.get("propagationPolicy")
        if body.get("orphanDependents") is True or query.get("orphanDependents") == "true":
            policy = policy or "Orphan"
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise Invalid("", "DeleteOptions", "", [_unsupported_policy(policy)])
        try:
            grace_int = None if grace in (None, "") else int(grace)
        except ValueError:
            raise BadRequest(f"invalid gracePeriodSeconds {grace!r}") from None
        return cls(policy, grace_int, pre.get("uid"), pre.get("resourceVersion"))


def _unsupported_policy(policy: str) -> FieldError:
    return FieldError(
        "Unsupported",
        "propagationPolicy",
        policy,
        supported=("Foreground", "Background", "Orphan", "nil"),
    )
