"""RFC 3339 timestamps as the API server writes them (``metav1.Time``: seconds, UTC, "Z")."""

from __future__ import annotations

from datetime import datetime, timezone

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = ["format_time", "parse_time"]


def parse_time(text: str | None) -> datetime | None:
    """``"2026-11-25T10:00:00Z"`` → aware datetime; None/"" → None (Go's zero time)."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DecisionInputError(f"timestamp {text!r} is not RFC 3339") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_time(moment: datetime) -> str:
    """metav1.Time marshals with second precision in UTC."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` for a duration >= 0 (1.2s, 500ms, 5m0s, 1h2m3s)."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return _trim(nanos / size) + unit
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    secs = _trim(rest / 1e9) + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs


def _trim(number: float) -> str:
    text = f"{number:.9f}".rstrip("0").rstrip(".")
    return text or "0"
