"""Retry back-off of a failed sync (pure).

``syncPolicy.retry``: attempt ``n`` (0-based) waits ``duration * factor**n``,
capped at ``maxDuration`` (argo-cd ``controller/appcontroller.go`` and
``types.go`` ``RetryStrategy.NextRetryAt``); ``limit`` retries, a negative limit
retries forever. Durations use Go's syntax (``5s``, ``3m``, ``1h30m``, ``250ms``).
"""

from __future__ import annotations

import datetime as dt
import re

from shiplane.gitops.application import Retry
from shiplane.gitops.errors import ApplicationInvalid

__all__ = ["auto_sync_decision", "backoff_schedule", "next_delay", "parse_duration", "should_retry"]

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


def _seconds(timestamp: str) -> float:
    return dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC).timestamp()


def auto_sync_decision(*, out_of_sync: bool, automated: bool, self_heal: bool,
                       revisions: tuple[str, ...], last_revisions: tuple[str, ...],
                       last_phase: str | None, last_finished: str | None, retry_count: int,
                       retry: Retry | None, now: str) -> tuple[bool, int, str]:
    """Whether the controller syncs now, with which retryCount, and why (pure).

    Argo CD (``appcontroller.go`` autoSync): a revision is auto-synced once; after a
    failed attempt at the same revision it is retried only per ``syncPolicy.retry``,
    each attempt ``next_delay`` after the previous one finished; selfHeal re-syncs a
    revision that did sync successfully when the cluster drifts.
    """
    if not automated:
        return False, 0, "automated sync is off"
    if not out_of_sync:
        return False, 0, "Synced"
    if revisions != last_revisions or last_phase is None:
        return True, 0, "new revision"
    if last_phase in ("Failed", "Error"):
        if not should_retry(retry, retry_count):
            return False, retry_count, f"failed previous sync attempt to {revisions}; no retries left"
        assert retry is not None
        due = _seconds(last_finished or now) + next_delay(retry, retry_count)
        if _seconds(now) < due:
            return False, retry_count, "waiting for retry back-off"
        return True, retry_count + 1, f"retry {retry_count + 1}"
    if self_heal:
        return True, 0, "self-heal"
    return False, 0, "already synced this revision (selfHeal off)"
