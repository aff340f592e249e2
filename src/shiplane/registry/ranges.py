"""Pure parsing of the few HTTP headers the server interprets, and tag pagination.

* ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` on blob GET (RFC 9110 §14.1.2,
  single range only, as registries serve it);
* ``Content-Range: a-b`` on upload PATCH (distribution-spec: ``^[0-9]+-[0-9]+$``,
  inclusive; ``bytes a-b`` and ``bytes=a-b`` are accepted too, as clients send them);
* ``n``/``last`` pagination of a sorted list (end-8b).
"""

from __future__ import annotations

import re

__all__ = ["paginate", "parse_byte_range", "parse_content_range"]

_BYTE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_CONTENT_RANGE = re.compile(r"(?:bytes[= ])?([0-9]+)-([0-9]+)")


def parse_byte_range(header: str, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) of a ``Range`` header for a blob of ``size``; None if unsatisfiable."""
    match = _BYTE_RANGE.fullmatch(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if match.group(1):
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(size - int(match.group(2)), 0), size - 1
    if start > end or start >= size:
        return None
    return start, end


def parse_content_range(header: str) -> tuple[int, int] | None:
    """Inclusive (start, end) of an upload chunk's ``Content-Range``; None if malformed."""
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if end >= start else None


def paginate(items: list[str], *, n: int | None, last: str | None) -> tuple[list[str], str | None]:
    """The page after ``last`` of at most ``n`` items, and the ``last`` for the next page."""
    if last:
        items = [item for item in items if item > last]
    if n is None:
        return items, None
    page = items[:n]
    return page, (page[-1] if n and len(items) > n else None)
