"""Retry back-off of a failed sync (pure).

``syncPolicy.retry``: attempt ``n`` (0-based) waits ``duration * factor**n``,
capped at ``maxDuration`` (argo-cd ``controller/appcontroller.go`` and
``types.go`` ``RetryStrategy.NextRetryAt``); ``limit`` retries, a negative limit
retries forever. Durations use Go's syntax (``5s``, ``3m``, ``1h30m``, ``250ms``).
"""

from __future__ import annotations

import re

from shiplane.gitops.application import Retry
from shiplane.gitops.errors import ApplicationInvalid

__all__ = ["backoff_schedule", "next_delay", "parse_duration", "should_retry"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string (``time.ParseDuration``)."""
    value = str(text).strip()
    if value in ("0", ""):
        if value == "":
            raise ApplicationInvalid("empty duration", hint="e.g. 5s, 3m, 1h30m")
        return 0.0
    pos, total = 0, 0.0
    while pos < len(value):
        match = _PART.match(value, pos)
        if not match:
            raise ApplicationInvalid(f"invalid duration {text!r}", hint="e.g. 5s, 3m, 1h30m")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total


def next_delay(retry: Retry, attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = first retry)."""
    base, cap = parse_duration(retry.duration), parse_duration(retry.max_duration)
    return min(base * (retry.factor ** attempt), cap)


def should_retry(retry: Retry | None, attempts_done: int) -> bool:
    if retry is None:
        return False
    return retry.limit < 0 or attempts_done < retry.limit


def backoff_schedule(retry: Retry, *, at_most: int = 20) -> list[float]:
    """The delays of every retry (for an unlimited retry, the first ``at_most``)."""
    count = at_most if retry.limit < 0 else min(retry.limit, at_most)
    return [next_delay(retry, n) for n in range(count)]
