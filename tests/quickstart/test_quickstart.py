"""`shiplane quickstart`: scaffold, lint, render — and safe to run twice."""

from __future__ import annotations

import pytest

from shiplane.quickstart import MARKER, STEPS, run_quickstart
from shiplane.scaffold import TargetNotEmptyError
from shiplane.testing import run_cli


def test_quickstart_runs_twice_and_prints_a_summary(tmp_path):
    workdir = tmp_path / "qs"
    for _ in range(2):
        result = run_cli(["quickstart", "--dir", str(workdir)])
        assert result.exit_code == 0, result.output
        for step in STEPS:
            assert step.title in result.stdout
        assert "1.2.0" in result.stdout and "500m / 512Mi" in result.stdout
    assert sorted(p.name for p in workdir.iterdir()) == [
        MARKER, "k8s-platform-config", "payment-service"]
    assert "replaced payment-service, k8s-platform-config" in result.stdout


def test_quickstart_report_holds_each_step_and_the_renders(tmp_path):
    seen = []
    report = run_quickstart(tmp_path / "qs", on_step=lambda record: seen.append(record.step.name))
    assert seen == [step.name for step in STEPS]
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
