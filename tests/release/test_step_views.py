"""The two step sinks: JSON lines for CI, Rich (live on a terminal, lines otherwise)."""

from __future__ import annotations

import io
import json

from rich.console import Console

from shiplane.release.progress import StepEvent
from shiplane.release.view import JsonLinesSink, LiveStepView

STEPS = [
    StepEvent("replicaset", "replicaset/svc-7d9f",
              "new ReplicaSet svc-7d9f (pod-template-hash 7d9f)"),
    StepEvent("pulled", "pod/svc-7d9f-x", "pulled reg/svc:v2 in 1.2s (50.0 MiB)",
              {"size_bytes": 52428800}),
    StepEvent("ready", "pod/svc-7d9f-x", "Ready"),
    StepEvent("failed", "pod/svc-7d9f-y", "ImagePullBackOff: 403 Forbidden",
              {"reason": "ImagePullBackOff"}),
]


def test_json_lines_one_object_per_step() -> None:
    out = io.StringIO()
    sink = JsonLinesSink(out)
    for step in STEPS:
        sink(step)
    sink.record({"step": "failed-deploy", "rolled_back_to": 1})
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["step"] for r in records] == ["replicaset", "pulled", "ready", "failed",
                                            "failed-deploy"]
    assert records[1]["size_bytes"] == 52428800 and records[3]["reason"] == "ImagePullBackOff"


def test_plain_console_prints_one_line_per_step() -> None:
    out = io.StringIO()
    with LiveStepView(Console(file=out, width=120, force_terminal=False)) as view:
        for step in STEPS:
            view(step)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert "replicaset" in lines[0] and "pod-template-hash 7d9f" in lines[0]
    assert lines[3].startswith("✗ failed") and "403 Forbidden" in lines[3]
    assert view.pods == {"svc-7d9f-x": "ready", "svc-7d9f-y": "failed"}


def test_terminal_renders_a_live_table_ending_with_every_step() -> None:
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=True)
    with LiveStepView(console, title="deploy svc") as view:
        for step in STEPS:
            view(step)
    text = out.getvalue()
    assert "deploy svc" in text and "new ReplicaSet svc-7d9f" in text
    assert "ImagePullBackOff: 403 Forbidden" in text and "svc-7d9f-x: ready" in text
