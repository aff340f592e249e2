"""RFC 3339 timestamps as the API server writes them (``metav1.Time``: second precision, UTC, "Z")."""

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
