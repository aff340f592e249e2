"""Errors of the governance policies::

    ShiplaneError
    └── PolicyError             policy/
        ├── PolicyFileInvalid   the policy YAML is malformed (unknown rule, bad severity...)
        └── PolicyViolated      an error-severity rule failed (carries the violations)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shiplane.errors import ShiplaneError

__all__ = ["PolicyError", "PolicyFileInvalid", "PolicyViolated"]


class PolicyError(ShiplaneError):
    """A governance policy could not be read or was violated."""


class PolicyFileInvalid(PolicyError):
    """The policy file is not valid."""


class PolicyViolated(PolicyError):
    def __init__(self, message: str, *, violations: Sequence[Any] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.violations = list(violations)
