"""CRI log lines, pods/log options and which container instance a log request means."""

from datetime import datetime, timedelta, timezone

import pytest

from shiplane.cluster.decisions.container_log import (
    MAX_LINE,
    InvalidLogOptions,
    LogOptions,
    LogRecord,
    LogUnavailable,
    encode_output,
    format_record,
    parse_options,
    parse_record,
    pick_instance,
    render,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc)


def test_cri_line_format_round_trips():
    line = format_record(LogRecord(T0, "stderr", False, b"oops: a b"))
    assert line == b"2026-01-02T03:04:05.120000000Z stderr F oops: a b\n"
    assert parse_record(line) == LogRecord(T0, "stderr", False, b"oops: a b")
    assert parse_record(b"2026-01-02T03:04:05.120000000Z stdout F \n").message == b""
    assert parse_record(b"not a cri line") is None


def test_output_is_split_into_lines_and_partials_kept_for_later():
    out, rest = encode_output(b"", b"one\ntwo\nthr", "stdout", T0)
    assert out.count(b"\n") == 2 and out.endswith(b"stdout F two\n") and rest == b"thr"
    out, rest = encode_output(rest, b"ee\n", "stdout", T0)
    assert out.endswith(b" stdout F three\n") and rest == b""
    out, rest = encode_output(b"", b"no newline at exit", "stdout", T0, final=True)
    assert out.endswith(b" F no newline at exit\n") and rest == b""


def test_long_lines_become_partial_records():
    out, rest = encode_output(b"", b"x" * (MAX_LINE + 5) + b"\n", "stdout", T0)
    records = [parse_record(line) for line in out.splitlines()]
    assert [r.partial for r in records] == [True, False]
    assert len(records[0].message) == MAX_LINE and records[1].message == b"xxxxx"
    assert render(out.splitlines(), LogOptions(), T0) == b"x" * (MAX_LINE + 5) + b"\n"


def lines(n):
    return [format_record(LogRecord(T0 + timedelta(seconds=i), "stdout", False, b"line %d" % i))
            for i in range(n)]


def test_render_applies_tail_since_timestamps_and_limit():
    now = T0 + timedelta(seconds=10)
    assert render(lines(5), LogOptions(), now) == b"".join(b"line %d\n" % i for i in range(5))
    assert render(lines(5), LogOptions(tail_lines=2), now) == b"line 3\nline 4\n"
    assert render(lines(5), LogOptions(tail_lines=0), now) == b""
    assert render(lines(5), LogOptions(since_seconds=7), now) == b"line 3\nline 4\n"
    assert render(lines(2), LogOptions(timestamps=True), now) == (
        b"2026-01-02T03:04:05.12Z line 0\n2026-01-02T03:04:06.12Z line 1\n")
    assert render(lines(5), LogOptions(limit_bytes=9), now) == b"line 0\nli"


def test_options_from_query_are_validated_like_upstream():
    opts = parse_options({"container": "web", "follow": "true", "tailLines": "3",
                          "timestamps": "1", "sinceSeconds": "5"})
    assert opts == LogOptions("web", True, False, True, 3, None, 5, None)
    assert opts.query() == {"follow": "true", "timestamps": "true", "tailLines": "3",
                            "sinceSeconds": "5"}
    with pytest.raises(InvalidLogOptions, match="tailLines: Invalid value: -1"):
        parse_options({"tailLines": "-1"})
    with pytest.raises(InvalidLogOptions, match="limitBytes: Invalid value: 0"):
        parse_options({"limitBytes": "0"})
    with pytest.raises(InvalidLogOptions, match="at most one of"):
        parse_options({"sinceSeconds": "1", "sinceTime": "2026-01-01T00:00:00Z"})
    with pytest.raises(InvalidLogOptions, match="follow"):
        parse_options({"follow": "maybe"})


RUNNING = {"state": {"running": {}}, "containerID": "c2",
           "lastState": {"terminated": {"containerID": "c1", "exitCode": 1}}}


def test_pick_instance_current_and_previous():
    assert pick_instance(RUNNING, "web", "p", previous=False) == "c2"
    assert pick_instance(RUNNING, "web", "p", previous=True) == "c1"
    crash_loop = {"state": {"waiting": {"reason": "CrashLoopBackOff"}},
                  "lastState": {"terminated": {"containerID": "c3"}}}
    assert pick_instance(crash_loop, "web", "p", previous=False) == "c3"
    assert pick_instance(crash_loop, "web", "p", previous=True) == "c3"
    done = {"state": {"terminated": {"containerID": "c4"}}, "lastState": {}}
    assert pick_instance(done, "web", "p", previous=False) == "c4"


@pytest.mark.parametrize("status, previous, message", [
    ({"state": {"running": {}}, "containerID": "c1", "lastState": {}}, True,
     'previous terminated container "web" in pod "p" not found'),
    ({"state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}, False,
     'container "web" in pod "p" is waiting to start: ContainerCreating'),
    ({"state": {"waiting": {"reason": "ImagePullBackOff"}}, "lastState": {}}, False,
     'container "web" in pod "p" is waiting to start: trying and failing to pull image'),
    (None, False, 'container "web" in pod "p" is not available'),
])
def test_pick_instance_errors(status, previous, message):
    with pytest.raises(LogUnavailable) as raised:
        pick_instance(status, "web", "p", previous=previous)
    assert str(raised.value) == message
