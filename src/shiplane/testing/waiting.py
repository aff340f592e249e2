"""Polling with a deadline for tests: the condition's last value is in the failure."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_for"]


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "condition",
             interval: float = 0.2) -> object:
    """Poll ``check`` until it returns something true (returned); AssertionError naming
    ``what`` and the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
