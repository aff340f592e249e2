"""CPU time and memory of a process tree, from ``/proc`` (no per-pod cgroup needed).

:func:`process_tree_usage` walks ``/proc/<pid>/stat`` once: every process whose ancestry
reaches one of the roots counts with its user + system CPU time, the CPU time of its reaped
children (``cutime`` + ``cstime``) and its resident set size.
"""

from __future__ import annotations

import os

__all__ = ["process_tree_usage"]

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def process_tree_usage(roots: list[int]) -> tuple[float, int]:
    """(CPU seconds used, resident bytes) of ``roots`` and all their descendants."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                raw = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        pid = int(entry)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    ticks = rss = 0
    stack = list(roots)
    while stack:
        pid = stack.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        # stat fields after "(comm)": state ppid ... utime(14th) stime cutime cstime ... rss
        ticks += sum(int(x) for x in fields[11:15])
        rss += int(fields[21]) * _PAGE
        stack.extend(children.get(pid, ()))
    return ticks / _TICKS, rss
