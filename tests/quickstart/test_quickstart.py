"""`shiplane quickstart`: scaffold, lint, render — safe to run twice — and, end to end, the
stack, the pipeline to dev (v1), a pushed change and the rolling update to v2."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config import running_stack
from shiplane.kube import KubeClient
from shiplane.pipeline import Trigger, list_runs
from shiplane.quickstart import MARKER, RENDER_STEPS, STEPS, run_quickstart
from shiplane.scaffold import TargetNotEmptyError
from shiplane.stack import stack_down
from shiplane.testing import run_cli


def test_the_local_half_runs_twice_replacing_its_repos(tmp_path):
    workdir = tmp_path / "qs"
    for _ in range(2):
        seen = []
        report = run_quickstart(workdir, steps=RENDER_STEPS,
                                on_step=lambda record: seen.append(record))
    assert sorted(p.name for p in workdir.iterdir()) == [
        MARKER, "k8s-platform-config", "payment-service"]
    assert "replaced payment-service, k8s-platform-config" in seen[0].result.summary
    assert report.context.stack is None and not report.context.runs


@pytest.mark.slow
def test_quickstart_end_to_end_rolls_out_a_pushed_change(tmp_path):
    workdir = tmp_path / "qs"
    state = workdir / ".shiplane"
    try:
        result = run_cli(["quickstart", "--dir", str(workdir)])
        assert result.exit_code == 0, result.output
        for step in STEPS:
            assert step.title.split(" (")[0] in " ".join(result.stdout.split()), step.title
        assert "1.2.0" in result.stdout and "500m / 512Mi" in result.stdout
        stack = running_stack(state)
        assert stack is not None
        runs = list_runs(service="payment-service", state_dir=state)
        assert [(r.trigger, r.release_revision) for r in reversed(runs)] == [
            (Trigger.MANUAL, 1), (Trigger.PUSH, 2)]
        v2 = runs[0]
        with KubeClient.from_kubeconfig(Path(stack.kubeconfig)) as kube:
            live = kube.get("apps/v1", "Deployment", "payment-service", "dev")
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == v2.image_reference
        assert live["status"]["readyReplicas"] == live["spec"]["replicas"]
        head = (workdir / "payment-service" / "src" / "modules" / "http_api.py").read_text()
        assert '"version": "v2"' in head
        text = " ".join(result.stdout.split())
        assert "superseded" in text and "deployed" in text
        assert f"kubectl --kubeconfig {stack.kubeconfig}" in text
    finally:
        stack_down(state)


def test_quickstart_report_holds_each_step_and_the_renders(tmp_path):
    seen = []
    report = run_quickstart(tmp_path / "qs", steps=RENDER_STEPS,
                            on_step=lambda record: seen.append(record.step.name))
    assert seen == [step.name for step in RENDER_STEPS]
    assert set(report.context.renders) == {"dev", "staging", "prod"}
    prod = report.context.renders["prod"].find("Deployment")
    assert prod["spec"]["replicas"] == 4


def test_quickstart_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(TargetNotEmptyError, match="not made by `shiplane quickstart`"):
        run_quickstart(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    result = run_cli(["quickstart", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "quickstart step 'workdir' failed" in result.stderr
