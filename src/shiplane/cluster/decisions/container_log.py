"""Container log files in the CRI format, and what ``kubectl logs`` options select from them.

A CRI log line (k8s pkg/kubelet/kuberuntime/logs/logs.go, containerd ``cio`` logger) is::

    2016-10-06T00:17:09.669794202Z stdout F the message

timestamp (RFC3339 with 9 fraction digits), stream, tag (``F`` full line, ``P`` a partial
chunk of a longer line whose rest follows), message without its newline. :func:`encode_output`
turns a chunk of process output into such lines (lines longer than ``MAX_LINE`` are split into
P records). :func:`render` applies the pods/log options the kubelet applies in ``ReadLogs``:
``tailLines`` (last N records), ``sinceSeconds``/``sinceTime`` (records not older),
``timestamps`` (prefix each line with the time in RFC3339Nano, trailing zeros trimmed as Go
prints it) and ``limitBytes`` (stop after that many bytes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = [
    "InvalidLogOptions",
    "LogOptions",
    "LogRecord",
    "LogUnavailable",
    "MAX_LINE",
    "encode_output",
    "format_record",
    "parse_options",
    "parse_record",
    "pick_instance",
    "render",
    "render_record",
    "since_cutoff",
]

MAX_LINE = 16 * 1024  # containerd's maxContainerLogLineSize for the CRI logger
_LINE = re.compile(rb"^(\S+) (stdout|stderr) ([FP]) ?(.*)$", re.S)


class InvalidLogOptions(DecisionInputError):
    """A pods/log query parameter with a bad value (400 Bad Request)."""


@dataclass(frozen=True)
class LogRecord:
    time: datetime
    stream: str
    partial: bool
    message: bytes


def _cri_time(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


def _nano_time(moment: datetime) -> str:
    """Go's RFC3339Nano: fraction trailing zeros trimmed, none when whole."""
    moment = moment.astimezone(timezone.utc)
    frac = f"{moment.microsecond * 1000:09d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def format_record(record: LogRecord) -> bytes:
    tag = b"P" if record.partial else b"F"
    return b"%s %s %s %s\n" % (_cri_time(record.time).encode(), record.stream.encode(), tag,
                               record.message)


def encode_output(pending: bytes, chunk: bytes, stream: str, now: datetime,
                  *, final: bool = False) -> tuple[bytes, bytes]:
    """Turn process output into CRI records: returns (bytes to append to the log file, the
    incomplete tail to keep for the next chunk). ``final`` flushes the tail as a full line."""
    data = pending + chunk
    out: list[bytes] = []
    while True:
        cut = data.find(b"\n")
        if cut == -1:
            break
        line, data = data[:cut], data[cut + 1 :]
        while len(line) > MAX_LINE:
            out.append(format_record(LogRecord(now, stream, True, line[:MAX_LINE])))
            line = line[MAX_LINE:]
        out.append(format_record(LogRecord(now, stream, False, line)))
    while len(data) > MAX_LINE:
        out.append(format_record(LogRecord(now, stream, True, data[:MAX_LINE])))
        data = data[MAX_LINE:]
    if final and data:
        out.append(format_record(LogRecord(now, stream, False, data)))
        data = b""
    return b"".join(out), data


def parse_record(line: bytes) -> LogRecord | None:
    """One CRI line (with or without its newline); None when it is not one."""
    match = _LINE.match(line.rstrip(b"\n"))
    if match is None:
        return None
    stamp, stream, tag, message = match.groups()
    try:
        text = stamp.decode()
        whole, _, frac = text.rstrip("Z").partition(".")
        moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
        moment = moment.replace(microsecond=int((frac + "000000")[:6]) if frac else 0)
    except ValueError:
        return None
    return LogRecord(moment, stream.decode(), tag == b"P", message)


@dataclass(frozen=True)
class LogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since_seconds: int | None = None
    since_time: datetime | None = None

    def query(self) -> dict[str, str]:
        """The query string the API server forwards to the kubelet."""
        out: dict[str, str] = {}
        for key, value in (("follow", self.follow), ("previous", self.previous),
                           ("timestamps", self.timestamps)):
            if value:
                out[key] = "true"
        for key, number in (("tailLines", self.tail_lines), ("limitBytes", self.limit_bytes),
                            ("sinceSeconds", self.since_seconds)):
            if number is not None:
                out[key] = str(number)
        if self.since_time is not None:
            out["sinceTime"] = _nano_time(self.since_time)
        return out


def _flag(params: dict[str, str], key: str) -> bool:
    raw = params.get(key)
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidLogOptions(f'{key}: invalid value "{raw}": must be true or false')


def _count(params: dict[str, str], key: str, minimum: int) -> int | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidLogOptions(f'{key}: invalid value "{raw}": must be an integer') from None
    if value < minimum:
        # validation.ValidatePodLogOptions
        what = "must be greater than or equal to 0" if minimum == 0 else "must be greater than 0"
        raise InvalidLogOptions(f"{key}: Invalid value: {value}: {what}")
    return value


def parse_options(params: dict[str, str]) -> LogOptions:
    """PodLogOptions from query parameters, validated as upstream ValidatePodLogOptions."""
    since_time = None
    if params.get("sinceTime"):
        raw = params["sinceTime"]
        try:
            since_time = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidLogOptions(f'sinceTime: invalid value "{raw}": not RFC3339') from None
    since_seconds = _count(params, "sinceSeconds", 1)
    if since_time is not None and since_seconds is not None:
        raise InvalidLogOptions("at most one of `sinceTime` or `sinceSeconds` may be specified")
    return LogOptions(
        container=params.get("container", ""),
        follow=_flag(params, "follow"),
        previous=_flag(params, "previous"),
        timestamps=_flag(params, "timestamps"),
        tail_lines=_count(params, "tailLines", 0),
        limit_bytes=_count(params, "limitBytes", 1),
        since_seconds=since_seconds,
        since_time=since_time,
    )


def since_cutoff(options: LogOptions, now: datetime) -> datetime | None:
    if options.since_time is not None:
        return options.since_time
    if options.since_seconds is not None:
        return datetime.fromtimestamp(now.timestamp() - options.since_seconds, timezone.utc)
    return None


def render_record(record: LogRecord, timestamps: bool) -> bytes:
    text = record.message if record.partial else record.message + b"\n"
    if timestamps:
        return _nano_time(record.time).encode() + b" " + text
    return text


def render(lines: Iterable[bytes], options: LogOptions, now: datetime) -> bytes:
    """The bytes ``kubectl logs`` prints for a whole log file's lines (no following)."""
    records = [r for r in (parse_record(line) for line in lines) if r is not None]
    if options.tail_lines is not None:
        records = records[len(records) - options.tail_lines :] if options.tail_lines else []
    cutoff = since_cutoff(options, now)
    if cutoff is not None:
        records = [r for r in records if r.time >= cutoff]
    out = b"".join(render_record(r, options.timestamps) for r in records)
    if options.limit_bytes is not None:
        out = out[: options.limit_bytes]
    return out


class LogUnavailable(DecisionInputError):
    """The kubelet has no log for the asked container instance (400 from pods/log)."""


def pick_instance(status: Mapping[str, Any] | None, container: str, pod: str,
                  previous: bool) -> str:
    """The container ID whose log to serve (kubelet_pods.go validateContainerLogStatus)."""
    if status is None:
        raise LogUnavailable(f'container "{container}" in pod "{pod}" is not available')
    last = (status.get("lastState") or {}).get("terminated")
    state = status.get("state") or {}
    if previous:
        if not last or not last.get("containerID"):
            raise LogUnavailable(
                f'previous terminated container "{container}" in pod "{pod}" not found')
        return last["containerID"]
    if "running" in state:
        return status.get("containerID", "")
    if "terminated" in state:
        cid = state["terminated"].get("containerID")
        if cid:
            return cid
        if last and last.get("containerID"):
            return last["containerID"]
        raise LogUnavailable(f'container "{container}" in pod "{pod}" is terminated')
    if last:
        if not last.get("containerID"):
            raise LogUnavailable(f'container "{container}" in pod "{pod}" is terminated')
        return last["containerID"]
    if "waiting" in state:
        reason = state["waiting"].get("reason", "")
        detail = {"ErrImagePull": "image can't be pulled",
                  "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
        raise LogUnavailable(f'container "{container}" in pod "{pod}" is waiting to start: '
                             f"{detail}")
    raise LogUnavailable(f'container "{container}" in pod "{pod}" is waiting to start - no logs yet')
