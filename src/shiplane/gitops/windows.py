"""AppProject sync windows (pure): may this Application sync now, automatically or by hand?

After argo-cd ``pkg/apis/application/v1alpha1/types.go`` (``SyncWindow.active``,
``SyncWindows.Matches``, ``CanSync``) with robfig/cron's standard 5-field schedules:

* a window is *active* when its schedule fired less than ``duration`` ago
  (``schedule.Next(now - duration)`` is before ``now``), evaluated in its ``timeZone``;
* a window applies to an app when the app's name matches one of ``applications``, or
  its destination namespace one of ``namespaces``, or its cluster (server or name) one
  of ``clusters`` (globs);
* an active ``deny`` blocks every sync — manual ones too, unless every active deny has
  ``manualSync: true``; else an active ``allow`` permits; else, when ``allow`` windows
  exist but none is active, syncs are blocked (manual ones pass when one of those allows
  has ``manualSync``); with no window at all, syncs are free.

Cron fields: minute hour day-of-month month day-of-week, each ``*``, ``a``, ``a-b``,
lists and ``/step``, month and weekday names; ``@hourly @daily @midnight @weekly
@monthly @yearly @annually``. When both day fields are restricted either may match
(cron's OR), otherwise both must.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shiplane.gitops.application import Application, SyncWindow
from shiplane.gitops.errors import ApplicationInvalid
from shiplane.gitops.retry import parse_duration

__all__ = ["CronSchedule", "active", "can_sync", "matching_windows", "parse_cron"]

_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_BOUNDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_LOOKAHEAD = dt.timedelta(days=366 * 5)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_star: bool  # day-of-month or day-of-week given as "*": both must match
    text: str

    def matches(self, at: dt.datetime) -> bool:
        weekday = (at.weekday() + 1) % 7  # cron: 0 = Sunday
        dom, dow = at.day in self.days, weekday in self.weekdays
        day_ok = (dom and dow) if self.day_star else (dom or dow)
        return (at.minute in self.minutes and at.hour in self.hours
                and at.month in self.months and day_ok)

    def next_after(self, at: dt.datetime) -> dt.datetime | None:
        """The first minute strictly after ``at`` that the schedule fires at."""
        candidate = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        limit = at + _LOOKAHEAD
        while candidate <= limit:
            if candidate.month not in self.months:
                year, month = (candidate.year + 1, 1) if candidate.month == 12 else \
                    (candidate.year, candidate.month + 1)
                candidate = candidate.replace(year=year, month=month, day=1, hour=0, minute=0)
                continue
            weekday = (candidate.weekday() + 1) % 7
            dom, dow = candidate.day in self.days, weekday in self.weekdays
            if not ((dom and dow) if self.day_star else (dom or dow)):
                candidate = (candidate + dt.timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if candidate.hour not in self.hours:
                candidate = (candidate + dt.timedelta(hours=1)).replace(minute=0)
                continue
            if candidate.minute not in self.minutes:
                candidate += dt.timedelta(minutes=1)
                continue
            return candidate
        return None


def _field(text: str, index: int, schedule: str) -> tuple[frozenset[int], bool]:
    low, high, names = _BOUNDS[index]
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise ApplicationInvalid(f"sync window schedule {schedule!r}: {_NAMES[index]} "
                                     f"{token!r} is not a number or name")
        value = int(token)
        if index == 4 and value == 7:
            value = 0  # Sunday is 0 or 7
        if not low <= value <= high:
            raise ApplicationInvalid(f"sync window schedule {schedule!r}: {_NAMES[index]} "
                                     f"{value} is outside {low}-{high}")
        return value

    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ApplicationInvalid(f"sync window schedule {schedule!r}: bad step "
                                         f"{step_text!r}")
            step = int(step_text)
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = number(first), number(last)
        else:
            start = number(body)
            end = high if step_text else start
        if start > end:
            raise ApplicationInvalid(f"sync window schedule {schedule!r}: range {body!r} "
                                     "runs backwards")
        values.update(range(start, end + 1, step))
    # robfig/cron sets its star bit for "*" / "?" only (a step > 1 clears it)
    return frozenset(values), text in ("*", "?", "*/1", "?/1")


def parse_cron(schedule: str) -> CronSchedule:
    text = _DESCRIPTORS.get(schedule.strip(), schedule.strip())
    fields = text.split()
    if len(fields) != 5:
        raise ApplicationInvalid(
            f"sync window schedule {schedule!r} needs 5 fields (minute hour day-of-month "
            "month day-of-week)", hint='e.g. "0 22 * * 1-5" (22:00 on weekdays)')
    parsed = [_field(f, i, schedule) for i, f in enumerate(fields)]
    return CronSchedule(parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], parsed[4][0],
                        parsed[2][1] or parsed[4][1], schedule)


def _zone(window: SyncWindow) -> dt.tzinfo:
    try:
        return ZoneInfo(window.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ApplicationInvalid(f"sync window timeZone {window.time_zone!r} is unknown") \
            from None


def active(window: SyncWindow, now: dt.datetime) -> bool:
    """Whether ``window`` is open at ``now`` (an aware datetime)."""
    local = now.astimezone(_zone(window)).replace(tzinfo=None)
    duration = dt.timedelta(seconds=parse_duration(window.duration))
    fired = parse_cron(window.schedule).next_after(local - duration)
    return fired is not None and fired < local


def matching_windows(windows: Iterable[SyncWindow], app: Application) -> list[SyncWindow]:
    cluster = app.destination.server or app.destination.name or ""
    return [w for w in windows
            if any(fnmatchcase(app.name, p) for p in w.applications)
            or any(fnmatchcase(app.destination.namespace, p) for p in w.namespaces)
            or any(fnmatchcase(cluster, p) for p in w.clusters)]


def can_sync(windows: Sequence[SyncWindow], app: Application, *, manual: bool,
             now: dt.datetime) -> tuple[bool, str]:
    """(allowed, why not) for a sync of ``app`` now."""
    relevant = matching_windows(windows, app)
    if not relevant:
        return True, ""
    open_ = [w for w in relevant if active(w, now)]
    denies = [w for w in open_ if w.kind == "deny"]
    if denies:
        if manual and all(w.manual_sync for w in denies):
            return True, ""
        return False, (f"blocked by sync window: deny {denies[0].schedule!r} for "
                       f"{denies[0].duration}")
    if any(w.kind == "allow" for w in open_):
        return True, ""
    allows = [w for w in relevant if w.kind == "allow"]
    if allows:
        if manual and any(w.manual_sync for w in allows):
            return True, ""
        return False, "blocked by sync window: no allow window is open (next: " \
            f"{allows[0].schedule!r})"
    return True, ""
